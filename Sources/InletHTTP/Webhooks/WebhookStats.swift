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
    /// The event labels each source has used in `inlet_webhooks_total`.
    private let eventLabels = Mutex<[String: Set<String>]>([:])

    /// Most distinct event labels per source: GitHub has some 70 event names, and a signed body
    /// replayed with invented `X-GitHub-Event` names must not grow the metric without bound.
    package static let maxEventLabels = 100

    package init() {}

    func record(source: String, _ change: (inout Counts) -> Void) {
        counts.withLock { change(&$0[source, default: Counts()]) }
    }

    /// The label of a verified delivery's event in the metrics: GitHub's names are short
    /// lowercase words; anything else, or a name beyond the first `maxEventLabels` a source
    /// has used, is `other`.
    package func eventLabel(source: String, event: String) -> String {
        let plain = event.utf8.count <= 64 && event.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x5F }
        guard plain else { return "other" }
        return eventLabels.withLock { labels in
            if labels[source, default: []].contains(event) { return event }
            guard labels[source, default: []].count < Self.maxEventLabels else { return "other" }
            labels[source, default: []].insert(event)
            return event
        }
    }

    /// The counts of `source` (zero when it received nothing).
    package func counts(of source: String) -> Counts {
        counts.withLock { $0[source] ?? Counts() }
    }
}
