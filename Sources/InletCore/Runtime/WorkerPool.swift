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
                await leaseLoop(group: &group)
                await drain(group: &group)
            }
        } onGracefulShutdown: {
            self.stopping.store(true, ordering: .sequentiallyConsistent)
            self.wakeup.signal()
        }
        await orchestrator.shutdown()
    }

    private func leaseLoop(group: inout DiscardingTaskGroup) async {
        while !stopping.load(ordering: .sequentiallyConsistent) {            let free = workers - running.load(ordering: .relaxed)
            var leased: [Job] = []
            if free > 0 {
                let capacity = await orchestrator.capacity(queue: queue)
                do {
                    leased = try queue.lease(capacity: capacity, limit: free, owner: owner, now: clock.now, leaseFor: runner.leaseDuration)
                } catch {
                    logger.error("cannot lease jobs: \(error)")
                }
                await orchestrator.started(leased)
            }
            for job in leased {
                running.add(1, ordering: .relaxed)
                group.addTask { await self.execute(job) }
            }
            if running.load(ordering: .relaxed) >= workers {
                // Busy: a finishing job wakes the loop.
                await wakeup.wait(timeout: .seconds(1))
            } else if leased.isEmpty {
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
        let report = await runner.run(job, instance: prepared.1, source: prepared.0)
        await orchestrator.finished(report, instance: prepared.1)
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
