import Foundation
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
    private let leases = Mutex<[Int64: (lease: Lease, call: PluginCall?)]>([:])
    /// Jobs leased ahead of a free worker (at most `workers`), so one lease transaction serves
    /// several jobs. They count as running for their source's concurrency.
    private let ready = Mutex<[Job]>([])

    package init(
        orchestrator: Orchestrator, queue: JobQueue, runner: JobRunner, wakeup: Wakeup, workers: Int, owner: String,
        shutdownGrace: Duration, clock: any ScheduleClock, logger: Logger
    ) {
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
        // Jobs a previous daemon held when it died run again now (their attempt counted).
        let rescued = try queue.rescue(now: clock.now, notOwnedBy: owner)
        if !rescued.requeued.isEmpty || !rescued.quarantined.isEmpty {
            logger.notice("recovered jobs of a previous run: \(rescued.requeued.count) requeued, \(rescued.quarantined.count) quarantined (out of attempts)")
        }
        await withGracefulShutdownHandler {
            // A discarding group keeps no results: the daemon runs jobs forever.
            await withDiscardingTaskGroup { group in
                let heartbeat = Task { await heartbeatLoop() }
                await leaseLoop(group: &group)
                await drain(group: &group)
                heartbeat.cancel()
            }
            await releaseReady()
        } onGracefulShutdown: {
            self.stopping.store(true, ordering: .sequentiallyConsistent)
            self.wakeup.signal()
        }
        await orchestrator.shutdown()
    }

    private func leaseLoop(group: inout DiscardingTaskGroup) async {
        while !stopping.load(ordering: .sequentiallyConsistent) {
            let free = workers - running.load(ordering: .relaxed)
            var leased: [Job] = []
            let buffered = ready.withLock { $0.count }
            // Lease for the free workers and as many ahead, in one transaction.
            let wanted = free + workers - buffered
            if free > 0 && wanted > 0 {
                let capacity = await orchestrator.capacity(queue: queue)
                do {
                    leased = try queue.lease(capacity: capacity, limit: wanted, owner: owner, now: clock.now, leaseFor: runner.leaseDuration)
                } catch {
                    logger.error("cannot lease jobs: \(error)")
                }
                await orchestrator.started(leased)
                if !leased.isEmpty {
                    leases.withLock { held in for job in leased { held[job.id] = (job.lease!, nil) } }
                    ready.withLock { $0 += leased }
                }
            }
            let starting = ready.withLock { ready -> [Job] in
                let count = min(max(0, free), ready.count)
                defer { ready.removeFirst(count) }
                return Array(ready.prefix(count))
            }
            for job in starting {
                running.add(1, ordering: .relaxed)
                group.addTask { await self.execute(job) }
            }
            if running.load(ordering: .relaxed) >= workers {
                // Busy: every finishing job signals (and so does shutdown), so no timer is needed.
                await wakeup.wait()
            } else if starting.isEmpty {
                // Idle: sleep until the next due job (or an enqueue, a reload, shutdown).
                await wakeup.wait(timeout: await idleWait())
            }
        }
    }

    /// How long to sleep when there is nothing to do: until the next due job, at most a second
    /// (jobs enqueued by another process, such as `inlet jobs retry`, are noticed by polling).
    private func idleWait() async -> Duration {
        let sources = await orchestrator.runnableSources
        guard let next = try? queue.nextDueTime(sources: sources) else { return .seconds(1) }
        let seconds = next.timeIntervalSince(clock.now)
        return .milliseconds(Int64(max(0, min(1, seconds)) * 1000))
    }

    private func execute(_ job: Job) async {
        defer {
            running.subtract(1, ordering: .relaxed)
            wakeup.signal()
        }
        let prepared: (SourceConfig, ConnectorInstance)
        do {
            prepared = try await orchestrator.prepare(job)
        } catch {
            // No instance (create failed): an attempt of the job fails the usual way.
            let report = await failWithoutInstance(job, error: error)
            await orchestrator.finished(report, instance: nil)
            return
        }
        let report = await runner.run(
            job, instance: prepared.1, source: prepared.0,
            register: { call in self.leases.withLock { held in held[job.id]?.call = call } },
            ownHeartbeat: false)
        leases.withLock { _ = $0.removeValue(forKey: job.id) }
        await orchestrator.finished(report, instance: prepared.1)
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
            for (id, entry) in held where lost.contains(entry.lease) {
                logger.warning("job \(id): lease lost (cancelled or rescued): asking its plugin to stop")
                entry.call?.cancel()
                let dropped = ready.withLock { ready -> Job? in
                    guard let index = ready.firstIndex(where: { $0.id == id }) else { return nil }
                    return ready.remove(at: index)
                }
                if let dropped {
                    leases.withLock { _ = $0.removeValue(forKey: id) }
                    await orchestrator.finished(
                        JobRunner.Report(job: dropped, outcome: .retry(message: "lease lost before start"), leaseLost: true), instance: nil)
                }
            }
        }
    }

    /// At shutdown, gives jobs leased ahead back to the queue without counting an attempt.
    private func releaseReady() async {
        let pending = ready.withLock { ready in
            defer { ready.removeAll() }
            return ready
        }
        guard !pending.isEmpty else { return }
        let now = clock.now
        do {
            try await queue.database.pool.write { [queue] db in
                for job in pending {
                    guard let lease = job.lease else { continue }
                    try? queue.verify(lease, in: db)
                    try queue.markRetry(lease, runAt: now, error: nil, countsAsAttempt: false, now: now, in: db)
                }
            }
        } catch {
            logger.error("cannot give back \(pending.count) job(s) leased ahead: \(error); they run again when their lease expires")
        }
    }

    private func failWithoutInstance(_ job: Job, error: any Error) async -> JobRunner.Report {
        logger.error("job \(job.id) of '\(job.source)': \(error)")
        var report = JobRunner.Report(job: job, outcome: .retry(message: "\(error)"))
        guard let lease = job.lease else { return report }
        let message = "\(error)"
        let permanent = (error as? PluginError).map { $0.code == .createFailed || $0.code == .unknownConnector } ?? false
        let now = clock.now
        do {
            try await queue.database.pool.write { db in
                try queue.verify(lease, in: db)
                if permanent || job.attempts >= job.maxAttempts {
                    try queue.markQuarantined(jobID: job.id, leaseID: lease.leaseID, error: message, now: now, in: db)
                } else {
                    try queue.markRetry(lease, runAt: now.addingTimeInterval(Double(min(60, 1 << min(job.attempts, 6)))),
                                        error: message, countsAsAttempt: true, now: now, in: db)
                }
                try AuditLog.append(
                    AuditLog.Entry(jobID: job.id, source: job.source, kind: job.kind, attempt: job.attempts, outcome: "failed",
                                   durationMilliseconds: 0, error: message, finishedAt: now),
                    in: db)
            }
            if permanent { report.outcome = .failed(message: message) }
        } catch {
            report.leaseLost = true
        }
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
