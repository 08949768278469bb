import Synchronization

/// Why each source the daemon cannot run right now does not run (its plugin did not load, or
/// refuses its config block; the watchdog disabled it), kept by the orchestrator and read on
/// every webhook: a request for such a source is refused rather than queued for good.
package final class SourceAvailability: Sendable {
    private let reasons = Mutex<[String: String]>([:])

    package init() {}

    /// Why `source` cannot run now, or nil when it can (or is unknown here).
    package func reason(for source: String) -> String? {
        reasons.withLock { $0[source] }
    }

    /// Records why `source` cannot run, or with nil that it can.
    package func set(_ source: String, reason: String?) {
        reasons.withLock { $0[source] = reason }
    }

    /// Forgets every source not in `names` (after a reload).
    func keep(only names: Set<String>) {
        reasons.withLock { current in current = current.filter { names.contains($0.key) } }
    }
}
