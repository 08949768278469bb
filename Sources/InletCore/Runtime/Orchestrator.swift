import Foundation
import Logging
import Synchronization

/// The daemon's view of its sources: their plugins and instances, circuit breakers, running
/// jobs and watchdog verdicts. It decides how many jobs of each source may be leased now; the
/// worker pool leases and runs them. A config reload swaps sources without a restart.
package actor Orchestrator {
    /// One source as the daemon runs it.
    struct SourceRuntime {
        var config: SourceConfig
        var plugin: LoadedPlugin?
        /// Why the source cannot run (no plugin, bad config block), from loading.
        var loadError: String?
        var instance: ConnectorInstance?
        /// The pending `create`, shared by jobs that need the instance at once.
        var creating: Task<ConnectorInstance, any Error>?
        var breaker: CircuitBreakerStateMachine
        var running = 0
        /// Plugin calls abandoned on their thread since the daemon started (they may still run).
        var stuckCalls = 0
        /// `stuckCalls` when the source last started taking jobs: the watchdog counts from there.
        var stuckCallsBefore = 0
        /// Set by the watchdog: the source runs no more jobs until the daemon restarts or a
        /// reload (SIGHUP, the config changed or not) gives it another try.
        var disabledReason: String?
        /// Sources that got `allowProbe` in the last capacity round (half-open breakers).
        var probing = false
        /// How long the source's jobs have been taking (a moving average; nil before the first).
        var recentDuration: Duration?

        /// Counts a plugin call abandoned on its thread; at `maxStuckCalls` the watchdog
        /// disables the source.
        mutating func countStuckCall(of name: String, maxStuckCalls: Int, logger: Logger) {
            stuckCalls += 1
            InletMetrics.stuckCalls(source: name, count: stuckCalls)
            if stuckCalls - stuckCallsBefore >= maxStuckCalls, disabledReason == nil {
                disabledReason = "disabled by the watchdog: \(stuckCalls - stuckCallsBefore) plugin calls did not return within timeout + cancel_grace"
                logger.error("source '\(name)' \(disabledReason!); other sources run on")
            }
        }

        /// How many of the source's jobs run at once: its `concurrency`, or 1 when its plugin
        /// is not reentrant. Its calls take turns on one instance anyway, and a job waiting for
        /// the turn would spend its timeout waiting, then count as timed out or stuck.
        var concurrency: Int {
            plugin?.capabilities.contains(.reentrant) == false ? 1 : config.concurrency
        }

        /// Whether the source may lease jobs at all (its breaker aside): enabled, its plugin
        /// loaded with its config block, not disabled by the watchdog.
        var takesJobs: Bool {
            config.isEnabled && plugin != nil && loadError == nil && disabledReason == nil
        }
    }

    package private(set) var config: InletConfig
    /// The config's sources matched with their plugins (replaced by `reload`).
    private var configured: ConfiguredSources
    private var sources: [String: SourceRuntime] = [:]
    /// Sources whose breaker upstream reports opened since the last lease plan.
    private var pausedSinceLastPlan: Set<String> = []
    private let status: SourceStatusRecorder
    private let clock: any ScheduleClock
    private let logger: Logger
    private let wakeup: Wakeup
    /// The host's HTTP service every instance's calls use.
    private let http: HTTPService?
    /// The watchdog's settings, read at start-up only (as the job runner's are).
    private let watchdog: InletConfig.Watchdog
    /// Which sources cannot run now and why, for the HTTP surface (kept with `source_status`).
    package nonisolated let availability = SourceAvailability()

    package init(
        sources configured: ConfiguredSources, database: InletDatabase, clock: any ScheduleClock, logger: Logger, wakeup: Wakeup,
        http: HTTPService? = nil
    ) {
        self.config = configured.config
        self.watchdog = configured.config.watchdog
        self.http = http
        self.configured = configured
        self.status = SourceStatusRecorder(database: database)
        self.clock = clock
        self.logger = logger
        self.wakeup = wakeup
        for source in configured.config.sources {
            let runtime = Self.runtime(for: source, in: configured, status: status, logger: logger)
            self.sources[source.name] = runtime
            // What `inlet status` shows is this daemon's view: a plugin that did not load, and
            // no watchdog verdict of an earlier run (a restart lifts it).
            Self.persistHealth(source.name, runtime, status: status, availability: availability, now: clock.now, logger: logger)
        }
    }

    private static func runtime(for source: SourceConfig, in configured: ConfiguredSources, status: SourceStatusRecorder, logger: Logger) -> SourceRuntime {
        var breaker = CircuitBreakerStateMachine(source.circuitBreaker)
        if let persisted = try? status.breaker(of: source.name) {
            breaker = CircuitBreakerStateMachine(
                failureThreshold: source.circuitBreaker.failureThreshold, openFor: source.circuitBreaker.openFor, persisted: persisted)
        }
        var runtime = SourceRuntime(config: source, plugin: configured.plugins[source.name], breaker: breaker)
        for warning in configured.warnings where warning.source == source.name { logger.warning("\(warning)") }
        let problems = configured.problems(of: source.name)
        if !problems.isEmpty {
            runtime.loadError = problems.map(\.description).joined(separator: "; ")
            logger.error("source '\(source.name)' cannot run: \(runtime.loadError!)")
        }
        return runtime
    }

    // MARK: - Leasing

    /// What a worker pool may lease now: jobs per source, and how many of each source may run
    /// at once (leased jobs beyond that wait in the pool for a free slot of their source).
    package struct LeasePlan: Sendable {
        package var capacity: [String: Int] = [:]
        package var concurrency: [String: Int] = [:]
        /// Sources whose breaker upstream reports just opened: their jobs leased ahead while it
        /// was closed are given back, not started (a finished job's report does the same).
        package var paused: Set<String> = []
    }

    /// How many jobs of each source may be leased now: `concurrency - running`, plus up to
    /// `ahead` more (as many as its recent jobs would run in `budget`) for a source whose breaker
    /// is closed (leased ahead, they wait in the pool and
    /// start as the source's jobs finish: one lease transaction serves many jobs). Sources with an
    /// open breaker get none and their queued jobs are deferred to when it half-opens; a
    /// half-open breaker admits one probe and nothing ahead.
    package func leasePlan(queue: JobQueue, ahead: Int = 0, budget: Duration = .zero) -> LeasePlan {
        let now = clock.now
        var plan = LeasePlan()
        pausedSinceLastPlan.formUnion(absorbUpstreamReports(now: now))
        plan.paused = pausedSinceLastPlan
        pausedSinceLastPlan = []
        for name in sources.keys.sorted() {
            guard var runtime = sources[name], runtime.takesJobs else { continue }
            plan.concurrency[name] = runtime.concurrency
            // Ahead: about `budget` of work at the source's recent pace, at most `ahead` jobs, none
            // before its first job finished. A job queued behind them (a webhook) then waits about
            // `budget` at most, and a crash charges an attempt to few jobs that never started.
            var extra = 0
            if let recent = runtime.recentDuration, runtime.breaker.name == "closed" {
                extra = recent <= .zero ? ahead : Int(min(Double(ahead), budget / recent))
            }
            let free = runtime.concurrency + extra - runtime.running
            guard free > 0 else { continue }
            let wasOpen = runtime.breaker.name == "open"
            let admission = runtime.breaker.admit(now: now)
            switch admission {
            case .allow:
                plan.capacity[name] = free
            case .allowProbe:
                plan.capacity[name] = 1
                runtime.probing = true
                // Said and stored once, as it leaves `open`: while no job is queued the probe
                // slot is offered again every round (a few times a second).
                if wasOpen {
                    logger.notice("circuit breaker of '\(name)' is half-open: one probe job may run")
                    persistHealth(name, runtime)
                }
            case .defer(let until):
                // Open: the jobs move to its end, once. While a half-open breaker's probe runs,
                // they are not moved again each round (each move rewrote every queued job of
                // the source): without capacity, they are not leased anyway.
                if case .halfOpen = runtime.breaker.state {
                } else if (try? queue.deferJobs(of: name, until: until, now: now)) ?? 0 > 0 {
                    logger.info("circuit breaker of '\(name)' is open: its jobs wait until \(until.formatted(.iso8601))")
                }
            }
            InletMetrics.circuitState(source: name, value: runtime.breaker.gaugeValue)
            sources[name] = runtime
        }
        return plan
    }

    /// How many jobs of each source may be leased now, none ahead (see ``leasePlan(queue:ahead:budget:)``).
    package func capacity(queue: JobQueue) -> [String: Int] {
        leasePlan(queue: queue).capacity
    }

    /// Jobs leased ahead and given back unstarted: their slots are free (the source's health is
    /// not in question).
    package func released(_ jobs: [Job]) {
        for job in jobs {
            guard var runtime = sources[job.source] else { continue }
            runtime.running = max(0, runtime.running - 1)
            // A half-open breaker's probe given back unstarted would otherwise stay "in flight"
            // for good: with nothing of the source running, no probe is (unless one was just
            // admitted by this round's plan and is about to be leased).
            if runtime.running == 0 && !runtime.probing { runtime.breaker.releaseProbe() }
            sources[job.source] = runtime
        }
        if !jobs.isEmpty { wakeup.signal() }
    }

    /// Counts leased jobs as running; frees probe slots that found no job.
    package func started(_ jobs: [Job]) {
        let leasedSources = Set(jobs.map(\.source))
        for job in jobs { sources[job.source]?.running += 1 }
        for (name, runtime) in sources where runtime.probing {
            sources[name]?.probing = false
            if !leasedSources.contains(name) { sources[name]?.breaker.releaseProbe() }
        }
    }

    /// The sources a worker could lease from (to find the next due time).
    package var runnableSources: Set<String> {
        Set(sources.filter { $0.value.takesJobs }.keys)
    }

    /// A leased job's source no longer takes jobs (a reload removed or disabled it, or the
    /// watchdog disabled it, after the job was leased ahead): the job is given back, not failed.
    package struct SourceUnavailable: Error, CustomStringConvertible {
        package var description: String
    }

    /// The source's config, instance (created on first use) for a leased job.
    /// - Throws: ``SourceUnavailable`` when the source no longer takes jobs; a ``PluginError``
    ///   when it has no plugin or its instance cannot be created.
    package func prepare(_ job: Job) async throws -> (SourceConfig, ConnectorInstance) {
        guard let runtime = sources[job.source] else {
            throw SourceUnavailable(description: "source '\(job.source)' is no longer in the config")
        }
        guard runtime.config.isEnabled, runtime.disabledReason == nil else {
            throw SourceUnavailable(description: "source '\(job.source)' is disabled: \(runtime.disabledReason ?? "enabled: false")")
        }
        guard runtime.plugin != nil else {
            throw PluginError(.unknownConnector, path: "", "source '\(job.source)' has no plugin")
        }
        // Every instance handed out is reserved for the job (until `finished` releases it): an
        // instance a reload retired is destroyed only once its last job is done and its last
        // call returned. A retired one refuses the reservation, and the job takes the current.
        if let instance = runtime.instance {
            if instance.reserve() { return (runtime.config, instance) }
            if sources[job.source]?.instance === instance { sources[job.source]?.instance = nil }
            return try await prepare(job)
        }
        if let creating = runtime.creating {
            let instance = try await Self.value(of: creating, within: createLimit(runtime.config), source: job.source)
            if instance.reserve() { return (runtime.config, instance) }
            return try await prepare(job)
        }
        let config = runtime.config
        let configured = self.configured
        let logger = self.logger
        let http = self.http
        let jobID = job.id
        let creating = Task { try await configured.instantiate(config, logger: logger, http: http, jobID: jobID) }
        sources[job.source]?.creating = creating
        do {
            let instance = try await Self.value(of: creating, within: createLimit(config), source: job.source)
            // Only this job's own timeout or shutdown retires a new instance before this point,
            // and neither returns here: the reservation holds (were it refused, the job would
            // simply ask again, never crash the daemon).
            let reserved = instance.reserve()
            // The config may have been reloaded meanwhile: only the current generation keeps it;
            // an older one serves this job, then goes.
            if sources[job.source]?.creating == creating {
                sources[job.source]?.creating = nil
                if reserved { sources[job.source]?.instance = instance }
            } else {
                Task { await instance.destroy() }
            }
            guard reserved else { return try await prepare(job) }
            return (config, instance)
        } catch let timedOut as CreateTimedOut {
            // Abandoned on its thread, like a stuck call: counted, and the next job tries anew.
            // Should it return after all, what it made is destroyed (unless a waiter took it).
            if var runtime = sources[job.source], runtime.creating == creating {
                runtime.creating = nil
                runtime.countStuckCall(of: job.source, maxStuckCalls: watchdog.maxStuckCalls, logger: logger)
                sources[job.source] = runtime
                persistHealth(job.source, runtime)
            }
            Self.destroyWhenCreated(creating)
            throw timedOut
        } catch {
            if sources[job.source]?.creating == creating { sources[job.source]?.creating = nil }
            // Given up on (shutdown): nobody keeps what it makes.
            if error is CancellationError { Self.destroyWhenCreated(creating) }
            // The connector refused the config block (its `create` said FAILED): every job would
            // fail the same way, so the source takes none until a reload (which tries `create`
            // again), as when its plugin does not load. Not if a reload changed it meanwhile.
            if let refused = error as? PluginError, refused.code == .createFailed, var runtime = sources[job.source],
                runtime.config.hasSameSettings(as: config), runtime.loadError == nil
            {
                runtime.loadError = refused.reason
                sources[job.source] = runtime
                persistHealth(job.source, runtime)
                logger.error("source '\(job.source)' cannot run: \(refused.reason); it takes no jobs until a reload (SIGHUP) or a restart")
            }
            throw error
        }
    }

    /// The source's `create` crashed the previous process (the crash file says so): it takes no
    /// jobs until a reload (SIGHUP) tries `create` again, as when the connector refuses its config,
    /// rather than crash the daemon again for each of its jobs.
    package func createCrashed(source name: String, job: Int64, signal: Int32) {
        guard var runtime = sources[name], runtime.loadError == nil else { return }
        runtime.loadError = "its plugin's create crashed the daemon (\(JobQueue.signalName(signal)), for job \(job)): fix the plugin or its config, then reload"
        sources[name] = runtime
        persistHealth(name, runtime)
        logger.error("source '\(name)' cannot run: \(runtime.loadError!)")
    }

    /// How long a plugin's `create` may take before it is abandoned: as long as a call gets
    /// (the source's timeout, then cancel_grace), and at least 10 s, since a `create` cannot be
    /// asked to stop and may load much (a short job timeout must not fail every create).
    private func createLimit(_ source: SourceConfig) -> Duration {
        max(source.timeout + watchdog.cancelGrace, Self.shortestCreateLimit)
    }

    /// The least time a `create` gets.
    static let shortestCreateLimit = Duration.seconds(10)

    /// Destroys what a `create` nobody waits for any more makes, should it return after all
    /// (a waiter that took it meanwhile delays that to its release).
    private static func destroyWhenCreated(_ creating: Task<ConnectorInstance, any Error>) {
        Task { if case .success(let late) = await creating.result { await late.destroy() } }
    }

    /// Sources whose breaker upstream reports opened since they were last asked for: their jobs
    /// leased ahead are to be given back at once (the pool asks after each finished job).
    package func takePaused() -> Set<String> {
        defer { pausedSinceLastPlan = [] }
        return pausedSinceLastPlan
    }

    /// A plugin's `create` did not return within the source's timeout: the job is retried (the
    /// call counts as stuck, and enough of them disable the source).
    package struct CreateTimedOut: Error, CustomStringConvertible {
        package var description: String
    }

    /// The instance `creating` makes, or ``CreateTimedOut`` after `limit`, or `CancellationError`
    /// when the waiting task is cancelled (shutdown): a `create` that never returns holds only
    /// its own thread, never the worker or the daemon's exit.
    private static func value(
        of creating: Task<ConnectorInstance, any Error>, within limit: Duration, source: String
    ) async throws -> ConnectorInstance {
        let answer = FirstAnswer<ConnectorInstance>()
        let timer = Task {
            try? await Task.sleep(for: limit)
            if Task.isCancelled { return }
            answer.answer(.failure(CreateTimedOut(
                description: "source '\(source)': the plugin's create did not return within \(DurationFormat.string(from: limit))")))
        }
        defer { timer.cancel() }
        Task { answer.answer(await creating.result) }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { answer.install($0) }
        } onCancel: {
            answer.answer(.failure(CancellationError()))
        }
    }

    /// Takes a finished job's report: frees its slot, feeds the breaker and the watchdog,
    /// records the outcome for `inlet status`.
    /// - Returns: whether the source still runs jobs leased ahead: false once its breaker left
    ///   `closed`, the watchdog disabled it or a reload removed it (the pool gives them back).
    @discardableResult
    package func finished(_ report: JobRunner.Report, instance: ConnectorInstance?) async -> Bool {
        let name = report.job.source
        let now = clock.now
        // What the job's HTTP requests met upstream counts first: a burst of 5xx may have opened
        // the breaker, and then the job's own outcome no longer moves it. Other sources whose
        // breaker they opened have their jobs leased ahead given back at the next lease round.
        pausedSinceLastPlan.formUnion(absorbUpstreamReports(now: now))
        // A call abandoned by the watchdog or at shutdown may still run inside its instance.
        let callMayRun = report.stuck || report.releasedAtShutdown
        if var runtime = sources[name] {
            let before = (runtime.breaker.persisted.name, runtime.breaker.persisted.consecutiveFailures, runtime.stuckCalls)
            runtime.running = max(0, runtime.running - 1)
            if !report.leaseLost {
                runtime.recentDuration = runtime.recentDuration.map { ($0 * 7 + report.duration) / 8 } ?? report.duration
            }
            if let success = report.breakerSuccess {
                if let transition = runtime.breaker.record(success: success, now: now) {
                    logger.notice("circuit breaker of '\(name)': \(transition)")
                }
            } else {
                runtime.breaker.releaseProbe()
            }
            if callMayRun {
                // The abandoned call may still be running inside the instance: later jobs get a
                // fresh one, and this one is destroyed only if that call ever returns.
                if let instance, runtime.instance === instance {
                    runtime.instance = nil
                    Task { await instance.destroy() }
                }
            }
            if report.stuck { runtime.countStuckCall(of: name, maxStuckCalls: watchdog.maxStuckCalls, logger: logger) }
            sources[name] = runtime
            InletMetrics.circuitState(source: name, value: runtime.breaker.gaugeValue)
            // Written only when something changed: not one extra transaction per job.
            if (runtime.breaker.persisted.name, runtime.breaker.persisted.consecutiveFailures, runtime.stuckCalls) != before {
                persistHealth(name, runtime)
            }
        }
        wakeup.signal()
        let admits = sources[name].map { $0.breaker.name == "closed" && $0.disabledReason == nil && $0.config.isEnabled } ?? false
        // The job's hold on its instance ends; a retired instance whose last job this was is
        // destroyed now, on a plugin thread (a `destroy` that never returns holds only that).
        instance?.release()
        return admits
    }

    /// Feeds the HTTP service's verdicts on each source's upstream (5xx or network error: a
    /// failure; any other answer: a success) to the source's breaker, in the order they came.
    /// - Returns: the sources whose breaker these reports took out of `closed`.
    @discardableResult
    private func absorbUpstreamReports(now: Date) -> Set<String> {
        guard let reports = http?.upstream.take(), !reports.isEmpty else { return [] }
        var left: Set<String> = []
        for (name, results) in reports.sorted(by: { $0.key < $1.key }) {
            guard var runtime = sources[name] else { continue }
            let before = (runtime.breaker.persisted.name, runtime.breaker.persisted.consecutiveFailures)
            defer { if before.0 == "closed" && runtime.breaker.name != "closed" { left.insert(name) } }
            for success in results {
                if let transition = runtime.breaker.record(success: success, now: now) {
                    logger.notice("circuit breaker of '\(name)': \(transition) (upstream HTTP \(success ? "answered" : "failed"))")
                }
            }
            sources[name] = runtime
            InletMetrics.circuitState(source: name, value: runtime.breaker.gaugeValue)
            if (runtime.breaker.persisted.name, runtime.breaker.persisted.consecutiveFailures) != before {
                persistHealth(name, runtime)
            }
        }
        return left
    }

    private func persistHealth(_ name: String, _ runtime: SourceRuntime) {
        Self.persistHealth(name, runtime, status: status, availability: availability, now: clock.now, logger: logger)
    }

    /// Records a source's breaker, stuck calls and why it does not run: the watchdog's verdict,
    /// or the load error (no plugin, a config block its schema refuses).
    private static func persistHealth(
        _ name: String, _ runtime: SourceRuntime, status: SourceStatusRecorder, availability: SourceAvailability, now: Date,
        logger: Logger
    ) {
        let reason = runtime.disabledReason ?? runtime.loadError.map { Self.cannotRunPrefix + $0 }
        availability.set(name, reason: reason)
        do {
            try status.recordHealth(
                source: name, breaker: runtime.breaker, stuckCalls: runtime.stuckCalls, disabledReason: reason, now: now)
        } catch {
            logger.warning("cannot record the status of '\(name)': \(error)")
        }
    }

    // MARK: - Reload

    /// Applies a new, already validated config: added sources start, removed ones stop taking
    /// jobs, changed ones get a new instance once their running jobs finish.
    package func reload(_ configured: ConfiguredSources) async {
        let old = sources
        var next: [String: SourceRuntime] = [:]
        var toDestroy: [ConnectorInstance] = []
        for source in configured.config.sources {
            if var current = old[source.name], current.config.hasSameSettings(as: source),
                current.plugin?.path == configured.plugins[source.name]?.path
            {
                // Unchanged, perhaps moved in the file: the instance stays; errors name the new lines.
                current.config = source
                current.loadError = Self.runtime(for: source, in: configured, status: status, logger: logger).loadError
                if let verdict = current.disabledReason {
                    // The operator asked for a reload: the source gets another try (its stuck
                    // calls stay abandoned; the watchdog counts afresh).
                    current.disabledReason = nil
                    current.stuckCallsBefore = current.stuckCalls
                    logger.notice("source '\(source.name)' takes jobs again after the reload (it was \(verdict))")
                }
                next[source.name] = current
            } else {
                var fresh = Self.runtime(for: source, in: configured, status: status, logger: logger)
                if let previous = old[source.name] {
                    fresh.running = previous.running
                    // The breaker keeps its state (a probe in flight too) under the new settings.
                    fresh.breaker = CircuitBreakerStateMachine(source.circuitBreaker, keepingStateOf: previous.breaker)
                    fresh.probing = previous.probing
                    fresh.recentDuration = previous.recentDuration
                }
                next[source.name] = fresh
                logger.info("source '\(source.name)' \(old[source.name] == nil ? "added" : "changed")")
            }
        }
        for (name, runtime) in old {
            if next[name] == nil { logger.info("source '\(name)' removed") }
            let replaced = next[name]?.instance !== runtime.instance
            guard replaced, let instance = runtime.instance else { continue }
            // Retired: destroyed now, or with jobs or calls still on it, after the last.
            toDestroy.append(instance)
        }
        for (name, runtime) in next where runtime.loadError != old[name]?.loadError || runtime.disabledReason != old[name]?.disabledReason {
            persistHealth(name, runtime)
        }
        availability.keep(only: Set(next.keys))
        sources = next
        config = configured.config
        self.configured = configured
        wakeup.signal()
        for instance in toDestroy { Task { await instance.destroy() } }
    }

    /// Destroys every instance nothing uses any more (at shutdown, after the workers stopped),
    /// all at once, waiting at most `limit` for the plugins' `destroy`: one that never returns
    /// must not keep the daemon up. One a call may still run in is left to the process's exit.
    package func shutdown(within limit: Duration = .seconds(5)) async {
        let instances = sources.values.compactMap(\.instance)
        sources = sources.mapValues { runtime in
            var runtime = runtime
            runtime.instance = nil
            return runtime
        }
        guard !instances.isEmpty else { return }
        let answer = FirstAnswer<Bool>()
        Task {
            await withDiscardingTaskGroup { group in
                for instance in instances { group.addTask { await instance.destroy() } }
            }
            answer.answer(.success(true))
        }
        let timer = Task {
            try? await Task.sleep(for: limit)
            answer.answer(.success(false))
        }
        defer { timer.cancel() }
        let done = (try? await withCheckedThrowingContinuation { answer.install($0) }) ?? false
        if !done { logger.warning("a plugin's destroy did not return within \(DurationFormat.string(from: limit)): exiting without it") }
    }

    /// A source's runtime facts, for `/health` and tests.
    /// How a recorded reason for not running begins when the source's plugin or config block
    /// did not load (the rest is the load error: paths, the plugin's own words).
    package static let cannotRunPrefix = "cannot run: "

    /// "source 'NAME' cannot run now: WHY", with a recorded reason's own "cannot run: " once.
    package static func cannotRunNow(source: String, reason: String) -> String {
        "source '\(source)' cannot run now: \(cause(reason))"
    }

    /// A recorded reason without its "cannot run: ", for a sentence that says so already.
    package static func cause(_ reason: String) -> String {
        reason.hasPrefix(cannotRunPrefix) ? String(reason.dropFirst(cannotRunPrefix.count)) : reason
    }

    package struct SourceSnapshot: Sendable {
        package var name: String
        package var running: Int
        package var breaker: String
        package var stuckCalls: Int
        package var disabledReason: String?
        package var loadError: String?

        package init(name: String, running: Int, breaker: String, stuckCalls: Int, disabledReason: String?, loadError: String?) {
            self.name = name
            self.running = running
            self.breaker = breaker
            self.stuckCalls = stuckCalls
            self.disabledReason = disabledReason
            self.loadError = loadError
        }
    }

    package func snapshot() -> [SourceSnapshot] {
        sources.keys.sorted().map { name in
            let runtime = sources[name]!
            return SourceSnapshot(
                name: name, running: runtime.running, breaker: runtime.breaker.name, stuckCalls: runtime.stuckCalls,
                disabledReason: runtime.disabledReason, loadError: runtime.loadError)
        }
    }
}
