import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Fires each source's schedule (`every 5m` or cron) by enqueueing a sync, with a little jitter
/// so sources do not all fire at once. After downtime a source runs once, not once per missed
/// tick; a tick while the source's sync is queued or running coalesces.
package final class SchedulerService: Service {
    private let queue: JobQueue
    private let status: SourceStatusRecorder
    private let clock: any ScheduleClock
    private let logger: Logger
    private let wakeup = Wakeup()
    /// The schedules in force; replaced by `reload`.
    private let schedules: Mutex<[String: (schedule: SourceSchedule, maxAttempts: Int)]>
    /// Next fire per source.
    private let nextFires = Mutex<[String: Date]>([:])
    /// Sources whose stored next run no longer holds (left the schedule, or cannot run): cleared
    /// at the next planning, so `inlet status` does not promise a run that will not come.
    private let unplanned = Mutex<Set<String>>([])

    /// - Parameter unrunnable: sources the daemon cannot run (their plugin did not load, or
    ///   refuses their config block): not scheduled, as no worker would lease their syncs.
    package init(
        config: InletConfig, unrunnable: Set<String> = [], queue: JobQueue, database: InletDatabase, clock: any ScheduleClock,
        logger: Logger
    ) {
        self.queue = queue
        self.status = SourceStatusRecorder(database: database)
        self.clock = clock
        self.logger = logger
        self.schedules = Mutex(Self.schedules(of: config, unrunnable: unrunnable))
        unplanned.withLock { $0 = unrunnable }
    }

    private static func schedules(
        of config: InletConfig, unrunnable: Set<String>
    ) -> [String: (schedule: SourceSchedule, maxAttempts: Int)] {
        var out: [String: (SourceSchedule, Int)] = [:]
        for source in config.sources where source.isEnabled && !unrunnable.contains(source.name) {
            if let schedule = source.schedule { out[source.name] = (schedule, source.retry.maxAttempts) }
        }
        return out
    }

    /// Takes the schedules of a new config; sources whose schedule changed are planned afresh.
    package func reload(_ config: InletConfig, unrunnable: Set<String> = []) {
        let fresh = Self.schedules(of: config, unrunnable: unrunnable)
        let old = schedules.withLock { current in
            defer { current = fresh }
            return current
        }
        nextFires.withLock { next in
            for name in next.keys where fresh[name] == nil || fresh[name]!.schedule != old[name]?.schedule {
                next[name] = nil
            }
        }
        unplanned.withLock { $0.formUnion(old.keys.filter { fresh[$0] == nil }) }
        wakeup.signal()
    }

    package func run() async throws {
        await withTaskCancellationHandler {
            await loop()
        } onCancel: {
            self.wakeup.signal()
        }
    }

    private func loop() async {
        await withGracefulShutdownHandler {
            while !(Task.isCancelled || Task.isShuttingDownGracefully) {
                let next = plan()
                let now = clock.now
                let due = SourceScheduler.due(states: next, now: now)
                for name in due { fire(name, now: now) }
                let earliest = nextFires.withLock { $0.values.min() }
                let wait = earliest.map { max(0, min(60, $0.timeIntervalSince(clock.now))) } ?? 60
                await wakeup.wait(timeout: .milliseconds(Int64(wait * 1000)))
            }
        } onGracefulShutdown: {
            self.wakeup.signal()
        }
    }

    /// Plans the first fire of sources that have none yet (at start, after a reload).
    private func plan() -> [String: Date] {
        let current = schedules.withLock { $0 }
        for name in unplanned.withLock({ taken in defer { taken = [] }; return taken }) where current[name] == nil {
            try? status.recordSchedule(source: name, firedAt: nil, nextRun: nil, now: clock.now)
        }
        let missing = nextFires.withLock { next in current.keys.filter { next[$0] == nil } }
        if !missing.isEmpty {
            let lastFires = (try? status.lastScheduled()) ?? [:]
            let now = clock.now
            var planned: [String: Date] = [:]
            for name in missing {
                let fire = SourceScheduler.initialFire(
                    schedule: current[name]!.schedule, lastFire: lastFires[name], now: now, jitter: Double.random(in: 0..<1))
                planned[name] = fire
                try? status.recordSchedule(source: name, firedAt: nil, nextRun: fire, now: now)
            }
            nextFires.withLock { next in for (name, fire) in planned { next[name] = fire } }
        }
        return nextFires.withLock { next in next.filter { current[$0.key] != nil } }
    }

    private func fire(_ name: String, now: Date) {
        guard let (schedule, maxAttempts) = schedules.withLock({ $0[name] }) else { return }
        let key = JobRequest.syncKey(source: name)
        do {
            switch SourceScheduler.onTick(syncQueuedOrRunning: try queue.isActive(source: name, uniqueKey: key)) {
            case .coalesce:
                InletMetrics.coalesced(source: name)
                logger.debug("schedule of '\(name)': its sync is already queued or running")
            case .enqueue:
                let outcome = try queue.enqueue(
                    JobRequest(source: name, priority: JobPriority.scheduled, uniqueKey: key, maxAttempts: maxAttempts), now: now)
                switch outcome {
                case .full:
                    InletMetrics.scheduleSkipped(source: name)
                    logger.warning("schedule of '\(name)': the queue is full (queue.max_size); tick skipped")
                case .coalesced:
                    InletMetrics.coalesced(source: name)
                case .enqueued(let id):
                    logger.debug("schedule of '\(name)': sync job \(id) enqueued")
                }
            }
        } catch {
            logger.error("schedule of '\(name)': cannot enqueue: \(error)")
        }
        let next = SourceScheduler.nextFire(schedule: schedule, after: now, jitter: Double.random(in: 0..<1))
        nextFires.withLock { $0[name] = next }
        try? status.recordSchedule(source: name, firedAt: now, nextRun: next, now: now)
    }
}
