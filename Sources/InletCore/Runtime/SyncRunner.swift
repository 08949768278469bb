import Foundation
import Logging

/// Runs one job of a source in the foreground: calls the plugin on its own thread, then commits
/// what it staged together with its state in one transaction when it returns OK, or discards it.
/// Used by `inlet sync`; the daemon's workers use the same commit rule.
package struct SyncRunner: Sendable {
    package let database: InletDatabase
    package let logger: Logger
    package let followUps: FollowUps

    /// Where the follow-up jobs a sync asks for go.
    package enum FollowUps: Sendable {
        /// Kept in memory and run at once, in this process only.
        case inMemory
        /// Queued in the jobs table in the transaction that commits them (as the daemon's
        /// workers do), then leased and run here with the source's retry policy: a kill -9
        /// leaves them queued, for the next `inlet sync` or the daemon. `owner` names the leases.
        case queued(JobQueue, SourceConfig, owner: String)
    }

    package init(database: InletDatabase, logger: Logger, followUps: FollowUps = .inMemory) {
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
        /// Follow-up jobs left queued (to run later, after a failed attempt), with queued follow-ups.
        package var followUpsWaiting = 0
        /// The user cut the run short (Ctrl-C) before the plugin finished.
        package var interrupted = false

        package init(source: String, status: PluginStatus, message: String? = nil, retryAfter: Duration? = nil) {
            self.source = source
            self.status = status
            self.message = message
            self.retryAfter = retryAfter
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
    /// unique key), each committed on its own.
    /// - Parameters:
    ///   - observe: receives the live call, so a caller can show progress or cancel it.
    ///   - interrupted: true once the user asked to stop: no further follow-up job starts.
    package func run(
        instance: ConnectorInstance, kind: String = "sync", args: String = "{}", dryRun: Bool = false,
        interrupted: @Sendable () -> Bool = { false }, observe: @Sendable (PluginCall) -> Void = { _ in }
    ) async -> Result {
        var result = await runOne(instance: instance, kind: kind, args: args, dryRun: dryRun, observe: observe)
        guard result.status == .ok, !dryRun else { return result }
        if case .queued(let queue, let source, let owner) = followUps {
            return await runQueued(
                result, instance: instance, queue: queue, source: source, owner: owner, interrupted: interrupted, observe: observe)
        }
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
            let next = await runOne(instance: instance, kind: job.kind, args: job.args, dryRun: false, observe: observe)
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
    /// worker runs a job (attempts, retries, quarantine, audit), until none is due; those
    /// waiting for a retry stay queued.
    private func runQueued(
        _ first: Result, instance: ConnectorInstance, queue: JobQueue, source: SourceConfig, owner: String,
        interrupted: @Sendable () -> Bool, observe: @Sendable (PluginCall) -> Void
    ) async -> Result {
        var result = first
        let runner = JobRunner(queue: queue, clock: SystemScheduleClock(), logger: logger)
        var ran = 0
        while ran < Self.followUpLimit, !interrupted() {
            let job: Job
            do {
                guard let next = try queue.leaseFollowUp(source: source.name, owner: owner, now: Date(), leaseFor: runner.leaseDuration)
                else { break }
                job = next
            } catch {
                result.status = .retry
                result.message = "cannot lease a follow-up job: \(error)"
                break
            }
            ran += 1
            let report = await runner.run(job, instance: instance, source: source, register: { call in if let call { observe(call) } })
            result.counts = result.counts + report.counts
            result.duration += report.duration
            if report.outcome != .succeeded, result.status == .ok {
                // The first failure is the run's; the job itself retries (or is quarantined) as
                // a daemon's would, and the other follow-ups still run.
                result.status = Self.status(of: report.outcome)
                result.message = "follow-up \(job.kind) (job \(job.id)): \(report.outcome.lastError ?? "")"
            }
        }
        if ran >= Self.followUpLimit { logger.warning("stopping after \(Self.followUpLimit) follow-up jobs of \(source.name)") }
        result.followUpsRun = ran
        result.followUpsWaiting = (try? queue.waitingFollowUps(source: source.name)) ?? 0
        return result
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

    /// Commits a batch; with queued follow-ups, its follow-up jobs are queued in the same
    /// transaction (a checkpoint never commits without the jobs it asked for).
    private func saving(committer: BatchCommitter, source: String) -> @Sendable (StagedBatch) throws -> BatchCommitter.Report {
        guard case .queued(let queue, let config, _) = followUps else {
            return { batch in try committer.commit(batch, source: source) }
        }
        let policy = RetryPolicy(config.retry)
        return { batch in
            try queue.database.pool.write { db in
                let now = Date()
                let report = try committer.apply(batch, source: source, now: now, in: db)
                try JobRunner.enqueueFollowUps(report.followUps, source: source, policy: policy, queue: queue, now: now, in: db)
                return report
            }
        }
    }

    private func runOne(
        instance: ConnectorInstance, kind: String, args: String, dryRun: Bool, observe: @Sendable (PluginCall) -> Void
    ) async -> Result {
        let started = ContinuousClock.now
        let committer = BatchCommitter(database: database)
        let source = instance.source
        let save = saving(committer: committer, source: source)
        let commit: (@Sendable (StagedBatch) throws -> BatchCommitter.Report)? = dryRun ? nil : save
        var callLogger = logger
        callLogger[metadataKey: "source"] = "\(source)"
        let call = PluginCall(
            source: source, mode: .job(commit: commit), logger: callLogger,
            documents: committer.documents, state: committer.state, http: instance.http)
        observe(call)
        let outcome = await instance.sync(kind: kind, args: args, call: call)

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

