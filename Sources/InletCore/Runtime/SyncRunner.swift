import Foundation
import Logging
import Synchronization

/// Runs one job of a source in the foreground: calls the plugin on its own thread, then commits
/// what it staged together with its state in one transaction when it returns OK, or discards it.
/// Used by `inlet sync`; the daemon's workers use the same commit rule.
package struct SyncRunner: Sendable {
    package let database: InletDatabase
    package let logger: Logger
    package let followUps: FollowUps
    /// The source's `timeout` and the watchdog's `cancel_grace` for the sync call itself, as a
    /// worker has them (nil: no limit, for tests and embedding).
    package let limits: Limits?

    /// How long a foreground call may run: past `timeout` it is cancelled; past `grace` more (or
    /// `grace` after a Ctrl-C it ignores) it is abandoned on its thread and nothing more of it commits.
    package struct Limits: Sendable {
        package var timeout: Duration
        package var grace: Duration
        package init(timeout: Duration, grace: Duration) {
            self.timeout = timeout
            self.grace = grace
        }
    }

    /// Where the follow-up jobs a sync asks for go.
    package enum FollowUps: Sendable {
        /// Kept in memory and run at once, in this process only (tests, embedding).
        case inMemory
        /// Queued in the jobs table in the transaction that commits them, as the daemon's workers
        /// do, then leased and run here one at a time as a worker runs a job: a kill -9 leaves
        /// them queued for the next `inlet sync` or the daemon.
        case queued(QueuedFollowUps)
    }

    /// How a foreground sync runs its follow-up jobs from the queue.
    package struct QueuedFollowUps: Sendable {
        package var queue: JobQueue
        /// The source's settings: retry policy, timeout.
        package var source: SourceConfig
        /// Names this process's leases (unique per process: its start-up rescue takes back
        /// every running job, which only a stopped process can have left).
        package var owner: String
        package var watchdog: InletConfig.Watchdog

        package init(queue: JobQueue, source: SourceConfig, owner: String, watchdog: InletConfig.Watchdog) {
            self.queue = queue
            self.source = source
            self.owner = owner
            self.watchdog = watchdog
        }
    }

    package init(database: InletDatabase, logger: Logger, followUps: FollowUps = .inMemory, limits: Limits? = nil) {
        self.limits = limits
        self.database = database
        self.logger = logger
        self.followUps = followUps
    }

    /// What one sync did (or, dry, would do).
    package struct Result: Sendable {
        package var source: String
        package var status: PluginStatus
        package var message: String?
        package var retryAfter: Duration?
        /// Committed changes (checkpoints included); in a dry run, the changes it would make.
        package var counts = CommitCounts()
        /// Items the plugin reported processing, of how many.
        package var processed: UInt64 = 0
        package var total: UInt64 = 0
        /// Emits the host refused (bad key, bad metadata, …).
        package var rejected = 0
        package var duration: Duration = .zero
        package var dryRun = false
        /// Per key, the planned change, for a dry run (changed keys only).
        package var plannedChanges: [(key: String, change: DocumentChange)] = []
        /// Follow-up jobs that ran after the sync.
        package var followUpsRun = 0
        /// Follow-up jobs committed by this call, not yet run.
        package var followUps: [StagedBatch.FollowUpJob] = []
        /// Follow-up jobs left queued (after an interrupt, a stuck call or a rate limit, or waiting
        /// to retry), with follow-ups queued.
        package var followUpsWaiting = 0
        /// How the sync itself ended, before its follow-ups (what a source's last sync records:
        /// the daemon records only its `sync` jobs too).
        package var syncStatus: PluginStatus
        package var syncMessage: String?
        /// The user cut the run short (Ctrl-C) before the plugin finished.
        package var interrupted = false

        package init(source: String, status: PluginStatus, message: String? = nil, retryAfter: Duration? = nil) {
            self.source = source
            self.status = status
            self.message = message
            self.retryAfter = retryAfter
            self.syncStatus = status
            self.syncMessage = message
        }

        /// Items that failed: quarantined by the plugin or refused by the host.
        package var failed: Int { counts.quarantined + rejected }
        /// Items processed that wrote nothing. A run that did not finish counts only the items
        /// it processed, not the rest of the total the plugin announced.
        package var unchanged: Int {
            let reached = status == .ok && total > 0 ? total : processed
            let seen = max(Int(reached), counts.written + counts.unchanged + failed)
            return max(0, seen - counts.written - failed)
        }
    }

    /// Runs `kind` with `args` on `instance`, then every follow-up job it enqueued (coalesced by
    /// unique key), each committed on its own. Follow-ups run only after a sync that ended OK.
    /// - Parameters:
    ///   - interrupted: true once the user asked to stop (the caller cancels the live call): no
    ///     further follow-up job starts, and a queued one cut short goes back uncounted.
    ///   - observe: receives the live call, so a caller can show progress or cancel it.
    package func run(
        instance: ConnectorInstance, kind: String = "sync", args: String = "{}", dryRun: Bool = false,
        interrupted: @escaping @Sendable () -> Bool = { false }, observe: @escaping @Sendable (PluginCall) -> Void = { _ in }
    ) async -> Result {
        let started = Date()
        var result = await runOne(instance: instance, kind: kind, args: args, dryRun: dryRun, interrupted: interrupted, observe: observe)
        if case .queued(let plan) = followUps, !dryRun {
            if result.status == .ok {
                result = await runQueued(after: result, since: started, instance: instance, plan: plan, interrupted: interrupted, observe: observe)
            }
            // Also after a failed sync: its checkpoints may have queued some.
            result.followUpsWaiting = (try? plan.queue.waitingFollowUps(source: plan.source.name)) ?? 0
            if result.status == .ok, interrupted(), result.followUpsWaiting > 0 {
                // Stopped between two follow-ups: the run did not finish what it had to do.
                result.status = .retry
                result.message = "\(result.followUpsWaiting) follow-up jobs stay queued"
            }
            return result
        }
        guard result.status == .ok, !dryRun else { return result }
        var queue = result.followUps
        var seenKeys = Set<String>()
        var ran = 0
        while !queue.isEmpty, result.status == .ok {
            let job = queue.removeFirst()
            if let key = job.uniqueKey, !seenKeys.insert(key).inserted { continue }
            if ran >= Self.followUpLimit {
                logger.warning("stopping after \(Self.followUpLimit) follow-up jobs of \(instance.source)")
                break
            }
            ran += 1
            let next = await runOne(instance: instance, kind: job.kind, args: job.args, dryRun: false, interrupted: interrupted, observe: observe)
            result.counts = result.counts + next.counts
            result.rejected += next.rejected
            result.duration += next.duration
            queue.append(contentsOf: next.followUps)
            if next.status != .ok {
                result.status = next.status
                result.message = "follow-up \(job.kind): \(next.message ?? "")"
            }
        }
        result.followUpsRun = ran
        return result
    }

    /// A bound on follow-ups in the foreground, so a connector that enqueues itself ends.
    static let followUpLimit = 100_000

    /// Runs the source's due follow-up jobs from the queue, one at a time, each as a daemon's
    /// worker runs a job (attempts, timeout, retries, quarantine, audit row), until none is due.
    /// One that fails goes back to the queue to retry after its backoff (or to quarantine) and
    /// the others run on; a rate limit or a call abandoned past its grace stops the loop (the
    /// rest stay queued). A discovery (`sync` job) asked for since `since` runs once.
    private func runQueued(
        after first: Result, since: Date, instance: ConnectorInstance, plan: QueuedFollowUps,
        interrupted: @escaping @Sendable () -> Bool, observe: @escaping @Sendable (PluginCall) -> Void
    ) async -> Result {
        var result = first
        let runner = JobRunner(
            queue: plan.queue, clock: SystemScheduleClock(), logger: logger, watchdog: plan.watchdog, finishedLevel: .debug)
        var ran = 0
        var syncsSince: Date? = since
        while !interrupted() {
            if ran >= Self.followUpLimit {
                logger.warning("stopping after \(Self.followUpLimit) follow-up jobs of \(plan.source.name); the rest stay queued")
                break
            }
            let job: Job
            do {
                guard let next = try plan.queue.leaseFollowUp(
                    source: plan.source.name, syncsSince: syncsSince, owner: plan.owner, now: Date(), leaseFor: runner.leaseDuration)
                else { break }
                job = next
            } catch {
                result.status = .retry
                result.message = "cannot lease a follow-up job: \(error)"
                break
            }
            if job.kind == "sync" { syncsSince = nil }
            let report = await run(job, runner: runner, instance: instance, plan: plan, interrupted: interrupted, observe: observe)
            result.counts = result.counts + report.counts
            result.rejected += report.rejected
            result.duration += report.duration
            if report.interrupted {
                result.status = .retry
                if case .quarantine? = report.decision {
                    result.message = "during follow-up \(job.kind) (job \(job.id)), quarantined: it had timed out at its last attempt"
                } else {
                    result.message = "during follow-up \(job.kind) (job \(job.id)), which stays queued"
                }
                break
            }
            ran += 1
            if report.outcome != .succeeded, result.status == .ok {
                // The first failure is the run's; the job itself retries (or is quarantined) as
                // a daemon's would.
                result.status = Self.status(of: report.outcome)
                result.message = "follow-up \(job.kind) (job \(job.id)): \(report.outcome.lastError ?? "")"
                if case .rateLimited(let wait, _) = report.outcome { result.retryAfter = wait }
            }
            if report.stuck {
                // The call still holds the instance: every later one would wait for it and time out.
                logger.error("follow-up \(job.kind) (job \(job.id)) did not return: the other follow-ups stay queued")
                break
            }
            if case .rateLimited = report.outcome { break }
        }
        result.followUpsRun = ran
        return result
    }

    /// Runs one leased follow-up. After a Ctrl-C its call is cancelled; one that has not
    /// returned `watchdog.cancel_grace` later is given up on (the job goes back uncounted), as at
    /// a daemon's shutdown, rather than waiting out the job's whole timeout.
    private func run(
        _ job: Job, runner: JobRunner, instance: ConnectorInstance, plan: QueuedFollowUps,
        interrupted: @escaping @Sendable () -> Bool, observe: @escaping @Sendable (PluginCall) -> Void
    ) async -> JobRunner.Report {
        await withTaskGroup(of: JobRunner.Report?.self) { group in
            group.addTask {
                await runner.run(
                    job, instance: instance, source: plan.source,
                    register: { call in
                        guard let call else { return }
                        observe(call)
                        // A Ctrl-C between the lease and here found no call to cancel.
                        if interrupted() { call.cancel() }
                    },
                    interrupted: interrupted)
            }
            group.addTask {
                while !interrupted() {
                    try? await Task.sleep(for: .milliseconds(100))
                    if Task.isCancelled { return nil }
                }
                try? await Task.sleep(for: plan.watchdog.cancelGrace)
                return nil
            }
            var report: JobRunner.Report?
            for await ended in group {
                // The first to end stops the other: the call ended, or the grace after Ctrl-C did.
                group.cancelAll()
                if let ended { report = ended }
            }
            return report!
        }
    }

    /// The plugin status a job outcome stands for, in the summary.
    private static func status(of outcome: JobOutcome) -> PluginStatus {
        switch outcome {
        case .succeeded: .ok
        case .rateLimited: .rateLimited
        case .failed: .failed
        case .retry, .crashed, .timedOut: .retry
        }
    }

    /// Commits a batch; with queued follow-ups, the follow-up jobs it asks for are queued in the
    /// same transaction (a checkpoint never commits without the jobs it asked for).
    /// How a foreground call ended.
    private enum CallEnd {
        case returned(ConnectorInstance.CallResult)
        /// It returned, but only after being cancelled at its timeout.
        case returnedAfterTimeout(ConnectorInstance.CallResult)
        /// It did not return within the grace after its timeout or a Ctrl-C: left on its thread.
        case abandoned(String)
    }

    private struct AbandonedCall: Error, CustomStringConvertible {
        var description: String { "the call was abandoned (timeout or Ctrl-C): nothing more of it commits" }
    }

    /// Waits for the call within `limits`: cancels it at its timeout or at a Ctrl-C, and gives
    /// it up `grace` later. Without limits it waits as long as it runs (a Ctrl-C cancels it).
    private func wait(
        for watch: CallWatch, call: PluginCall, logger: Logger, interrupted: @escaping @Sendable () -> Bool
    ) async -> CallEnd {
        guard let limits else {
            // No deadline; a Ctrl-C is the caller's to pass on (it cancels the live call).
            while !Task.isCancelled {
                if let result = await watch.wait(upTo: .seconds(3600)) { return .returned(result) }
            }
            call.cancel()
            return .abandoned("the run was cancelled")
        }
        let started = ContinuousClock.now
        var timedOut = false
        var cancelledAt: ContinuousClock.Instant?
        while !Task.isCancelled {
            if let result = await watch.wait(upTo: .milliseconds(100)) {
                return timedOut ? .returnedAfterTimeout(result) : .returned(result)
            }
            let now = ContinuousClock.now
            if cancelledAt == nil, now - started >= limits.timeout {
                timedOut = true
                cancelledAt = now
                logger.warning("timed out after \(DurationFormat.string(from: limits.timeout)): asking the plugin to stop")
                call.cancel()
            } else if cancelledAt == nil, interrupted() {
                cancelledAt = now
                call.cancel()
            }
            if let cancelledAt, now - cancelledAt >= limits.grace {
                let why = timedOut
                    ? "no answer within timeout \(DurationFormat.string(from: limits.timeout)) + grace \(DurationFormat.string(from: limits.grace)); call abandoned"
                    : "no answer within \(DurationFormat.string(from: limits.grace)) of the interrupt; call abandoned"
                logger.error("the plugin call did not return: \(why)")
                return .abandoned(why)
            }
        }
        call.cancel()
        return .abandoned("the run was cancelled")
    }

    private func saving(committer: BatchCommitter, source: String) -> @Sendable (StagedBatch) throws -> BatchCommitter.Report {
        guard case .queued(let plan) = followUps else { return { batch in try committer.commit(batch, source: source) } }
        let policy = RetryPolicy(plan.source.retry)
        return { batch in
            try plan.queue.database.pool.write { db in
                let now = Date()
                let report = try committer.apply(batch, source: source, now: now, in: db)
                try JobRunner.enqueueFollowUps(report.followUps, source: source, policy: policy, queue: plan.queue, now: now, in: db)
                return report
            }
        }
    }

    private func runOne(
        instance: ConnectorInstance, kind: String, args: String, dryRun: Bool, interrupted: @escaping @Sendable () -> Bool,
        observe: @Sendable (PluginCall) -> Void
    ) async -> Result {
        let started = ContinuousClock.now
        let committer = BatchCommitter(database: database)
        let source = instance.source
        // A call given up on may still run on its thread: nothing of it commits any more. The
        // check and the commit are one step under the lock, which the abandon takes too, so a
        // checkpoint under way when the call is abandoned is over before the run reports.
        let abandoned = Mutex(false)
        let saveAll = saving(committer: committer, source: source)
        let save: @Sendable (StagedBatch) throws -> BatchCommitter.Report = { batch in
            try abandoned.withLock { isAbandoned in
                guard !isAbandoned else { throw AbandonedCall() }
                return try saveAll(batch)
            }
        }
        let commit: (@Sendable (StagedBatch) throws -> BatchCommitter.Report)? = dryRun ? nil : save
        var callLogger = logger
        callLogger[metadataKey: "source"] = "\(source)"
        let call = PluginCall(
            source: source, mode: .job(commit: commit), logger: callLogger,
            documents: committer.documents, state: committer.state, http: instance.http)
        observe(call)
        let watch = CallWatch()
        instance.startSync(kind: kind, args: args, call: call) { watch.finish($0) }
        let outcome: ConnectorInstance.CallResult
        switch await wait(for: watch, call: call, logger: callLogger, interrupted: interrupted) {
        case .returned(let returned):
            outcome = returned
        case .returnedAfterTimeout(let returned):
            // As a worker's: cancelled at the timeout, what it staged since its last checkpoint is not kept.
            outcome = ConnectorInstance.CallResult(
                status: .retry, message: "timed out after \(DurationFormat.string(from: limits?.timeout ?? .zero)) and cancelled"
                    + (returned.status == .ok ? " (it returned OK only then)" : ": \(returned.message ?? "\(returned.status)")"))
        case .abandoned(let why):
            abandoned.withLock { $0 = true }
            outcome = ConnectorInstance.CallResult(status: .retry, message: why)
        }

        var result = Result(source: source, status: outcome.status, message: outcome.message, retryAfter: outcome.retryAfter)
        result.dryRun = dryRun
        for report in call.checkpoints {
            result.counts = result.counts + report.counts
            result.followUps += report.followUps
        }
        if outcome.status == .ok {
            let batch = call.takeStaged()
            do {
                let report = dryRun ? try committer.commit(batch, source: source, dryRun: true) : try save(batch)
                result.counts = result.counts + report.counts
                result.followUps += report.followUps
                if dryRun { result.plannedChanges = report.changes.filter { $0.change != .unchanged && $0.change != .alreadyDeleted } }
            } catch {
                result.status = .retry
                result.message = "\(error)"
                result.syncStatus = .retry
                result.syncMessage = result.message
            }
        }
        let progress = call.progress
        result.processed = progress.done
        result.total = progress.total
        result.rejected = progress.rejected
        result.duration = ContinuousClock.now - started
        return result
    }
}
