import Metrics
import Synchronization

/// Every metric Inlet records, with one label scheme (`source`, `kind`, `outcome`, …). Recorded
/// through swift-metrics; the HTTP surface exports them for Prometheus.
package enum InletMetrics {
    /// Finished job attempts: `inlet_jobs_total{source,kind,outcome}`.
    package static func jobFinished(source: String, kind: String, outcome: String, duration: Duration) {
        Counter(label: "inlet_jobs_total", dimensions: [("source", source), ("kind", kind), ("outcome", outcome)]).increment()
        Timer(label: "inlet_job_duration_seconds", dimensions: [("source", source), ("kind", kind)])
            .recordNanoseconds(Int64(duration.seconds * 1e9))
    }

    /// Attempts a rescue found cut short (the daemon died, or a lease expired): counted in
    /// `inlet_jobs_total` with outcome `interrupted`, and their time until the rescue.
    package static func attemptsInterrupted(_ attempts: [AuditLog.Entry]) {
        for attempt in attempts {
            jobFinished(source: attempt.source, kind: attempt.kind, outcome: attempt.outcome,
                        duration: .milliseconds(attempt.durationMilliseconds))
        }
    }

    /// Requests merged into a queued job: `inlet_jobs_coalesced_total{source}`.
    package static func coalesced(source: String) {
        Counter(label: "inlet_jobs_coalesced_total", dimensions: [("source", source)]).increment()
    }

    /// Scheduled ticks skipped because the queue was full: `inlet_schedule_skipped_total{source}`.
    package static func scheduleSkipped(source: String) {
        Counter(label: "inlet_schedule_skipped_total", dimensions: [("source", source)]).increment()
    }

    /// Records written and deleted: `inlet_records_written_total{source}`, `inlet_records_deleted_total{source}`.
    package static func records(source: String, written: Int, deleted: Int) {
        if written > 0 { Counter(label: "inlet_records_written_total", dimensions: [("source", source)]).increment(by: written) }
        if deleted > 0 { Counter(label: "inlet_records_deleted_total", dimensions: [("source", source)]).increment(by: deleted) }
    }

    /// Plugin calls abandoned past their timeout and grace: `inlet_plugin_calls_stuck{source}`.
    package static func stuckCalls(source: String, count: Int) {
        Gauge(label: "inlet_plugin_calls_stuck", dimensions: [("source", source)]).record(count)
    }

    /// Circuit breaker state: `inlet_circuit_state{source}` (0 closed, 1 open, 2 half-open).
    package static func circuitState(source: String, value: Int) {
        Gauge(label: "inlet_circuit_state", dimensions: [("source", source)]).record(value)
    }

    /// Jobs queued or running: `inlet_queue_depth{state}`.
    package static func queueDepth(_ depth: [JobState: Int]) {
        for state in [JobState.queued, .running] {
            Gauge(label: "inlet_queue_depth", dimensions: [("state", state.rawValue)]).record(depth[state] ?? 0)
        }
    }

    /// Quarantine entries per source: `inlet_quarantined{source}` (see ``QuarantineGauge``, which
    /// also sets sources with no entries left to 0).
    package static func quarantined(_ counts: [String: Int]) {
        for (source, count) in counts {
            Gauge(label: "inlet_quarantined", dimensions: [("source", source)]).record(count)
        }
    }

    /// Webhook requests to a configured source: `inlet_webhooks_total{source,event,outcome}`
    /// (`event` is `unverified` before the signature checked out).
    package static func webhook(source: String, event: String, outcome: String) {
        Counter(label: "inlet_webhooks_total", dimensions: [("source", source), ("event", event), ("outcome", outcome)]).increment()
    }

    /// Requests of the host's HTTP service: `inlet_http_requests_total{source,host,status}`
    /// (`status` is the HTTP status, or `error` when no answer arrived: network error, timeout).
    package static func httpRequest(source: String, host: String, status: String) {
        Counter(label: "inlet_http_requests_total", dimensions: [("source", source), ("host", host), ("status", status)]).increment()
    }

    /// The rate-limit budget the last answer of a source announced:
    /// `inlet_rate_limit_remaining{source}` (`x-ratelimit-remaining`).
    package static func rateLimitRemaining(source: String, remaining: Int) {
        Gauge(label: "inlet_rate_limit_remaining", dimensions: [("source", source)]).record(remaining)
    }
}

/// Keeps `inlet_quarantined{source}` true for one database. The counts read from it name only
/// sources with entries, so each refresh also sets to 0 the sources it reported before and that
/// have none left (dropped, retried): their gauges would otherwise keep the last count forever.
package final class QuarantineGauge: Sendable {
    private let reported = Mutex<Set<String>>([])

    package init() {}

    /// Records `counts` (entries per source, as ``QuarantineStore/counts()`` reads them).
    package func refresh(_ counts: [String: Int]) {
        let emptied = reported.withLock { reported -> Set<String> in
            defer { reported = Set(counts.keys) }
            return reported.subtracting(counts.keys)
        }
        var all = counts
        for source in emptied { all[source] = 0 }
        InletMetrics.quarantined(all)
    }
}
