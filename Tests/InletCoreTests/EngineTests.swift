import Foundation
import GRDB
import Logging
import ServiceLifecycle
import Testing

@testable import InletCore

/// The engine in-process: worker pool, runner, orchestrator and scheduler in one ServiceGroup,
/// with the Swift echo connector told to fail in each way a connector can.
final class EngineHarness {
    let directory: TemporaryDirectory
    let database: InletDatabase
    let queue: JobQueue
    let config: InletConfig
    private let group: ServiceGroup
    private var task: Task<Void, any Error>?

    init(
        sources: String, extra: String = "", leaseDuration: Duration = .seconds(30), workers: Int = 4,
        leaseAheadBudget: Duration = .milliseconds(100), withHTTP: Bool = false, shutdownGrace: Duration = .milliseconds(200),
        alongside: (InletDatabase) -> [any Service] = { _ in [] }
    ) throws {
        directory = try TemporaryDirectory()
        let yaml = """
            data_dir: \(directory.path)/var
            workers: \(workers)
            \(extra)
            sources:
            \(sources)
            """
        config = try ConfigLoader.load(yaml: yaml, file: directory.file("inlet.yaml"), environment: [:])
        database = try InletDatabase(dataDirectory: config.dataDirectory)
        queue = JobQueue(database: database, maxSize: config.queue.maxSize)
        let logger = Logger(label: "engine-test")
        let clock = SystemScheduleClock()
        let wakeup = Wakeup()
        let configured = ConfiguredSources(config: config, environment: [:])
        let http = withHTTP ? HTTPService(database: database, clock: clock) : nil
        let orchestrator = Orchestrator(
            sources: configured, database: database, clock: clock, logger: logger, wakeup: wakeup, http: http)
        let runner = JobRunner(queue: queue, clock: clock, logger: logger, leaseDuration: leaseDuration, watchdog: config.watchdog)
        let pool = WorkerPool(
            orchestrator: orchestrator, queue: queue, runner: runner, wakeup: wakeup, workers: config.workers, owner: "test",
            shutdownGrace: shutdownGrace, clock: clock, logger: logger, leaseAheadBudget: leaseAheadBudget)
        group = DaemonGroup.make(services: [pool] + alongside(database), logger: logger)
    }

    static func echoSource(_ name: String, config: String, settings: String = "") -> String {
        """
          - name: \(name)
            connector: swift-echo
            plugin: \(BuildProducts.swiftEchoPlugin)
            \(settings)
            config: \(config)
        """
    }

    func start() {
        let group = self.group
        task = Task { try await group.run() }
    }

    /// Waits for the group to end by itself (a service failed); its error.
    func ended() async -> (any Error)? {
        do {
            try await task?.value
            return nil
        } catch {
            return error
        }
    }

    func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task?.value
    }

    @discardableResult
    func enqueue(_ source: String, maxAttempts: Int? = nil) throws -> Int64 {
        let attempts = maxAttempts ?? config.sources.first { $0.name == source }!.retry.maxAttempts
        return try queue.enqueue(JobRequest(source: source, maxAttempts: attempts)).jobID!
    }

    /// Polls until `condition` holds (a deadline against hanging, not a timing assertion). Long:
    /// `swift test` runs every suite in one process, and the integration suites' synchronous
    /// tests (subprocesses, kill -9 loops) block threads of the cooperative pool, two on two
    /// cores; this process's engine then stalls for seconds at a time (CI saw 5–8 s stalls, and
    /// 60 no-op jobs missed a 30 s deadline).
    func waitUntil(_ what: String, limit: Duration = .seconds(120), _ condition: () throws -> Bool) async throws {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if (try? condition()) == true { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw CCompiler.CompileError(message: "timed out waiting for: \(what)")
    }

    func job(_ id: Int64) throws -> Job { try queue.job(id: id)! }

    /// A second orchestrator over the harness's config and database, outside the running pool,
    /// for tests that drive it step by step (prepare, finished, reload, lease plans).
    func standaloneOrchestrator(clock: any ScheduleClock = SystemScheduleClock()) -> Orchestrator {
        Orchestrator(
            sources: ConfiguredSources(config: config, environment: [:]), database: database, clock: clock,
            logger: Logger(label: "engine-test"), wakeup: Wakeup())
    }

    func outcomes(_ id: Int64) throws -> [String] { try AuditLog(database: database).entries(jobID: id).map(\.outcome) }

    func status(_ source: String, _ column: String) throws -> String? {
        try database.pool.read { db in
            try String.fetchOne(db, sql: "SELECT CAST(\(column) AS TEXT) FROM source_status WHERE source = ?", arguments: [source])
        }
    }
}

