import Hummingbird
import InletCore
import Logging
import Prometheus

extension PrometheusMetricsFactory {
    /// The factory `inlet run` bootstraps swift-metrics with: job durations get buckets from
    /// 10 ms to an hour (the default 5 ms … 10 s would put almost every sync in `+Inf`).
    package static func inlet(registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets["inlet_job_duration_seconds"] = [
            .milliseconds(10), .milliseconds(50), .milliseconds(100), .milliseconds(500), .seconds(1), .seconds(5), .seconds(15),
            .seconds(60), .seconds(300), .seconds(900), .seconds(1800), .seconds(3600),
        ]
        return factory
    }
}

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
