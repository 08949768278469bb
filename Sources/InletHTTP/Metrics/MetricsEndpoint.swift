import Hummingbird
import InletCore
import Logging
import Prometheus

/// `GET /metrics`: every metric in Prometheus's text format. The queue gauges are refreshed from
/// the database at each scrape, so they are true even between maintenance rounds.
package struct MetricsEndpoint: Sendable {
    let registry: PrometheusCollectorRegistry
    let queue: JobQueue
    let quarantine: QuarantineStore
    let logger: Logger
    let quarantineGauge = QuarantineGauge()

    func handle(_ request: Request, context: some RequestContext) async throws -> Response {
        do {
            InletMetrics.queueDepth(try queue.depth())
            quarantineGauge.refresh(try quarantine.counts())
        } catch {
            logger.warning("metrics: cannot read the queue: \(error)")
        }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(8192)
        registry.emit(into: &buffer)
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
    }
}
