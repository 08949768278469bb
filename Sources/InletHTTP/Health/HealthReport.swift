import Foundation
import InletCore

/// What `GET /health` answers: the overall verdict, each source, the queue.
package struct HealthReport: Sendable, Codable, Equatable {
    /// `healthy`, `degraded` (something needs a look; still serving) or `unhealthy` (503).
    package var status: String
    package var sources: [Source]
    package var queue: Queue

    package struct Source: Sendable, Codable, Equatable {
        package var name: String
        /// `ok`, `degraded` (breaker not closed, last sync failed), `disabled` (off in config,
        /// no plugin, or turned off by the watchdog).
        package var status: String
        /// Why the source is degraded or disabled.
        package var reason: String?
        package var circuitBreaker: String
        package var eventsReceived: Int
        package var eventsQueued: Int
        package var errors: Int
        package var lastSyncAt: Date?
        package var lastOutcome: String?
        package var nextRunAt: Date?

        enum CodingKeys: String, CodingKey {
            case name, status, reason, circuitBreaker = "circuit_breaker", eventsReceived = "events_received"
            case eventsQueued = "events_queued", errors, lastSyncAt = "last_sync_at", lastOutcome = "last_outcome"
            case nextRunAt = "next_run_at"
        }
    }

    package struct Queue: Sendable, Codable, Equatable {
        /// Queued and running jobs.
        package var size: Int
        /// `queue.max_size`.
        package var max: Int
        package var usagePercent: Double
        /// True when the queue is full: webhooks get 429 and schedules skip ticks.
        package var backpressure: Bool

        package init(size: Int, max: Int, usagePercent: Double, backpressure: Bool) {
            self.size = size
            self.max = max
            self.usagePercent = usagePercent
            self.backpressure = backpressure
        }

        enum CodingKeys: String, CodingKey { case size, max, usagePercent = "usage_percent", backpressure }
    }

    /// Why a source whose plugin or config block did not load is disabled, without the error.
    static let terseLoadError = Orchestrator.cannotRunPrefix + "its plugin or its config block did not load"

    /// Why a source cannot run, as anyone may read it: a load error (which names paths) in the
    /// host's own words; the watchdog's verdict as it is.
    static func publicReason(_ why: String) -> String {
        why.hasPrefix(Orchestrator.cannotRunPrefix) ? terseLoadError : why
    }

    /// Usage at which the queue makes the daemon `degraded`.
    static let degradedUsagePercent = 80.0

    /// Last sync outcomes that leave a source `ok`: a rate limit says nothing of its health (the
    /// circuit breaker ignores it too); the sync runs again when the limit resets.
    static let healthyOutcomes: Set<String> = ["succeeded", "rate_limited"]

    /// Builds the report from what the daemon knows.
    /// - Parameters:
    ///   - runtime: the orchestrator's live view; nil when none runs (tests, a stopped daemon).
    ///   - detail: whether `reason` may carry error texts (a failed sync's error, why a plugin
    ///     did not load): they name paths, hosts and URLs, and `/health` answers anyone who can
    ///     reach it (with `listen: 0.0.0.0` for GitHub, the internet). Without, the reason is
    ///     the host's own phrase only.
    package static func make(
        config: InletConfig, status: [String: SourceStatusStore.Row], runtime: [Orchestrator.SourceSnapshot]?,
        stats: WebhookStats, depth: [JobState: Int], detail: Bool = true
    ) -> HealthReport {
        let live = Dictionary((runtime ?? []).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let sources = config.sources.map { source -> Source in
            let row = status[source.name]
            let snapshot = live[source.name]
            let counts = stats.counts(of: source.name)
            let breaker = snapshot?.breaker ?? row?.breakerState ?? "closed"
            var verdict = "ok"
            var reason: String?
            if !source.isEnabled {
                verdict = "disabled"; reason = "enabled: false in the config"
            } else if let why = snapshot?.disabledReason ?? row?.disabledReason {
                // The watchdog's verdict is the host's own text; a load error is not.
                verdict = "disabled"; reason = detail ? why : Self.publicReason(why)
            } else if let why = snapshot?.loadError {
                verdict = "disabled"; reason = detail ? why : Self.terseLoadError
            } else if breaker != "closed" {
                verdict = "degraded"; reason = "circuit breaker \(breaker)"
            } else if let outcome = row?.lastOutcome, !Self.healthyOutcomes.contains(outcome) {
                verdict = "degraded"
                reason = detail ? row?.lastError.map { "last sync \(outcome): \($0)" } ?? "last sync \(outcome)" : "last sync \(outcome)"
            }
            return Source(
                name: source.name, status: verdict, reason: reason, circuitBreaker: breaker, eventsReceived: counts.received,
                eventsQueued: counts.queued, errors: counts.errors, lastSyncAt: row?.lastSyncAt, lastOutcome: row?.lastOutcome,
                // A disabled source's stored next run will not come (its ticks wait with its jobs).
                nextRunAt: verdict == "disabled" ? nil : row?.nextRunAt)
        }
        let size = (depth[.queued] ?? 0) + (depth[.running] ?? 0)
        let max = config.queue.maxSize
        let usage = max > 0 ? (Double(size) / Double(max) * 1000).rounded() / 10 : 0
        let queue = Queue(size: size, max: max, usagePercent: usage, backpressure: size >= max)

        let enabled = sources.filter { config.source(named: $0.name)?.isEnabled == true }
        let status: String
        if queue.backpressure || (!enabled.isEmpty && enabled.allSatisfy { $0.status == "disabled" }) {
            status = "unhealthy"
        } else if usage >= degradedUsagePercent || sources.contains(where: { $0.status != "ok" && $0.reason != "enabled: false in the config" }) {
            status = "degraded"
        } else {
            status = "healthy"
        }
        return HealthReport(status: status, sources: sources, queue: queue)
    }
}
