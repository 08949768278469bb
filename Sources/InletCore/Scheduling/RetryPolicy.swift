/// How one run of a job ended, as the worker reports it to the queue.
package enum JobOutcome: Sendable, Hashable {
    /// The connector finished the job.
    case succeeded
    /// The connector asked to be run again later (a transient error).
    case retry(message: String)
    /// The remote side throttled the connector and said when to come back.
    case rateLimited(retryAfter: Duration, message: String)
    /// The connector gave up for good: retrying cannot help.
    case failed(message: String)
    /// The plugin's thread died or returned a status Inlet doesn't know.
    case crashed(message: String)
    /// The job ran past the source's `timeout` and was cancelled.
    case timedOut(message: String)

    /// The text the job row keeps as `last_error`, naming how the run ended; nil on success.
    package var lastError: String? {
        switch self {
        case .succeeded: nil
        case .retry(let message), .failed(let message): message
        case .rateLimited(_, let message): "rate limited: \(message)"
        case .crashed(let message): "crashed: \(message)"
        case .timedOut(let message): "timed out: \(message)"
        }
    }
}

/// What the queue does with a job after a run.
package enum RetryDecision: Sendable, Hashable {
    /// Mark it succeeded.
    case complete
    /// Put it back in the queue with `run_at = now + delay`. When `countsAsAttempt` is false
    /// the owner leaves `attempts` as it was, so throttling never uses up a job's attempts.
    case retryAfter(Duration, countsAsAttempt: Bool)
    /// Move it to `quarantined`, keeping `reason` as its last error.
    case quarantine(reason: String)

    /// Whether the job goes to quarantine.
    package var quarantines: Bool {
        if case .quarantine = self { return true }
        return false
    }
}

/// A source's retry settings and the decision they imply after each run.
///
/// Delays use exponential backoff with *full* jitter (a uniform draw between zero and the
/// capped exponential delay): when a shared upstream fails, the jobs of every source behind it
/// fail together, and full jitter spreads their retries out instead of sending them back in
/// lockstep.
package struct RetryPolicy: Sendable, Hashable {
    /// Attempts in total, the first included, before a job is quarantined.
    package var maxAttempts: Int
    /// The ceiling of the first retry's delay; it doubles with every attempt.
    package var backoff: Duration
    /// The most any delay's ceiling grows to.
    package var maxBackoff: Duration

    /// Creates a policy.
    package init(maxAttempts: Int, backoff: Duration, maxBackoff: Duration) {
        self.maxAttempts = maxAttempts
        self.backoff = backoff
        self.maxBackoff = maxBackoff
    }

    /// Creates the policy a source's `retry:` block configures.
    package init(_ retry: SourceConfig.Retry) {
        self.init(maxAttempts: retry.maxAttempts, backoff: retry.backoff, maxBackoff: retry.maxBackoff)
    }

    /// The largest delay after the 1-based `attempt`: `min(maxBackoff, backoff * 2^(attempt-1))`.
    package func ceiling(afterAttempt attempt: Int) -> Duration {
        guard backoff > .zero, maxBackoff > .zero else { return .zero }
        var ceiling = min(backoff, maxBackoff)
        // Doubling stops as soon as it would pass the cap, so a huge attempt number neither
        // overflows `Duration` nor loops more than about log2(maxBackoff / backoff) times.
        var doublings = max(attempt, 1) - 1
        while doublings > 0, ceiling < maxBackoff {
            ceiling = ceiling > maxBackoff / 2 ? maxBackoff : ceiling * 2
            doublings -= 1
        }
        return ceiling
    }

    /// The delay before retrying after the 1-based `attempt` failed: uniform in
    /// `[0, ceiling(afterAttempt:)]`, to the nanosecond.
    /// - Parameter random: the source of randomness; tests pass a fixed or seeded generator.
    package func delay(afterAttempt attempt: Int, random: inout some RandomNumberGenerator) -> Duration {
        let (seconds, attoseconds) = ceiling(afterAttempt: attempt).components
        // Nanoseconds fit an Int64 for ceilings up to 292 years; larger ones are clamped.
        let (scaled, overflowed) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let (nanoseconds, sumOverflowed) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000)
        let limit = overflowed || sumOverflowed ? Int64.max : nanoseconds
        return .nanoseconds(Int64.random(in: 0...limit, using: &random))
    }

    /// The least a rate-limited job waits: a rate limit is not counted as an attempt, so one
    /// that asks for no wait (`Retry-After: 0`, a date in the past) would run the job again and
    /// again at once, against the upstream that is out of budget.
    package static let shortestRateLimitWait = Duration.seconds(1)

    /// What to do with a job whose run `attempt` (1-based, counting only runs that counted as
    /// attempts) ended with `outcome`.
    ///
    /// Transient failures (`retry`, `crashed`, `timedOut`) back off while attempts remain;
    /// `failed` quarantines at once because the connector said retrying can't help; a rate
    /// limit waits exactly as long as the remote side asked and never quarantines, since it
    /// says nothing about whether the job can succeed.
    package func decision(
        for outcome: JobOutcome, attempt: Int, random: inout some RandomNumberGenerator
    ) -> RetryDecision {
        switch outcome {
        case .succeeded:
            return .complete
        case .rateLimited(let retryAfter, _):
            return .retryAfter(max(retryAfter, Self.shortestRateLimitWait), countsAsAttempt: false)
        case .failed(let message):
            return .quarantine(reason: "failed: \(message)")
        case .retry, .crashed, .timedOut:
            guard attempt < maxAttempts else {
                return .quarantine(
                    reason: "out of attempts (\(attempt)/\(maxAttempts)): last error: \(outcome.lastError ?? "")"
                )
            }
            return .retryAfter(delay(afterAttempt: attempt, random: &random), countsAsAttempt: true)
        }
    }
}
