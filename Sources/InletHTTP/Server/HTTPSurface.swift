import Foundation
import HTTPTypes
import Hummingbird
import InletCore
import Logging
import NIOCore
import Prometheus
import ServiceLifecycle

/// The daemon's HTTP surface: `POST /webhooks/{source}`, `GET /health`, `GET /metrics` and the
/// admin API under `/v1`, on one Hummingbird server.
package struct HTTPSurface: Sendable {
    package let config: LiveConfig
    package let queue: JobQueue
    package let committer: GroupCommitter
    package let registry: PrometheusCollectorRegistry
    package let stats: WebhookStats
    let runtime: (@Sendable () async -> [Orchestrator.SourceSnapshot])?
    let availability: SourceAvailability
    let bodyBudget: BodyBudget
    let wakeup: Wakeup?
    let logger: Logger

    /// - Parameters:
    ///   - runtime: the orchestrator's live view of its sources, for `/health`.
    ///   - availability: the orchestrator's sources that cannot run now (their webhooks and
    ///     on-demand syncs are refused instead of queued for good).
    ///   - bodyBudget: how many bytes of webhook bodies may be buffered at once.
    ///   - wakeup: signalled when a request adds a job, so an idle worker leases it at once.
    package init(
        config: LiveConfig, queue: JobQueue, committer: GroupCommitter, registry: PrometheusCollectorRegistry,
        runtime: (@Sendable () async -> [Orchestrator.SourceSnapshot])? = nil, availability: SourceAvailability = SourceAvailability(),
        bodyBudget: BodyBudget = BodyBudget(limit: WebhookReceiver.bodyBudgetBytes), wakeup: Wakeup? = nil, logger: Logger
    ) {
        self.availability = availability
        self.bodyBudget = bodyBudget
        self.config = config
        self.queue = queue
        self.committer = committer
        self.registry = registry
        self.stats = WebhookStats()
        self.runtime = runtime
        self.wakeup = wakeup
        self.logger = logger
    }

    /// Every route, for the answers to requests none matches (405 lists a path's methods).
    static let routes: [(method: HTTPRequest.Method, path: String)] = [
        (.post, "webhooks/:source"), (.get, "health"), (.get, "metrics"),
    ] + AdminAPI.routes

    /// Every route. GET routes answer HEAD too.
    package func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self, options: .autoGenerateHeadEndpoints)
        // First: it also wraps the router's answer to requests no route matches.
        router.add(middleware: UnmatchedRouteMiddleware(config: config, routes: Self.routes, logger: logger))
        let receiver = WebhookReceiver(
            config: config, queue: queue, committer: committer, stats: stats, availability: availability, budget: bodyBudget,
            wakeup: wakeup, logger: logger)
        router.post("webhooks/:source") { request, context in try await receiver.handle(request, context: context) }
        let health = HealthEndpoint(
            config: config, queue: queue, statusStore: SourceStatusStore(database: queue.database), stats: stats, runtime: runtime)
        router.get("health") { request, context in try await health.handle(request, context: context) }
        let metrics = MetricsEndpoint(
            registry: registry, queue: queue, quarantine: QuarantineStore(database: queue.database, queue: queue), logger: logger)
        router.get("metrics") { request, context in try await metrics.handle(request, context: context) }
        AdminAPI(
            config: config, queue: queue, quarantine: QuarantineStore(database: queue.database, queue: queue), availability: availability,
            wakeup: wakeup)
            .register(on: router)
        return router
    }

    /// The server, a `Service` for the daemon's `ServiceGroup` (graceful shutdown stops it).
    /// - Parameter onServerRunning: called with the bound port (useful with port 0).
    package func application(
        listen: InletConfig.ListenAddress, onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        Application(
            router: router(),
            // A connection idle (or an upload stalled) for a minute is closed: it holds memory.
            server: .http1(configuration: .init(idleTimeout: .seconds(60))),
            configuration: .init(address: .hostname(listen.host, port: listen.port), serverName: "inlet"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? listen.port) },
            logger: logger)
    }

    /// The server as one of the daemon's services: a failure to serve (the port is taken, the
    /// host is not this machine's) is an error that names the address.
    package func service(
        listen: InletConfig.ListenAddress, onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some Service {
        ServingService(application: application(listen: listen, onServerRunning: onServerRunning), listen: listen)
    }
}

/// Runs the Hummingbird application; its start-up errors come out naming the `listen` address.
private struct ServingService<App: ApplicationProtocol>: Service {
    let application: App
    let listen: InletConfig.ListenAddress

    func run() async throws {
        do {
            try await application.run()
        } catch let error as IOError {
            throw ServeError(description: "cannot listen on \(listen) (`listen` in the config): \(String(cString: strerror(error.errnoCode)))")
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw ServeError(description: "cannot serve HTTP on \(listen) (`listen` in the config): \(error)")
        }
    }
}

/// Why the HTTP server could not run.
package struct ServeError: Error, CustomStringConvertible {
    package var description: String
}