@Suite("Engine: retries, quarantine, breaker, watchdog")
struct EngineTests {
    @Test func transientFailuresRetryWithBackoffThenSucceed() async throws {
        let engine = try EngineHarness(sources: EngineHarness.echoSource(
            "flaky", config: #"{ records: [{ key: "a", content: "x" }], fail_runs: 2 }"#,
            settings: "retry: { max_attempts: 5, backoff: 10ms, max_backoff: 20ms }"))
        engine.start()
        let id = try engine.enqueue("flaky")
        try await engine.waitUntil("the job succeeds") { try engine.job(id).state == .succeeded }
        await engine.stop()
        #expect(try engine.job(id).attempts == 3)
        #expect(try engine.outcomes(id) == ["retry", "retry", "succeeded"])
        #expect(try engine.status("flaky", "last_outcome") == "succeeded")
    }

    @Test func permanentFailureGoesToQuarantineAtOnce() async throws {
        let engine = try EngineHarness(sources: EngineHarness.echoSource(
            "broken", config: #"{ records: [], fail_after: 0, fail_status: failed }"#))
        engine.start()
        let id = try engine.enqueue("broken")
        try await engine.waitUntil("the job is quarantined") { try engine.job(id).state == .quarantined }
        await engine.stop()
        #expect(try engine.job(id).attempts == 1)
        let entries = try QuarantineStore(database: engine.database, queue: engine.queue).list()
        #expect(entries.map(\.jobID) == [id])
        #expect(entries.first?.error == "failed: echo: told to fail")
    }

    @Test func outOfAttemptsGoesToQuarantine() async throws {
        let engine = try EngineHarness(sources: EngineHarness.echoSource(
            "hopeless", config: #"{ records: [], fail_after: 0 }"#,
            settings: "retry: { max_attempts: 3, backoff: 1ms, max_backoff: 2ms }"))
        engine.start()
        let id = try engine.enqueue("hopeless")
        try await engine.waitUntil("the job is quarantined") { try engine.job(id).state == .quarantined }
        await engine.stop()
        #expect(try engine.outcomes(id) == ["retry", "retry", "retry"])
        #expect(try engine.job(id).lastError?.hasPrefix("out of attempts (3/3)") == true)
    }

    @Test func aPluginThatIsNotReentrantRunsOneJobAtATimeWhateverItsConcurrency() async throws {
        let engine = try EngineHarness(sources: EngineHarness.echoSource(
            "busy", config: #"{ records: [] }"#, settings: "concurrency: 3"))
        let configured = ConfiguredSources(config: engine.config, environment: [:])
        #expect(configured.warnings.map(\.message) == [
            "source 'busy': concurrency 3 runs as 1: plugin 'swift-echo' is not reentrant (INLET_CAP_REENTRANT), so its calls take turns on one instance",
        ])
        let orchestrator = engine.standaloneOrchestrator()
        let plan = await orchestrator.leasePlan(queue: engine.queue)
        #expect(plan.concurrency["busy"] == 1)
        #expect(plan.capacity["busy"] == 1)
    }

    @Test func aJobLeasedBeforeAReloadTookItsSourceOutIsGivenBackNotFailed() async throws {
        let engine = try EngineHarness(sources: EngineHarness.echoSource("kept", config: #"{ records: [] }"#))
        let orchestrator = engine.standaloneOrchestrator()
        _ = try engine.enqueue("kept")
        let job = try engine.queue.lease(capacity: ["kept": 1], limit: 1, owner: "test", now: Date(), leaseFor: .seconds(30))[0]
        for yaml in ["sources: []", "sources:\n" + EngineHarness.echoSource("kept", config: "{ records: [] }", settings: "enabled: false")] {
            let config = try ConfigLoader.load(
                yaml: "data_dir: \(engine.directory.path)/var\n" + yaml, file: engine.directory.file("inlet.yaml"), environment: [:])
            await orchestrator.reload(ConfiguredSources(config: config, environment: [:]))
            await #expect(throws: Orchestrator.SourceUnavailable.self) { _ = try await orchestrator.prepare(job) }
        }
    }

    @Test func theOrchestratorSaysWhichSourcesCannotRunAndWhy() async throws {
        let broken = "  - name: broken\n    connector: no-such-connector\n    config: {}"
        let engine = try EngineHarness(sources: EngineHarness.echoSource("fine", config: "{ records: [] }") + "\n" + broken)
        let orchestrator = engine.standaloneOrchestrator()
        #expect(orchestrator.availability.reason(for: "fine") == nil)
        #expect(orchestrator.availability.reason(for: "broken")?.hasPrefix("cannot run: ") == true)
        // A reload without it forgets it.
        let config = try ConfigLoader.load(
            yaml: "data_dir: \(engine.directory.path)/var\nsources:\n" + EngineHarness.echoSource("fine", config: "{ records: [] }"),
            file: engine.directory.file("inlet.yaml"), environment: [:])
        await orchestrator.reload(ConfiguredSources(config: config, environment: [:]))
        #expect(orchestrator.availability.reason(for: "broken") == nil)
    }

    @Test func aCreateThatNeverReturnsTimesOutCountsAsStuckAndDoesNotHoldTheDaemon() async throws {
        let engine = try EngineHarness(
            sources: EngineHarness.echoSource("frozen", config: "{ hang_create: true }", settings: "timeout: 200ms")
                + "\n" + EngineHarness.echoSource("fine", config: #"{ records: [{ key: "a", content: "x" }] }"#),
            extra: "watchdog: { cancel_grace: 100ms, max_stuck_calls: 1 }")
        engine.start()
        let frozen = try engine.enqueue("frozen")
        try await engine.waitUntil("the create times out and the job goes back to the queue") {
            try engine.job(frozen).state == .queued && engine.job(frozen).attempts == 1
        }
        // Its timeout plus cancel_grace, but at least 10 s: a create cannot be asked to stop.
        let lastError = try engine.job(frozen).lastError ?? ""
        #expect(lastError.contains("create did not return within 10s"), "\(lastError)")
        try await engine.waitUntil("the watchdog disables the source") {
            try engine.status("frozen", "disabled_reason")?.hasPrefix("disabled by the watchdog: 1 plugin calls") == true
        }
        // Every other source runs on.
        let fine = try engine.enqueue("fine")
        try await engine.waitUntil("the other source's job succeeds") { try engine.job(fine).state == .succeeded }
        await engine.stop()  // returns: the frozen create holds only its own thread
    }

    @Test func aConnectorThatRefusesItsConfigStopsItsSourceUntilAReload() async throws {
        let engine = try EngineHarness(
            sources: EngineHarness.echoSource("refuser", config: #"{ refuse: "bad credentials" }"#)
                + "\n" + EngineHarness.echoSource("fine", config: #"{ records: [{ key: "a", content: "x" }] }"#))
        engine.start()
        let first = try engine.enqueue("refuser")
        try await engine.waitUntil("the job is quarantined") { try engine.job(first).state == .quarantined }
        // FAILED, as the connector said: one audit row, the source's last sync, and the source
        // stops taking jobs (status and /health say why) rather than failing every next one.
        #expect(try engine.outcomes(first) == ["failed"])
        #expect(try engine.status("refuser", "last_outcome") == "failed")
        try await engine.waitUntil("the source is recorded as unable to run") {
            try engine.status("refuser", "disabled_reason")?.contains("refused the config of source 'refuser': bad credentials") == true
        }
        let second = try engine.enqueue("refuser")
        let fine = try engine.enqueue("fine")
        try await engine.waitUntil("the other source's job succeeds") { try engine.job(fine).state == .succeeded }
        #expect(try engine.job(second).state == .queued && engine.job(second).attempts == 0)
        await engine.stop()
        #expect(try QuarantineStore(database: engine.database, queue: engine.queue).list().map(\.jobID) == [first])

        // A reload, even of the same config, tries `create` again.
        let orchestrator = engine.standaloneOrchestrator()
        let leased = try engine.queue.lease(capacity: ["refuser": 1], limit: 1, owner: "t", now: Date(), leaseFor: .seconds(30))
        await #expect(throws: PluginError.self) { _ = try await orchestrator.prepare(leased[0]) }
        #expect(orchestrator.availability.reason(for: "refuser")?.hasPrefix("cannot run: connector 'swift-echo' refused") == true)
        #expect(await orchestrator.runnableSources == ["fine"])
        await orchestrator.reload(ConfiguredSources(config: engine.config, environment: [:]))
        #expect(orchestrator.availability.reason(for: "refuser") == nil)
        #expect(await orchestrator.runnableSources == ["fine", "refuser"])
    }

    @Test func anInstanceAReloadReplacedIsDestroyedWhenItsLastJobFinishesAndNotBefore() async throws {
        let engine = try EngineHarness(sources: EngineHarness.echoSource("echo", config: "{ records: [] }"))
        let orchestrator = engine.standaloneOrchestrator()
        for _ in 0..<3 { _ = try engine.enqueue("echo") }
        let jobs = try engine.queue.lease(capacity: ["echo": 3], limit: 3, owner: "t", now: Date(), leaseFor: .seconds(30))
        await orchestrator.started(jobs)
        // Two jobs of the first instance (one leased ahead), then a reload changes the source.
        let (_, old) = try await orchestrator.prepare(jobs[0])
        #expect(try await orchestrator.prepare(jobs[1]).1 === old)
        let changed = try ConfigLoader.load(
            yaml: "data_dir: \(engine.directory.path)/var\nsources:\n" + EngineHarness.echoSource("echo", config: #"{ records: [{ key: "b" }] }"#),
            file: engine.directory.file("inlet.yaml"), environment: [:])
        await orchestrator.reload(ConfiguredSources(config: changed, environment: [:]))
        let (_, fresh) = try await orchestrator.prepare(jobs[2])
        #expect(fresh !== old)
        await orchestrator.finished(JobRunner.Report(job: jobs[0], outcome: .succeeded), instance: old)
        #expect(!old.isDestroyed)  // a job still runs on it
        await orchestrator.finished(JobRunner.Report(job: jobs[1], outcome: .succeeded), instance: old)
        try await engine.waitUntil("the replaced instance is destroyed") { old.isDestroyed }
        await orchestrator.finished(JobRunner.Report(job: jobs[2], outcome: .succeeded), instance: fresh)
        #expect(!fresh.isDestroyed)  // the current one stays
        await orchestrator.shutdown()
        #expect(fresh.isDestroyed)
    }

    @Test func aProbeGivenBackUnstartedLetsTheNextOneThrough() async throws {
        let engine = try EngineHarness(sources: EngineHarness.echoSource(
            "flaky", config: "{ records: [] }", settings: "circuit_breaker: { failure_threshold: 1, open_for: 60s }"))
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let clock = ManualClock(start)
        let orchestrator = engine.standaloneOrchestrator(clock: clock)
        for _ in 0..<2 { _ = try engine.queue.enqueue(JobRequest(source: "flaky"), now: start) }
        func lease() async throws -> [Job] {
            let plan = await orchestrator.leasePlan(queue: engine.queue)
            let jobs = try engine.queue.lease(capacity: plan.capacity, limit: 1, owner: "t", now: clock.now, leaseFor: .seconds(30))
            await orchestrator.started(jobs)
            return jobs
        }
        let first = try #require(try await lease().first)
        await orchestrator.finished(JobRunner.Report(job: first, outcome: .retry(message: "down")), instance: nil)
        clock.advance(by: .seconds(61))
        // The probe is leased, then given back before it started (a reload disabled the source).
        let probe = try #require(try await lease().first)
        #expect(await orchestrator.leasePlan(queue: engine.queue).capacity["flaky"] == nil)  // one probe at a time
        await orchestrator.released([probe])
        #expect(await orchestrator.leasePlan(queue: engine.queue).capacity["flaky"] == 1)  // not stuck half-open
    }

    @Test func aCreateThatAnswersRetryRetriesTheJobAndKeepsTheSourceRunning() async throws {
        let engine = try EngineHarness(sources: EngineHarness.echoSource(
            "later", config: #"{ create_retry: "upstream down" }"#, settings: "retry: { max_attempts: 2, backoff: 10ms, max_backoff: 20ms }"))
        engine.start()
        let id = try engine.enqueue("later")
        try await engine.waitUntil("the job is out of attempts") { try engine.job(id).state == .quarantined }
        await engine.stop()
        // Two attempts with the source's backoff, as a call that answered RETRY: not a refusal.
        #expect(try engine.outcomes(id) == ["retry", "retry"])
        #expect(try engine.job(id).lastError?.contains("could not start source 'later' now (RETRY): upstream down") == true)
        #expect(try engine.status("later", "disabled_reason") == nil)
        // The sync's fate: its last `retry` is never retried (status and /health said "retry").
        #expect(try engine.status("later", "last_outcome") == "quarantined")
    }

    @Test func aReloadGivesASourceTheWatchdogDisabledAnotherTry() async throws {
        let engine = try EngineHarness(
            sources: EngineHarness.echoSource("frozen", config: "{ records: [] }"), extra: "watchdog: { max_stuck_calls: 2 }")
        let orchestrator = engine.standaloneOrchestrator()
        func stuck() async throws {
            _ = try engine.enqueue("frozen")
            let jobs = try engine.queue.lease(capacity: ["frozen": 1], limit: 1, owner: "t", now: Date(), leaseFor: .seconds(30))
            await orchestrator.started(jobs)
            var report = JobRunner.Report(job: jobs[0], outcome: .timedOut(message: "no answer"))
            report.stuck = true
            await orchestrator.finished(report, instance: nil)
        }
        try await stuck()
        try await stuck()
        #expect(await orchestrator.runnableSources.isEmpty)
        #expect(orchestrator.availability.reason(for: "frozen")?.hasPrefix("disabled by the watchdog: 2 plugin calls") == true)
        // SIGHUP with the same config: the source takes jobs again; the watchdog counts afresh.
        await orchestrator.reload(ConfiguredSources(config: engine.config, environment: [:]))
        #expect(await orchestrator.runnableSources == ["frozen"])
        #expect(orchestrator.availability.reason(for: "frozen") == nil)
        try await stuck()
        #expect(await orchestrator.runnableSources == ["frozen"])
        try await stuck()
        #expect(await orchestrator.runnableSources.isEmpty)
        #expect(orchestrator.availability.reason(for: "frozen")?.hasPrefix("disabled by the watchdog: 2 plugin calls") == true)
    }

    @Test func aHalfOpenBreakerWithNothingQueuedSaysSoOnceNotEveryLeaseRound() async throws {
        let engine = try EngineHarness(sources: EngineHarness.echoSource(
            "flaky", config: "{ records: [] }", settings: "circuit_breaker: { failure_threshold: 1, open_for: 60s }"))
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let clock = ManualClock(start)
        let logs = CapturedLogs()
        let orchestrator = Orchestrator(
            sources: ConfiguredSources(config: engine.config, environment: [:]), database: engine.database, clock: clock,
            logger: logs.logger(), wakeup: Wakeup())
        _ = try engine.queue.enqueue(JobRequest(source: "flaky"), now: start)
        let plan = await orchestrator.leasePlan(queue: engine.queue)
        let failed = try engine.queue.lease(capacity: plan.capacity, limit: 1, owner: "t", now: start, leaseFor: .seconds(30))
        await orchestrator.started(failed)
        await orchestrator.finished(JobRunner.Report(job: failed[0], outcome: .failed(message: "down")), instance: nil)
        clock.advance(by: .seconds(61))
        // Nothing queued: each round offers the probe slot, finds no job, and frees it.
        for _ in 0..<20 {
            let plan = await orchestrator.leasePlan(queue: engine.queue)
            #expect(plan.capacity["flaky"] == 1)
            await orchestrator.started([])
        }
        #expect(logs.all.filter { $0.contains("half-open") }.count == 1, "\(logs.all)")
        #expect(logs.all.contains { $0.contains("circuit breaker of 'flaky': opened: its jobs wait until 2027-01-15T08:01:00Z") }, "\(logs.all)")
        #expect(try engine.status("flaky", "breaker_state") == "half_open")
    }

    @Test func whileAHalfOpenProbeRunsTheSourcesOtherJobsAreLeftWhereTheyAre() async throws {
        // Only a reentrant plugin keeps a concurrency above 1, which leaves room beside the probe
        // at every lease round: each round used to move the source's queued jobs again.
        let plugins = try TemporaryDirectory()
        let plugin = try CCompiler.sharedLibrary(source: Self.reentrantNoop, in: plugins, name: "reentrant")
        let engine = try EngineHarness(sources: """
              - name: wide
                connector: reentrant
                plugin: \(plugin)
                concurrency: 3
                circuit_breaker: { failure_threshold: 1, open_for: 60s }
            """)
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let clock = ManualClock(start)
        let orchestrator = engine.standaloneOrchestrator(clock: clock)
        func lease(_ limit: Int) async throws -> [Job] {
            let plan = await orchestrator.leasePlan(queue: engine.queue)
            let jobs = try engine.queue.lease(capacity: plan.capacity, limit: limit, owner: "t", now: clock.now, leaseFor: .seconds(30))
            await orchestrator.started(jobs)
            return jobs
        }
        _ = try engine.queue.enqueue(JobRequest(source: "wide"), now: start)
        #expect(await orchestrator.leasePlan(queue: engine.queue).concurrency["wide"] == 3)
        let failed = try #require(try await lease(1).first)
        await orchestrator.finished(JobRunner.Report(job: failed, outcome: .retry(message: "down")), instance: nil)
        // Open: the three queued jobs are deferred to the breaker's end, once.
        for _ in 0..<3 { _ = try engine.queue.enqueue(JobRequest(source: "wide"), now: start) }
        #expect(try await lease(3).isEmpty)
        #expect(try engine.queue.list(state: .queued).allSatisfy { $0.runAt >= start.addingTimeInterval(60) })
        clock.advance(by: .seconds(61))
        let probe = try #require(try await lease(3).first)
        let waiting = try engine.queue.list(state: .queued)
        #expect(waiting.count == 2)
        for _ in 0..<3 {
            clock.advance(by: .seconds(5))
            #expect(try await lease(3).isEmpty)  // the probe alone, though concurrency leaves room
        }
        let after = try waiting.map { try engine.job($0.id) }
        #expect(after.map(\.runAt) == waiting.map(\.runAt))
        #expect(after.map(\.updatedAt) == waiting.map(\.updatedAt))
        await orchestrator.finished(JobRunner.Report(job: probe, outcome: .succeeded), instance: nil)
        #expect(try await lease(3).count == 2)  // closed again: the rest run at once
    }

    /// A C connector that does nothing and declares its calls may overlap.
    static let reentrantNoop = """
        #include "inlet_connector.h"
        static inlet_status noop_create(const inlet_host *h, inlet_call *c, const char *j, size_t l, void **out) {
            (void)h; (void)c; (void)j; (void)l; *out = 0; return INLET_OK;
        }
        static void noop_destroy(void *i) { (void)i; }
        static inlet_status noop_sync(void *i, inlet_call *c, const char *k, const char *a, size_t l) {
            (void)i; (void)c; (void)k; (void)a; (void)l; return INLET_OK;
        }
        static const inlet_connector table = {
            .struct_size = sizeof(inlet_connector), .abi_version = INLET_ABI_VERSION, .name = "reentrant", .version = "1",
            .create = noop_create, .destroy = noop_destroy, .sync = noop_sync, .capabilities = INLET_CAP_REENTRANT,
        };
        INLET_EXPORT const inlet_connector *inlet_connector_register(uint32_t v) { (void)v; return &table; }
        """

    @Test func aJobIsBoundByTheMaxAttemptsItWasQueuedWithNotTheSourcesCurrentOne() async throws {
        // The source now says 10 (a reloaded config); the job was queued when it said 2, which
        // is what `inlet jobs show` prints and what a rescue after a crash goes by.
        let engine = try EngineHarness(sources: EngineHarness.echoSource(
            "hopeless", config: #"{ records: [], fail_after: 0 }"#,
            settings: "retry: { max_attempts: 10, backoff: 1ms, max_backoff: 2ms }"))
        engine.start()
        let id = try engine.enqueue("hopeless", maxAttempts: 2)
        try await engine.waitUntil("the job is quarantined") { try engine.job(id).state == .quarantined }
        await engine.stop()
        #expect(try engine.outcomes(id) == ["retry", "retry"])
        #expect(try engine.job(id).lastError?.hasPrefix("out of attempts (2/2)") == true)
    }

    @Test func rateLimitWaitsExactlyItsRetryAfterWithoutCountingTheAttempt() async throws {
        let engine = try EngineHarness(sources: EngineHarness.echoSource(
            "limited", config: #"{ records: [], fail_after: 0, fail_status: rate_limited }"#))
        engine.start()
        let before = Date()
        let id = try engine.enqueue("limited")
        try await engine.waitUntil("the attempt is audited") { try engine.outcomes(id) == ["rate_limited"] }
        await engine.stop()
        let job = try engine.job(id)
        #expect(job.state == .queued)
        #expect(job.attempts == 0)
        #expect(job.runAt >= before.addingTimeInterval(42))
        #expect(job.runAt <= Date().addingTimeInterval(42))
    }

    @Test func aTimedOutCallIsCancelledAndRetried() async throws {
        let engine = try EngineHarness(sources: EngineHarness.echoSource(
            "slow", config: #"{ hang: until_cancelled }"#,
            settings: "timeout: 100ms\n    retry: { max_attempts: 2, backoff: 1ms, max_backoff: 1ms }"))
        engine.start()
        let id = try engine.enqueue("slow")
        try await engine.waitUntil("the job is quarantined") { try engine.job(id).state == .quarantined }
        await engine.stop()
        #expect(try engine.outcomes(id) == ["timed_out", "timed_out"])
    }

    @Test func aCallThatNeverReturnsDisablesOnlyItsSource() async throws {
        let engine = try EngineHarness(
            sources: EngineHarness.echoSource("stuck", config: #"{ hang: ignore_cancel }"#, settings: "timeout: 100ms")
                + "\n" + EngineHarness.echoSource("healthy", config: #"{ records: [{ key: "h" }] }"#),
            extra: "watchdog: { cancel_grace: 100ms, max_stuck_calls: 1 }")
        engine.start()
        let stuck = try engine.enqueue("stuck")
        try await engine.waitUntil("the watchdog disables the source") { try engine.status("stuck", "disabled_reason") != nil }
        #expect(try engine.status("stuck", "stuck_calls") == "1")
        #expect(try engine.outcomes(stuck) == ["stuck"])
        // The stuck job is back in the queue but its source takes no more jobs; the other runs on.
        let healthy = try engine.enqueue("healthy")
        try await engine.waitUntil("the healthy source runs") { try engine.job(healthy).state == .succeeded }
        try await Task.sleep(for: .milliseconds(200))
        #expect(try engine.job(stuck).state == .queued)
        await engine.stop()
    }

    @Test func theBreakerOpensAfterConsecutiveFailuresAndDefersJobs() async throws {
        let engine = try EngineHarness(sources: EngineHarness.echoSource(
            "down", config: #"{ records: [], fail_after: 0 }"#,
            settings: "retry: { max_attempts: 10, backoff: 1ms, max_backoff: 1ms }\n    circuit_breaker: { failure_threshold: 2, open_for: 1h }"))
        engine.start()
        let before = Date()
        let id = try engine.enqueue("down")
        try await engine.waitUntil("the breaker opens") { try engine.status("down", "breaker_state") == "open" }
        try await engine.waitUntil("the job is deferred") { try engine.job(id).runAt > before.addingTimeInterval(3000) }
        await engine.stop()
        let job = try engine.job(id)
        #expect(job.state == .queued)  // deferred, never failed or dropped
        #expect(job.attempts == 2)
        #expect(try engine.outcomes(id) == ["retry", "retry"])
    }

    @Test func aBurstOf5xxDuringOneJobOpensTheBreakerAndDefersTheSourcesJobs() async throws {
        let server = try await UpstreamTestServer { _ in .init(503, "upstream down") }
        let engine = try EngineHarness(
            sources: EngineHarness.echoSource(
                "flaky", config: "{}", settings: "circuit_breaker: { failure_threshold: 3, open_for: 1h }"),
            withHTTP: true)
        engine.start()
        let before = Date()
        // One job that meets five 503s: each is an answer (the job succeeds), and each counts
        // against the breaker.
        let burst = try engine.queue.enqueue(JobRequest(
            source: "flaky", kind: "http", args: #"{"url": "\#(server.url("/api"))", "repeat": 5}"#, maxAttempts: 3)).jobID!
        try await engine.waitUntil("the job ends") { try engine.job(burst).state == .succeeded }
        try await engine.waitUntil("the breaker opens") { try engine.status("flaky", "breaker_state") == "open" }
        let next = try engine.enqueue("flaky")
        try await engine.waitUntil("the next job is deferred") { try engine.job(next).runAt > before.addingTimeInterval(3000) }
        await engine.stop()
        await server.stop()
        #expect(try engine.outcomes(burst) == ["succeeded"])  // job outcomes as they were
        #expect(try engine.job(next).state == .queued)
        #expect(try engine.job(next).attempts == 0)
        #expect(server.requests.count == 5)
    }

    @Test func jobsLeasedAheadOfASourceWhoseBreakerOpensAreGivenBackAndDeferred() async throws {
        // One worker, five jobs of a failing source leased ahead in one batch: after the second
        // failure the breaker opens, and the three not yet started go back without an attempt.
        let engine = try EngineHarness(
            sources: EngineHarness.echoSource(
                "down", config: #"{ records: [], fail_after: 0 }"#,
                settings: "retry: { max_attempts: 10, backoff: 1h, max_backoff: 1h }\n    circuit_breaker: { failure_threshold: 2, open_for: 1h }"),
            workers: 1, leaseAheadBudget: .seconds(3600))
        let ids = try (0..<5).map { _ in try engine.enqueue("down") }
        let before = Date()
        engine.start()
        try await engine.waitUntil("the breaker opens") { try engine.status("down", "breaker_state") == "open" }
        try await engine.waitUntil("every job is queued and deferred") {
            try ids.allSatisfy { let job = try engine.job($0); return job.state == .queued && job.runAt > before.addingTimeInterval(3000) }
        }
        await engine.stop()
        let jobs = try ids.map { try engine.job($0) }
        #expect(jobs.map(\.attempts).reduce(0, +) == 2)
        #expect(try ids.map { try engine.outcomes($0).count }.reduce(0, +) == 2)
    }

    @Test func aStoredWebhookDeliveryReachesTheConnectorsWebhookEntry() async throws {
        let engine = try EngineHarness(sources: EngineHarness.echoSource("hooks", config: #"{ records: [] }"#))
        let body = Array(#"{"zen": "Keep it logically awesome."}"#.utf8)
        let queue = engine.queue
        let stored = try await engine.database.pool.write { db in
            try WebhookDelivery.store(
                source: "hooks", deliveryID: "d-1", event: "ping", headers: #"{"x-github-event":"ping"}"#, body: body,
                maxAttempts: 5, queue: queue, now: Date(), in: db)
        }
        guard case .queued(_, let jobID) = stored else { Issue.record("not queued: \(stored)"); return }
        // The same delivery again is a no-op that names the first job.
        let again = try await engine.database.pool.write { db in
            try WebhookDelivery.store(
                source: "hooks", deliveryID: "d-1", event: "ping", headers: "{}", body: body, maxAttempts: 5,
                queue: queue, now: Date(), in: db)
        }
        #expect(again == .duplicate(jobID: jobID))
        #expect(try engine.job(jobID).priority == JobPriority.webhook)

        engine.start()
        try await engine.waitUntil("the webhook job succeeds") { try engine.job(jobID).state == .succeeded }
        await engine.stop()
        let content = try await engine.database.pool.read { db in
            try Data.fetchOne(db, sql: """
                SELECT b.content FROM documents d JOIN blobs b ON b.sha = d.blob_sha
                WHERE d.source = 'hooks' AND d.key = 'event/d-1'
                """)
        }
        #expect(content == Data(body))
    }

    @Test func aWebhookForAConnectorWithoutWebhooksIsQuarantined() async throws {
        let directory = try TemporaryDirectory()
        let plugin = try CCompiler.sharedLibrary(source: minimalConnectorSource(), in: directory, name: "mini")
        let engine = try EngineHarness(sources: """
              - name: plain
                connector: mini
                plugin: \(plugin)
                config: {}
            """)
        let queue = engine.queue
        let stored = try await engine.database.pool.write { db in
            try WebhookDelivery.store(
                source: "plain", deliveryID: "d-9", event: "push", headers: "{}", body: Array("{}".utf8), maxAttempts: 5,
                queue: queue, now: Date(), in: db)
        }
        guard case .queued(_, let jobID) = stored else { Issue.record("not queued: \(stored)"); return }
        engine.start()
        try await engine.waitUntil("the job is quarantined") { try engine.job(jobID).state == .quarantined }
        await engine.stop()
        #expect(try engine.job(jobID).lastError?.contains("does not handle webhooks") == true)
    }

    @Test func aServiceThatFailsStopsTheEngineGracefullyAndTheRunningJobFinishes() async throws {
        struct PortTaken: Error {}
        /// Fails once the job runs, as the HTTP server does when its port is taken.
        struct FailingService: Service {
            let database: InletDatabase
            func run() async throws {
                while try await database.pool.read({ db in try Int.fetchOne(db, sql: "SELECT count(*) FROM jobs WHERE state = 'running'") }) == 0 {
                    try await Task.sleep(for: .milliseconds(10))
                }
                throw PortTaken()
            }
        }
        let engine = try EngineHarness(
            sources: EngineHarness.echoSource("slow", config: #"{ records: [{ key: "k", content: "x" }], sleep_ms: 300 }"#),
            shutdownGrace: .seconds(60), alongside: { [FailingService(database: $0)] })
        let id = try engine.enqueue("slow")
        engine.start()
        let error = await engine.ended()
        #expect(error is PortTaken, "\(String(describing: error))")
        // Stopped as SIGTERM stops it: the running job finished within the grace (cancelling the
        // group instead, as before, cancelled the call and gave the job back).
        #expect(try engine.job(id).state == .succeeded)
        #expect(try engine.outcomes(id) == ["succeeded"])
    }

    @Test func cancellingARunningJobRevokesItsLeaseAndItsPluginStopsWithoutCommitting() async throws {
        let engine = try EngineHarness(
            sources: EngineHarness.echoSource("long", config: #"{ hang: until_cancelled }"#), leaseDuration: .milliseconds(300))
        engine.start()
        let id = try engine.enqueue("long")
        try await engine.waitUntil("the job runs") { try engine.job(id).state == .running }
        _ = try engine.queue.cancel(id: id)
        // The pool's next heartbeat finds the lease gone and cancels the call; the plugin returns
        // and its attempt commits nothing (the job stays cancelled; its one audit row is the
        // cancel's own, not a second one from the worker). The source
        // (concurrency 1) is free again only once the call returned.
        let other = try engine.enqueue("long")
        try await engine.waitUntil("the next job runs") { try engine.job(other).state == .running }
        await engine.stop()
        #expect(try engine.job(id).state == .cancelled)
        #expect(try engine.outcomes(id) == ["cancelled"])
    }

    @Test func aHeartbeatRevokesOnlyLeasesTakenFromJobsStillRunningOrWaiting() {
        let running = Lease(jobID: 1, leaseID: 10, attempt: 1)
        let waiting = Lease(jobID: 2, leaseID: 10, attempt: 1)
        let committing = Lease(jobID: 3, leaseID: 10, attempt: 1)
        let finished = Lease(jobID: 4, leaseID: 10, attempt: 1)
        let older = Lease(jobID: 5, leaseID: 7, attempt: 1)
        var held: [Int64: WorkerPool.Held] = [
            1: .init(lease: running), 2: .init(lease: waiting), 3: .init(lease: committing),
            5: .init(lease: Lease(jobID: 5, leaseID: 10, attempt: 2)),
        ]
        held[3]?.callEnded = true
        // Job 3's call returned and its outcome is committing (its commit checks the lease); job 4
        // finished and left the pool; job 5's lost lease is an earlier one of a job leased again.
        let lost: Set<Lease> = [running, waiting, committing, finished, older]
        #expect(WorkerPool.revoked(lost, held: held) == [running, waiting])
    }

    @Test func jobsLeasedAheadAreGivenBackAtShutdownWithoutCountingAnAttempt() async throws {
        // One worker: a `waiting` job runs first (its source's pace is then known, so it gets jobs
        // leased ahead: a budget of an hour of them); then `busy` hangs on the worker while five
        // more `waiting` jobs are leased ahead in one batch, beyond the source's concurrency.
        let single = try EngineHarness(
            sources: EngineHarness.echoSource("busy", config: #"{ hang: until_cancelled }"#)
                + "\n" + EngineHarness.echoSource("waiting", config: #"{ records: [] }"#),
            workers: 1, leaseAheadBudget: .seconds(3600))
        let first = try single.queue.enqueue(JobRequest(source: "waiting", priority: 1)).jobID!
        let busy = try single.queue.enqueue(JobRequest(source: "busy", priority: 2)).jobID!
        let waiting = try (0..<5).map { _ in try single.enqueue("waiting") }
        single.start()
        try await single.waitUntil("the first job succeeds, then busy runs and the others are leased") {
            try single.job(first).state == .succeeded && ([busy] + waiting).allSatisfy { try single.job($0).state == .running }
        }
        await single.stop()
        for id in [busy] + waiting {
            let job = try single.job(id)
            #expect(job.state == .queued, "job \(id)")
            #expect(job.attempts == 0, "job \(id)")
        }
        // A call cut short by the shutdown says nothing of the source's health.
        #expect(try single.status("busy", "consecutive_failures") == "0")
    }

    @Test func oneWorkerRunsJobsOfSeveralSourcesBackToBackEachOnce() async throws {
        // One worker: a job's outcome is group-committed (with the next lease) while the next
        // job's call already runs; every job still succeeds once, with one audit row.
        let names = ["p", "q", "r"]
        let single = try EngineHarness(
            sources: names.map { EngineHarness.echoSource($0, config: #"{ records: [{ key: "k", content: "x" }] }"#) }
                .joined(separator: "\n"),
            workers: 1)
        var ids: [Int64] = []
        for _ in 0..<20 {
            for name in names { ids.append(try single.enqueue(name)) }
        }
        single.start()
        try await single.waitUntil("every job succeeds") { try single.queue.depth()[.succeeded] == ids.count }
        await single.stop()
        for id in ids {
            #expect(try single.job(id).attempts == 1, "job \(id)")
            #expect(try single.outcomes(id) == ["succeeded"], "job \(id)")
        }
        for name in names { #expect(try single.status(name, "last_outcome") == "succeeded") }
    }
}
