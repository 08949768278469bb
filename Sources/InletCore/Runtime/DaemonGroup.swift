import Logging
import ServiceLifecycle
import UnixSignals

/// The daemon's services in one group, and how it stops.
package enum DaemonGroup {
    /// A group in which a service that fails (the HTTP port is taken) stops the daemon the way
    /// SIGTERM does: running jobs finish within the grace and the rest go back to the queue;
    /// then `run()` throws that failure. The group stops its services in reverse order, so the
    /// worker pool, given first, stops last.
    package static func make(services: [any Service], signals: [UnixSignal] = [], logger: Logger) -> ServiceGroup {
        ServiceGroup(
            configuration: .init(
                services: services.map { .init(service: $0, failureTerminationBehavior: .gracefullyShutdownGroup) },
                gracefulShutdownSignals: signals,
                logger: logger))
    }
}
