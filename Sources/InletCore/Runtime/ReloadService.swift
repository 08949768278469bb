import Logging
import ServiceLifecycle
import UnixSignals

/// Re-reads the config on SIGHUP. A bad new config is refused with its errors and the old one
/// keeps running.
package struct ReloadService: Service {
    package let logger: Logger
    /// Loads, validates and applies the new config; returns its errors (empty when applied).
    package let reload: @Sendable () async -> [String]

    package init(logger: Logger, reload: @escaping @Sendable () async -> [String]) {
        self.logger = logger
        self.reload = reload
    }

    package func run() async throws {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        for await _ in hangups.cancelOnGracefulShutdown() {
            logger.notice("SIGHUP: reloading the config")
            let errors = await reload()
            if errors.isEmpty {
                logger.notice("config reloaded")
            } else {
                for error in errors { logger.error("reload refused: \(error)") }
                logger.error("the new config has \(errors.count) error(s); the running config stays in force")
            }
        }
    }
}
