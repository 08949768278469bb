import Synchronization

/// What the HTTP service's answers say about each source's upstream, waiting for the
/// orchestrator to feed it to the source's circuit breaker: a 5xx answer or a network error
/// (timeout included) is a failure, any other answer a success.
///
/// The service reports on plugin threads; the orchestrator takes the reports when it decides
/// what may run and when a job finishes, so a burst of failures during a job reaches the
/// breaker before the job's own outcome, and the source's next jobs are deferred.
package final class UpstreamReports: Sendable {
    private let pending = Mutex<[String: [Bool]]>([:])
    /// Reports kept per source between two takes; older ones say nothing the newer don't.
    private let limit = 256

    package init() {}

    /// Notes one answer (or failure) of `source`'s upstream.
    package func record(source: String, success: Bool) {
        pending.withLock { pending in
            var reports = pending[source, default: []]
            // Successes in a row change the breaker no more than one does.
            if success, reports.last == true { return }
            reports.append(success)
            if reports.count > limit { reports.removeFirst(reports.count - limit) }
            pending[source] = reports
        }
    }

    /// The reports since the last take, in order, per source.
    package func take() -> [String: [Bool]] {
        pending.withLock { pending in
            defer { pending = [:] }
            return pending
        }
    }
}
