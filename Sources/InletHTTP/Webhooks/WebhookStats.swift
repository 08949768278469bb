import Synchronization

/// Per-source webhook counts since the daemon started, for `/health`.
package final class WebhookStats: Sendable {
    /// One source's counts.
    package struct Counts: Sendable, Equatable, Codable {
        /// Requests to the source's webhook URL (verified or not).
        package var received = 0
        /// Deliveries stored with a new job.
        package var queued = 0
        /// Requests refused (bad signature, too large, malformed, queue full) or failed.
        package var errors = 0
    }

    private let counts = Mutex<[String: Counts]>([:])

    package init() {}

    func record(source: String, _ change: (inout Counts) -> Void) {
        counts.withLock { change(&$0[source, default: Counts()]) }
    }

    /// The counts of `source` (zero when it received nothing).
    package func counts(of source: String) -> Counts {
        counts.withLock { $0[source] ?? Counts() }
    }
}
