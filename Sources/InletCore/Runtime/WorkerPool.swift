import Foundation
import GRDB
import Logging
import ServiceLifecycle
import Synchronization

/// Leases due jobs (up to `workers` at once, within each source's capacity) and runs each on
/// its own task; the plugin call itself runs on a thread of its own. On graceful shutdown it
/// stops leasing, lets running jobs finish within `shutdown_grace`, then gives the rest back.
package final class WorkerPool: Service {
    private let orchestrator: Orchestrator
    private let queue: JobQueue
    private let runner: JobRunner
    private let wakeup: Wakeup
    private let workers: Int
    private let owner: String
    private let shutdownGrace: Duration
    private let clock: any ScheduleClock
    private let logger: Logger
    private let running = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    /// Leases this pool holds, with the live call of each running job: renewed together by one
    /// heartbeat transaction; a lost lease cancels its call.
    private let leases = Mutex<[Int64: Held]>([:])
    struct Held {
        var lease: Lease
        var call: PluginCall?
        /// The plugin call returned (or was abandoned): the job's outcome is being committed.
        var callEnded = false
    }
    /// Jobs leased ahead of a free worker, so one lease transaction serves many jobs, by priority
    /// then due time; and the jobs of each source started and not yet committed, which must stay
    /// within the source's `concurrency` (leased jobs of a busy source wait here).
    private let buffer = Mutex(LeaseBuffer())
    /// Jobs leased ahead beyond the workers' own (the pool holds at most `workers + leaseAhead`).
    private let leaseAhead: Int
    /// How much work (at a source's recent pace) may wait leased ahead per source: what a job
    /// queued behind them, such as a webhook, may have to wait.
    private let leaseAheadBudget: Duration

    package init(
        orchestrator: Orchestrator, queue: JobQueue, runner: JobRunner, wakeup: Wakeup, workers: Int, owner: String,
        shutdownGrace: Duration, clock: any ScheduleClock, logger: Logger, leaseAhead: Int = 32,
        leaseAheadBudget: Duration = .milliseconds(100)
    ) {
        self.leaseAhead = max(0, leaseAhead)
        self.leaseAheadBudget = leaseAheadBudget
        self.orchestrator = orchestrator
        self.queue = queue
        self.runner = runner
        self.wakeup = wakeup
        self.workers = workers
        self.owner = owner
        self.shutdownGrace = shutdownGrace
        self.clock = clock
        self.logger = logger
    }

    package func run() async throws {
        // Jobs a previous daemon held when it died run again now: their attempt counted, unless
        // the crash file names the one job whose plugin call crashed it.
        let (rescued, crashed) = try queue.rescueAtStart(
            owner: owner, sources: await orchestrator.config.sources, now: clock.now, logger: logger)
        InletMetrics.attemptsInterrupted(rescued.attempts)
        // A `create` that crashed the daemon would crash it again for every job of its source.
        for job in crashed.inCreate.sorted() {
            guard let source = try? queue.job(id: job)?.source else { continue }
            await orchestrator.createCrashed(source: source, job: job, signal: crashed.signals[job] ?? 0)
        }
        // Graceful shutdown stops leasing and lets running jobs finish; so does cancellation (the
        // group gave up on graceful shutdown), whose running jobs are cancelled as well.
        let stop: @Sendable () -> Void = {
            self.stopping.store(true, ordering: .sequentiallyConsistent)
            self.wakeup.signal()
        }
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                // A discarding group keeps no results: the daemon runs jobs forever.
                await withDiscardingTaskGroup { group in
                    let heartbeat = Task { await heartbeatLoop() }
                    await leaseLoop(group: &group)
                    await drain(group: &group)
                    heartbeat.cancel()
                }
                await releaseReady(of: nil)
            } onGracefulShutdown: {
                stop()
            }
        } onCancel: {
            stop()
        }
        await orchestrator.shutdown()
    }

    private func leaseLoop(group: inout DiscardingTaskGroup) async {
        let target = workers + leaseAhead
        var lastLease = ContinuousClock.now - .seconds(1)
        var runnable: Set<String>?
        while !stopping.load(ordering: .sequentiallyConsistent) {
            // Jobs leased ahead start at once on free workers; the buffer is refilled in batches
            // (one transaction, joined to the group commit of finishing jobs, leases many).
            var started = startReady(group: &group)
            let free = workers - running.load(ordering: .relaxed)
            let buffered = buffer.withLock { $0.ready.count }
            // Refill when the buffer runs low, when a free worker finds nothing it may start, and
            // at least every 20 ms while anything is asked for, so that a new webhook job is
            // leased (and sorted ahead of the buffered syncs) without waiting for the buffer to drain.
            let due = buffered <= target / 2 || free > 0 || ContinuousClock.now - lastLease >= .milliseconds(20)
            if due && buffered < target {
                lastLease = ContinuousClock.now
                let plan = await orchestrator.leasePlan(queue: queue, ahead: leaseAhead, budget: leaseAheadBudget)
                runnable = Set(plan.capacity.keys)
                for source in plan.paused { await releaseReady(of: source) }
                var leased: [Job] = []
                do {
                    // Inside the group commit of finishing jobs: one transaction, one WAL append for both.
                    let (queue, owner, now, leaseFor, wanted) = (queue, owner, clock.now, runner.leaseDuration, target - buffered)
                    leased = try await runner.group.write { db in
                        try queue.lease(capacity: plan.capacity, limit: wanted, owner: owner, now: now, leaseFor: leaseFor, in: db)
                    }
                } catch {
                    logger.error("cannot lease jobs: \(error)")
                }
                await orchestrator.started(leased)
                leases.withLock { held in for job in leased { held[job.id] = Held(lease: job.lease!) } }
                buffer.withLock { buffer in
                    buffer.concurrency = plan.concurrency
                    buffer.add(leased)
                }
                // Shutdown may have begun during the lease: what it brought is given back, not started.
                if stopping.load(ordering: .sequentiallyConsistent) { break }
                started += startReady(group: &group)
            }
            if running.load(ordering: .relaxed) >= workers {
                // Busy: every finishing job signals (and so does shutdown), so no timer is needed.
                await wakeup.wait()
            } else if started == 0 {
                // Idle: sleep until the next due job of a source with room (or an enqueue, a
                // finished job, a reload, shutdown).
                await wakeup.wait(timeout: await idleWait(sources: runnable))
            }
        }
    }

    /// Starts jobs leased ahead on the free workers, within their source's concurrency; returns
    /// how many started.
    private func startReady(group: inout DiscardingTaskGroup) -> Int {
        let free = workers - running.load(ordering: .relaxed)
        guard free > 0 else { return 0 }
        let starting = buffer.withLock { $0.take(upTo: free) }
        for job in starting {
            running.add(1, ordering: .relaxed)
            group.addTask { await self.execute(job) }
        }
        return starting.count
    }

    /// How long to sleep when there is nothing to do: until the next due job, at most a second
    /// (jobs enqueued by another process, such as `inlet jobs retry`, are noticed by polling).
    /// Sources with no room to lease are left out: their next job waits for one to finish.
    private func idleWait(sources: Set<String>?) async -> Duration {
        var candidates = await orchestrator.runnableSources
        if let sources { candidates.formIntersection(sources) }
        guard let next = try? queue.nextDueTime(sources: candidates) else { return .seconds(1) }
        let seconds = next.timeIntervalSince(clock.now)
        return .milliseconds(Int64(max(0, min(1, seconds)) * 1000))
    }

    private func execute(_ job: Job) async {
        let started = ContinuousClock.now
        // The worker is free once the plugin call is over: the next job starts while this one's
        // outcome waits for its group commit (its source's slot stays taken until then, and the
        // job is reported finished only after the commit).
        let worker = WorkerSlot { [self] in
            running.subtract(1, ordering: .relaxed)
            wakeup.signal()
        }
        defer { worker.free() }
        let prepared: (SourceConfig, ConnectorInstance)
        do {
            prepared = try await orchestrator.prepare(job)
        } catch let error where error is Orchestrator.SourceUnavailable || error is CancellationError {
            // Leased ahead before a reload or the watchdog took the source out, or the daemon
            // stopped while its instance was being created: back to the queue without counting
            // an attempt (it waits there, as the source's other jobs do).
            logger.notice("job \(job.id): \(error is CancellationError ? "the daemon is stopping" : "\(error)"): given back to the queue")
            leases.withLock { _ = $0.removeValue(forKey: job.id) }
            await giveBack([job])
            buffer.withLock { $0.ended(source: job.source) }
            wakeup.signal()
            return
        } catch {
            // No instance (create failed): an attempt of the job fails the usual way.
            let report = await failWithoutInstance(job, error: error, started: started)
            await finish(report, instance: nil)
            return
        }
        let report = await runner.run(
            job, instance: prepared.1, source: prepared.0,
            register: { call in self.leases.withLock { held in held[job.id]?.call = call } },
            ownHeartbeat: false,
            callEnded: {
                self.leases.withLock { held in held[job.id]?.callEnded = true }
                worker.free()
            })
        await finish(report, instance: prepared.1)
    }

    /// After a job's outcome committed: frees its source's slot; if the source no longer takes
    /// jobs (its breaker opened, the watchdog disabled it), gives back its jobs leased ahead.
    private func finish(_ report: JobRunner.Report, instance: ConnectorInstance?) async {
        let source = report.job.source
        leases.withLock { _ = $0.removeValue(forKey: report.job.id) }
        let admits = await orchestrator.finished(report, instance: instance)
        if !admits { await releaseReady(of: source) }
        // Other sources whose breaker this job's upstream reports opened.
        for paused in await orchestrator.takePaused() { await releaseReady(of: paused) }
        buffer.withLock { $0.ended(source: source) }
        wakeup.signal()
    }

    /// Renews every lease of the pool in one transaction, every third of the lease; a lost lease
    /// (cancelled, rescued) cancels its call, or drops its job if it has not started.
    private func heartbeatLoop() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: runner.leaseDuration / 3)
            if Task.isCancelled { return }
            let held = leases.withLock { $0 }
            guard !held.isEmpty else { continue }
            let lost: Set<Lease>
            do {
                lost = try queue.heartbeat(held.values.map(\.lease), now: clock.now, leaseFor: runner.leaseDuration)
            } catch {
                logger.error("cannot renew leases: \(error)")
                continue
            }
            let stillHeld = leases.withLock { Self.revoked(lost, held: $0) }
            for (id, entry) in held where stillHeld.contains(entry.lease) {
                logger.warning("job \(id): lease lost (cancelled or rescued): asking its plugin to stop")
                entry.call?.cancel()
                let dropped = buffer.withLock { $0.remove(jobID: id) }
                if let dropped {
                    leases.withLock { _ = $0.removeValue(forKey: id) }
                    await orchestrator.finished(
                        JobRunner.Report(job: dropped, outcome: .retry(message: "lease lost before start"), leaseLost: true), instance: nil)
                }
            }
        }
    }

    /// Which of the leases a heartbeat found `lost` were really taken away from a job of the pool
    /// (cancelled, rescued). A job whose outcome committed before the heartbeat ran is no longer
    /// running, so its lease is "lost" too; so is the lease of a job whose call has ended and whose
    /// outcome is being committed: that commit checks the lease itself (and logs a real loss).
    /// Both are left out, or every heartbeat of a busy daemon would warn of jobs that just finished.
    static func revoked(_ lost: Set<Lease>, held: [Int64: Held]) -> Set<Lease> {
        lost.filter { lease in
            guard let entry = held[lease.jobID] else { return false }
            return entry.lease == lease && !entry.callEnded
        }
    }

    /// Gives jobs leased ahead (of one source, or all at shutdown) back to the queue without
    /// counting an attempt: they never started.
    private func releaseReady(of source: String?) async {
        let pending = buffer.withLock { $0.removeReady(of: source) }
        guard !pending.isEmpty else { return }
        leases.withLock { held in for job in pending { held.removeValue(forKey: job.id) } }
        await giveBack(pending)
    }

    /// Gives leased jobs that never started back to the queue, attempt not counted, and frees
    /// their source's slots.
    private func giveBack(_ pending: [Job]) async {
        let now = clock.now
        do {
            // Not the async accessor: it refuses to start in a cancelled task (shutdown).
            try Self.writeNow(queue.database) { [queue] db in
                for job in pending {
                    guard let lease = job.lease else { continue }
                    // A lease lost meanwhile (rescued, cancelled) is not ours to give back.
                    guard (try? queue.verify(lease, in: db)) != nil else { continue }
                    try queue.markRetry(lease, runAt: now, error: nil, countsAsAttempt: false, now: now, in: db)
                }
            }
        } catch {
            logger.error("cannot give back \(pending.count) job(s) leased ahead: \(error); they run again when their lease expires")
        }
        await orchestrator.released(pending)
    }

    /// An attempt of `job` that failed before its plugin call, for want of an instance: the
    /// connector refused its config (FAILED: quarantined; the orchestrator stops the source),
    /// its `create` answered RETRY or RATE_LIMITED (as a call's would), did not return in time
    /// (a timeout), or the host could not prepare it (a retry). It goes by the source's retry policy, with its audit row, metric and last sync,
    /// as a job the plugin ran would.
    private func failWithoutInstance(_ job: Job, error: any Error, started: ContinuousClock.Instant) async -> JobRunner.Report {
        let message = "\(error)"
        let outcome: JobOutcome
        if let refused = error as? PluginError, refused.code == .createFailed || refused.code == .unknownConnector {
            outcome = .failed(message: message)
        } else if let deferred = error as? PluginError, deferred.code == .createDeferred, let wait = deferred.retryAfter {
            outcome = .rateLimited(retryAfter: wait, message: message)
        } else if error is Orchestrator.CreateTimedOut {
            outcome = .timedOut(message: message)
        } else {
            outcome = .retry(message: message)
        }
        var report = JobRunner.Report(job: job, outcome: outcome)
        guard let lease = job.lease else { return report }
        var policy = RetryPolicy(await orchestrator.config.source(named: job.source)?.retry ?? .init())
        policy.maxAttempts = job.maxAttempts
        var random = SystemRandomNumberGenerator()
        let decision = policy.decision(for: outcome, attempt: job.attempts, random: &random)
        report.decision = decision
        let now = clock.now
        let outcomeName = report.outcomeName
        let duration = ContinuousClock.now - started
        do {
            try await queue.database.pool.write { [queue] db in
                try queue.verify(lease, in: db)
                try queue.markFailedAttempt(lease, decision: decision, lastError: outcome.lastError, now: now, in: db)
                try AuditLog.recordAttempt(
                    of: job, outcome: outcomeName, duration: duration, error: outcome.lastError, quarantined: decision.quarantines, at: now, in: db)
            }
        } catch {
            report.leaseLost = true
            logger.warning("job \(job.id) of '\(job.source)': \(message); its lease was lost meanwhile: nothing recorded")
            return report
        }
        report.duration = duration
        switch decision {
        case .retryAfter(let delay, _):
            logger.error("job \(job.id) of '\(job.source)' (attempt \(job.attempts)/\(job.maxAttempts)): \(message); retry in \(ProgressLine.format(delay))")
        case .quarantine(let reason):
            logger.error("job \(job.id) of '\(job.source)' (attempt \(job.attempts)/\(job.maxAttempts)): quarantined: \(reason)")
        case .complete:
            break
        }
        InletMetrics.jobFinished(source: job.source, kind: job.kind, outcome: outcomeName, duration: duration)
        return report
    }

    /// Waits for running jobs up to the grace, then cancels the rest (they give their jobs back).
    private func drain(group: inout DiscardingTaskGroup) async {
        let inFlight = running.load(ordering: .relaxed)
        guard inFlight > 0 else { return }
        logger.notice("shutting down: waiting up to \(DurationFormat.string(from: shutdownGrace)) for \(inFlight) running job(s)")
        let deadline = ContinuousClock.now + shutdownGrace
        while running.load(ordering: .relaxed) > 0, ContinuousClock.now < deadline {
            await wakeup.wait(timeout: min(.milliseconds(250), deadline - ContinuousClock.now))
        }
        if running.load(ordering: .relaxed) > 0 {
            logger.notice("grace over: releasing \(running.load(ordering: .relaxed)) job(s) to run again at the next start")
            group.cancelAll()
        }
    }
}

/// A worker's place in the pool, given back exactly once: when its job's plugin call ends, or
/// when the job ends without one.
private final class WorkerSlot: Sendable {
    private let held = Atomic<Bool>(true)
    private let release: @Sendable () -> Void

    init(release: @escaping @Sendable () -> Void) {
        self.release = release
    }

    func free() {
        if held.exchange(false, ordering: .acquiringAndReleasing) { release() }
    }
}

extension WorkerPool {
    /// A write that task cancellation (shutdown) cannot interrupt: GRDB's async accessors refuse
    /// to start in a cancelled task, but jobs leased ahead must still be given back.
    fileprivate static func writeNow<T>(_ database: InletDatabase, _ updates: (Database) throws -> T) throws -> T {
        try database.pool.write(updates)
    }
}
