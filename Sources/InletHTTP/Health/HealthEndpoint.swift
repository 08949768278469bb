import Foundation
import Hummingbird
import InletCore

/// `GET /health`: 200 when healthy or degraded, 503 when unhealthy or the database cannot be read.
/// Anyone may ask (load balancers, probes); error texts come only with the admin token.
package struct HealthEndpoint: Sendable {
    let config: LiveConfig
    let queue: JobQueue
    let statusStore: SourceStatusStore
    let stats: WebhookStats
    let runtime: (@Sendable () async -> [Orchestrator.SourceSnapshot])?

    func handle(_ request: Request, context: some RequestContext) async throws -> Response {
        // Without the admin token, the verdicts alone. A token presented must be right (401
        // otherwise: a mistyped one is not mistaken for a daemon that says little); with the
        // admin API off there is no token, and `inlet status` shows the errors.
        var detail = false
        if request.headers[.authorization] != nil, config.config.admin?.token != nil {
            try BearerTokenMiddleware<BasicRequestContext>.authorize(request, config: config)
            detail = true
        }
        let config = config.config
        let snapshot = await runtime?()
        do {
            let report = HealthReport.make(
                config: config, status: try statusStore.all(), runtime: snapshot, stats: stats, depth: try queue.depth(),
                detail: detail)
            return JSONBody.response(report, status: report.status == "unhealthy" ? .serviceUnavailable : .ok)
        } catch {
            return JSONBody.response(
                ["status": "unhealthy", "error": "the database cannot be read" + (detail ? ": \(error)" : "")], status: .serviceUnavailable)
        }
    }
}
