import InletCore
import Synchronization

/// The config the HTTP surface answers with: swapped by a SIGHUP reload, so webhook secrets,
/// sources and the admin token change without a restart.
package final class LiveConfig: Sendable {
    private let current: Mutex<InletConfig>

    package init(_ config: InletConfig) {
        current = Mutex(config)
    }

    /// The config in force now.
    package var config: InletConfig { current.withLock { $0 } }

    /// Puts `config` in force for the next request.
    package func update(_ config: InletConfig) {
        current.withLock { $0 = config }
    }
}
