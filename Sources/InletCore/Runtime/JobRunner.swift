import Foundation
import GRDB
import Logging

/// Runs one leased job: the plugin call on its own thread, heartbeats that keep the lease, the
/// timeout and the watchdog's grace, then ONE transaction that checks the lease (fencing) and
/// commits the records, their checkpoint, follow-up jobs, the job's new state and its audit row.
package struct JobRunner: Sendable {
    package let queue: JobQueue
    package let committer: BatchCommitter
    package let clock: any ScheduleClock
    package let logger: Logger
    /// How long a lease lasts; heartbeats renew it every third of that.
    package let leaseDuration: Duration
    package let watchdog: InletConfig.Watchdog
    /// Job completions arriving together share one transaction (and a worker pool's lease
    /// joins them: one commit hands out new leases and finishes jobs).
    package let group: GroupCommitter
    /// The level of the line each finished job logs (a foreground sync logs them at debug: its
    /// progress line and summary say what ran).
    package let finishedLevel: Logger.Level

    package init(
        queue: JobQueue, clock: any ScheduleClock, logger: Logger, leaseDuration: Duration = .seconds(30),
        watchdog: InletConfig.Watchdog = .init(), finishedLevel: Logger.Level = .info
    ) {
        self.queue = queue
        self.committer = BatchCommitter(database: queue.database)
        self.clock = clock
        self.logger = logger
        self.leaseDuration = leaseDuration
        self.watchdog = watchdog
        self.finishedLevel = finishedLevel
        // Workers block on their own writes anyway (leases): the first finishing job leads.
        self.group = GroupCommitter(database: queue.database, leaderCommits: true)
    }

    /// How a run ended, for the breaker, the watchdog and metrics.
    package struct Report: Sendable {
        package var job: Job
        package var outcome: JobOutcome
        package var decision: RetryDecision?
        package var counts = CommitCounts()
        /// Emits the host refused (bad key, bad metadata, …).
        package var rejected = 0
        package var duration: Duration = .zero
        /// The call did not return within timeout + grace: its thread was abandoned.
        package var stuck = false
        /// The lease moved on (cancelled, rescued): nothing was committed.
        package var leaseLost = false
        /// The daemon shut down past its grace while the call ran: the job was given back and
        /// the call may still be running inside the instance (which must not be destroyed).
        package var releasedAtShutdown = false
        /// The user stopped the foreground `inlet sync` running it and the call did not end OK:
        /// the job was given back, its attempt not counted (unless it had already timed out).
        package var interrupted = false

        /// What the circuit breaker learns: true/false, or nil when the run says nothing about
        /// the source's health (a rate limit, a lost lease, a shutdown).
        package var breakerSuccess: Bool? {
            if leaseLost || releasedAtShutdown || interrupted { return nil }
            switch outcome {
            case .succeeded: return true
            case .rateLimited: return nil
            default: return false
            }
        }

        package var outcomeName: String {
            if leaseLost { return "lease_lost" }
            switch outcome {
            case .succeeded: return "succeeded"
            case .retry: return "retry"
            case .rateLimited: return "rate_limited"
            case .failed: return "failed"
            case .crashed: return "crashed"
            case .timedOut: return stuck ? "stuck" : "timed_out"
            }
        }
    }

    /// Runs `job` (leased, so `job.lease` is set) on `instance` with the source's settings.
    /// - Parameters:
    ///   - register: receives the live call and is called with nil at the end.
    ///   - ownHeartbeat: false when the caller renews the lease (a worker pool renews all of its
    ///     leases in one transaction) and cancels `call` when the lease is lost.
    ///   - callEnded: called once the plugin call is over (returned, or abandoned past its grace),
    ///     before its outcome is committed: a worker pool frees the worker for the next job while
    ///     this one waits for its group commit. The job is still reported only after the commit.
    ///   - interrupted: true once the user stopped the foreground `inlet sync` running the job
    ///     (which cancels the call): a call that then ends other than OK is not the job's fault,
    ///     and the job goes back to the queue without counting the attempt.
    package func run(
        _ job: Job, instance: ConnectorInstance, source: SourceConfig, register: @Sendable (PluginCall?) -> Void = { _ in },
        ownHeartbeat: Bool = true, callEnded: @Sendable () -> Void = {}, interrupted: @Sendable () -> Bool = { false }
    ) async -> Report {
        let started = ContinuousClock.now
        guard let lease = job.lease else {
            return Report(job: job, outcome: .crashed(message: "job \(job.id) is not leased"), leaseLost: true)
        }
        var callLogger = logger
        callLogger[metadataKey: "source"] = "\(job.source)"
        callLogger[metadataKey: "job"] = "\(job.id)"
        let policy = RetryPolicy(source.retry)
        // This job's attempts are bounded by the max_attempts its row was queued with (what
        // `inlet jobs show` prints and a rescue after a crash goes by), not by a reloaded config.
        var jobPolicy = policy
        jobPolicy.maxAttempts = job.maxAttempts
        let queue = self.queue
        let committer = self.committer
        let clock = self.clock
        let leaseDuration = self.leaseDuration
        // A checkpoint commits only while the lease is ours, and renews it.
        let commit: @Sendable (StagedBatch) throws -> BatchCommitter.Report = { batch in
            try queue.database.pool.write { db in
                try queue.verify(lease, in: db)
                let now = clock.now
                let report = try committer.apply(batch, source: job.source, now: now, in: db)
                try Self.enqueueFollowUps(report.followUps, source: job.source, policy: policy, queue: queue, now: now, in: db)
                try db.execute(
                    sql: "UPDATE jobs SET lease_expires_at = ? WHERE id = ? AND lease_id = ?",
                    arguments: [now.timeIntervalSince1970 + leaseDuration.seconds, lease.jobID, lease.leaseID])
                return report
            }
        }
        let call = PluginCall(
            source: job.source, mode: .job(commit: commit), logger: callLogger,
            documents: committer.documents, state: committer.state, http: instance.http, jobID: job.id)
        register(call)
        defer { register(nil) }

        // The plugin runs on its own thread; this task only waits for it, with deadlines.
        let watch = CallWatch()
        let args = Self.arguments(job.args)
        if job.kind == "webhook" {
            // The delivery was stored with the job; a job whose delivery is gone fails for good.
            let delivery = try? WebhookDelivery.forJob(args: job.args, in: queue.database)
            Task {
                if let delivery {
                    watch.finish(await instance.webhook(delivery, call: call))
                } else {
                    watch.finish(.init(status: .failed, message: "webhook job \(job.id): its delivery is not stored (args \(job.args))"))
                }
            }
        } else {
            // The plugin thread reports straight to the watch: no task in between.
            instance.startSync(kind: job.kind, args: args, call: call) { watch.finish($0) }
        }

        let heartbeat: Task<Void, Never>? = !ownHeartbeat ? nil : Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: leaseDuration / 3)
                if Task.isCancelled { return }
                let lost = (try? queue.heartbeat([lease], now: clock.now, leaseFor: leaseDuration)) ?? []
                if lost.contains(lease) {
                    callLogger.warning("lease lost (job cancelled or rescued): asking the plugin to stop")
                    call.cancel()
                    return
                }
            }
        }
        defer { heartbeat?.cancel() }

        var stuck = false
        var timedOut = false
        var result = await watch.wait(upTo: source.timeout)
        if result == nil && !Task.isCancelled {
            timedOut = true
            callLogger.warning("timed out after \(DurationFormat.string(from: source.timeout)): asking the plugin to stop")
            call.cancel()
            result = await watch.wait(upTo: watchdog.cancelGrace)
            if result == nil && !Task.isCancelled {
                stuck = true
                callLogger.error(
                    "the plugin call did not return within \(DurationFormat.string(from: watchdog.cancelGrace)) of being cancelled: abandoning its thread")
            }
        }
        heartbeat?.cancel()
        callEnded()

        if Task.isCancelled && result == nil {
            // The daemon is shutting down (or the user stopped `inlet sync`) and the grace is
            // over: ask the plugin to stop and give the job back to the queue without counting
            // the attempt (it was not the job's fault). The call may still run in the instance.
            call.cancel()
            let byUser = interrupted()
            // A call the user interrupted after its timeout had already run out: that attempt
            // counts, and at the job's last attempt it goes to quarantine as a timeout would.
            let counted = byUser && timedOut
            var outOfAttempts: String?
            if counted {
                var random = SystemRandomNumberGenerator()
                let timeout = JobOutcome.timedOut(message: "timed out after \(DurationFormat.string(from: source.timeout)), then interrupted")
                if case .quarantine(let reason) = jobPolicy.decision(for: timeout, attempt: job.attempts, random: &random) {
                    outOfAttempts = reason
                }
            }
            var report = giveBack(
                job, lease, call: call, started: started,
                reason: byUser ? Self.interruptedReason : "daemon shut down before the job finished", countsAsAttempt: counted,
                quarantine: outOfAttempts)
            report.releasedAtShutdown = true
            report.interrupted = byUser
            if let outOfAttempts {
                callLogger.error("quarantined at Ctrl-C: the call did not return in time after its timeout; \(outOfAttempts)")
            } else {
                callLogger.notice(
                    "released at \(byUser ? "Ctrl-C" : "shutdown"): the call did not return in time; it runs again later, its attempt \(counted ? "counted" : "not counted")")
            }
            return report
        }
        if let result, result.status != .ok, !timedOut, interrupted() {
            var report = giveBack(job, lease, call: call, started: started, reason: Self.interruptedReason)
            report.interrupted = true
            callLogger.notice("interrupted: job \(job.id) goes back to the queue, its attempt not counted")
            return report
        }

        let outcome: JobOutcome
        if stuck {
            outcome = .timedOut(message: "no answer within timeout \(DurationFormat.string(from: source.timeout)) + grace \(DurationFormat.string(from: watchdog.cancelGrace)); call abandoned")
        } else if let result {
            switch result.status {
            case .ok: outcome = timedOut ? .timedOut(message: "returned OK only after being cancelled at the timeout") : .succeeded
            case .retry: outcome = timedOut ? .timedOut(message: result.message ?? "cancelled at the timeout") : .retry(message: result.message ?? "retry")
            case .rateLimited: outcome = .rateLimited(retryAfter: result.retryAfter ?? .seconds(60), message: result.message ?? "rate limited")
            case .failed: outcome = .failed(message: result.message ?? "failed")
            default: outcome = .crashed(message: "unknown status \(result.status.rawValue): \(result.message ?? "")")
            }
        } else {
            outcome = .crashed(message: "no result")
        }

        var report = Report(job: job, outcome: outcome, stuck: stuck)
        var random = SystemRandomNumberGenerator()
        let decision = jobPolicy.decision(for: outcome, attempt: job.attempts, random: &random)
        report.decision = decision
        // What the call staged since its last checkpoint: committed only on success.
        let staged = call.takeStaged()
        for checkpoint in call.checkpoints { report.counts = report.counts + checkpoint.counts }
        report.rejected = call.progress.rejected
        do {
            let checkpointCounts = report.counts
            let outcomeName = report.outcomeName
            let finalCounts = try await group.write { db -> CommitCounts in
                let now = clock.now
                var counts = CommitCounts()
                switch decision {
                case .complete:
                    // The fencing check is markSucceeded's own: a lost lease throws there and
                    // the records applied before it roll back with the job's savepoint.
                    let applied = try committer.apply(staged, source: job.source, now: now, in: db)
                    try Self.enqueueFollowUps(applied.followUps, source: job.source, policy: policy, queue: queue, now: now, in: db)
                    try queue.markSucceeded(lease, now: now, in: db)
                    counts = applied.counts
                case .retryAfter, .quarantine:
                    try queue.verify(lease, in: db)
                    try queue.markFailedAttempt(lease, decision: decision, lastError: outcome.lastError, now: now, in: db)
                }
                try AuditLog.recordAttempt(
                    of: job, outcome: outcomeName, counts: checkpointCounts + counts, duration: ContinuousClock.now - started,
                    error: outcome.lastError, quarantined: decision.quarantines, at: now, in: db)
                return counts
            }
            report.counts = report.counts + finalCounts
        } catch let error as JobQueueError where error.code == .leaseLost {
            // Cancelled by the operator, or rescued elsewhere: whoever holds it now decides.
            report.leaseLost = true
            report.decision = nil
            callLogger.notice("\(error): its outcome is not recorded (nothing more committed)")
        } catch {
            // The commit itself failed (disk full, a record referring to a missing blob …): the
            // job goes back to the queue like a transient failure, if its lease is still ours.
            callLogger.error("commit failed: \(error)")
            let failure = JobOutcome.retry(message: "commit failed: \(error)")
            report.outcome = failure
            let fallback = jobPolicy.decision(for: failure, attempt: job.attempts, random: &random)
            report.decision = fallback
            do {
                try write(queue.database) { db in
                    try queue.verify(lease, in: db)
                    try queue.markFailedAttempt(lease, decision: fallback, lastError: failure.lastError, now: clock.now, in: db)
                }
            } catch let error as JobQueueError where error.code == .leaseLost {
                // A completion is fenced by its last statement: records that failed to apply may
                // belong to a lease already lost, which says nothing about the source's health.
                report.leaseLost = true
                report.decision = nil
            } catch {
                callLogger.error("cannot put the job back after the failed commit: \(error); it runs again when its lease expires")
            }
        }
        report.duration = ContinuousClock.now - started
        // Built only when a log line is written (not per job at the default level of a busy daemon).
        let finished = report
        let summary = { "\(job.kind) job \(job.id) of '\(job.source)' (attempt \(job.attempts)/\(job.maxAttempts)): \(finished.outcomeName), "
            + "\(finished.counts.written) written, \(finished.counts.deleted) deleted, \(finished.counts.quarantined) quarantined, "
            + "in \(ProgressLine.format(finished.duration))" }
        switch report.decision {
        case .complete?: callLogger.log(level: finishedLevel, "\(summary())")
        case .retryAfter(let delay, _)?:
            callLogger.warning("\(summary()); retry in \(ProgressLine.format(delay)): \(outcome.lastError ?? "")")
        case .quarantine(let reason)?: callLogger.error("\(summary()); quarantined: \(reason)")
        case nil: callLogger.log(level: finishedLevel, "\(summary())")
        }
        InletMetrics.jobFinished(source: job.source, kind: job.kind, outcome: report.outcomeName, duration: report.duration)
        InletMetrics.records(source: job.source, written: report.counts.written, deleted: report.counts.deleted)
        return report
    }

    static let interruptedReason = "inlet sync was interrupted before the job finished"

    /// Gives the job back to the queue, due now, without counting the attempt (unless
    /// `countsAsAttempt`): it was cut short through no fault of its own (shutdown, Ctrl-C). What
    /// it staged since its last checkpoint is not committed; the report counts what its
    /// checkpoints did. With `quarantine` (a counted last attempt) it goes to quarantine for
    /// that reason instead, with its audit row.
    private func giveBack(
        _ job: Job, _ lease: Lease, call: PluginCall, started: ContinuousClock.Instant, reason: String, countsAsAttempt: Bool = false,
        quarantine: String? = nil
    ) -> Report {
        var report = Report(job: job, outcome: quarantine == nil ? .retry(message: reason) : .timedOut(message: reason))
        for checkpoint in call.checkpoints { report.counts = report.counts + checkpoint.counts }
        report.rejected = call.progress.rejected
        if let quarantine { report.decision = .quarantine(reason: quarantine) }
        let (counts, outcomeName) = (report.counts, report.outcomeName)
        do {
            try write(queue.database) { db in
                try queue.verify(lease, in: db)
                let now = clock.now
                guard let quarantine else {
                    try queue.markRetry(lease, runAt: now, error: reason, countsAsAttempt: countsAsAttempt, now: now, in: db)
                    return
                }
                try queue.markQuarantined(jobID: lease.jobID, leaseID: lease.leaseID, error: quarantine, now: now, in: db)
                // A follow-up of a foreground sync: not the source's last sync.
                try AuditLog.recordAttempt(
                    of: job, outcome: outcomeName, counts: counts, duration: ContinuousClock.now - started, error: reason,
                    asLastSync: false, at: now, in: db)
            }
        } catch {
            report.leaseLost = true
        }
        report.duration = ContinuousClock.now - started
        return report
    }

    /// A write that task cancellation (shutdown) cannot interrupt: GRDB's async accessors refuse
    /// to start in a cancelled task, but a job's final transition must still be written.
    private func write<T>(_ database: InletDatabase, _ updates: (Database) throws -> T) throws -> T {
        try database.pool.write(updates)
    }

    /// Job args as the plugin gets them: the job's JSON object.
    static func arguments(_ args: String) -> String { args.isEmpty ? "{}" : args }

    /// Enqueues the follow-up jobs a call asked for, in the transaction that commits its work.
    static func enqueueFollowUps(
        _ followUps: [StagedBatch.FollowUpJob], source: String, policy: RetryPolicy, queue: JobQueue, now: Date, in db: Database
    ) throws {
        for followUp in followUps {
            let outcome = try queue.enqueue(
                JobRequest(
                    source: source, kind: followUp.kind, args: followUp.args, priority: followUp.priority,
                    uniqueKey: followUp.uniqueKey, maxAttempts: policy.maxAttempts),
                now: now, bounded: false, in: db)
            if case .coalesced = outcome { InletMetrics.coalesced(source: source) }
        }
    }
}
