import Foundation
import Hummingbird
import InletCore

/// `GET /health`: 200 when healthy or degraded, 503 when unhealthy or the database cannot be read.
package struct HealthEndpoint: Sendable {
    let config: LiveConfig
    let queue: JobQueue
    let statusStore: SourceStatusStore
    let stats: WebhookStats
    let runtime: (@Sendable () async -> [Orchestrator.SourceSnapshot])?

    func handle(_ request: Request, context: some RequestContext) async throws -> Response {
        let config = config.config
        let snapshot = await runtime?()
        do {
            let report = HealthReport.make(
                config: config, status: try statusStore.all(), runtime: snapshot, stats: stats, depth: try queue.depth())
            return JSONBody.response(report, status: report.status == "unhealthy" ? .serviceUnavailable : .ok)
        } catch {
            return JSONBody.response(
                ["status": "unhealthy", "error": "the database cannot be read: \(error)"], status: .serviceUnavailable)
        }
    }
}
