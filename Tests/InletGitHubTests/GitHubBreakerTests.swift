import Foundation
import GRDB
import Logging
import ServiceLifecycle
import Testing

@testable import InletCore

/// The daemon's engine in-process (worker pool, runner, orchestrator with its breakers, the
/// host's HTTP service) running a github source against the stand-in.
final class GitHubEngine {
    let folder: ScratchFolder
    let database: InletDatabase
    let queue: JobQueue
    private let group: ServiceGroup
    private var task: Task<Void, any Error>?

    init(standIn: GitHubStandIn, settings: String, config: String) throws {
        folder = try ScratchFolder()
        let yaml = """
            data_dir: \(folder.path)/var
            workers: 2
            sources:
              - name: \(GitHubHarness.source)
                connector: github
                plugin: \(GitHubHarness.plugin)
                \(settings)
                config: { owner: acme, token: ghp_test, base_url: "\(standIn.baseURL)", \(config) }
            """
        let loaded = try ConfigLoader.load(yaml: yaml, file: folder.file("inlet.yaml"), environment: [:])
        database = try InletDatabase(dataDirectory: loaded.dataDirectory)
        queue = JobQueue(database: database, maxSize: loaded.queue.maxSize)
        let logger = Logger(label: "github-engine-test")
        let clock = SystemScheduleClock()
        let wakeup = Wakeup()
        let http = HTTPService(database: database, clock: clock)
        let orchestrator = Orchestrator(
            sources: ConfiguredSources(config: loaded, environment: [:]), database: database, clock: clock, logger: logger, wakeup: wakeup,
            http: http)
        let runner = JobRunner(queue: queue, clock: clock, logger: logger, watchdog: loaded.watchdog)
        let pool = WorkerPool(
            orchestrator: orchestrator, queue: queue, runner: runner, wakeup: wakeup, workers: loaded.workers, owner: "test",
            shutdownGrace: .milliseconds(200), clock: clock, logger: logger)
        group = ServiceGroup(services: [pool], logger: logger)
    }

    func start() {
        let group = self.group
        task = Task { try await group.run() }
    }

    func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task?.value
    }

    func enqueue(_ kind: String = "sync", args: String = "{}") throws -> Int64 {
        try #require(try queue.enqueue(JobRequest(source: GitHubHarness.source, kind: kind, args: args, maxAttempts: 10)).jobID)
    }

    func job(_ id: Int64) throws -> Job { try #require(try queue.job(id: id)) }

    func breakerState() throws -> String? {
        try database.pool.read { db in
            try String.fetchOne(db, sql: "SELECT breaker_state FROM source_status WHERE source = ?", arguments: [GitHubHarness.source])
        }
    }
}

@Suite("GitHub connector: breaker")
struct GitHubBreakerTests {
    @Test func aBurstOf5xxOpensTheSourcesBreakerAndNoFurtherRequestIsSent() async throws {
        let standIn = try await GitHubStandIn.start()
        standIn.world.withLock { world in
            world.owners["acme"] = "orgs"
            world.addRepository(FakeGitHub.Repository(owner: "acme", name: "widgets", files: ["a.txt": [0x61]]))
            world.scripted["/orgs/acme/repos"] = Array(
                repeating: ScriptedAnswer(status: 502, headers: ["content-type": "application/json"], body: #"{"message":"Server Error"}"#),
                count: 20)
        }
        let engine = try GitHubEngine(
            standIn: standIn,
            settings: "retry: { max_attempts: 10, backoff: 1ms, max_backoff: 1ms }\n    circuit_breaker: { failure_threshold: 3, open_for: 1h }",
            config: "issues: false")
        engine.start()
        let before = Date()
        let id = try engine.enqueue()
        try await waitUntil("the breaker opens") { try engine.breakerState() == "open" }
        try await waitUntil("the job is deferred") { try engine.job(id).runAt > before.addingTimeInterval(3000) }
        await engine.stop()
        await standIn.stop()

        // The breaker hears each 502 from the host's HTTP service and each failed attempt from
        // the job: 502, failed attempt, 502 reaches the threshold of 3 during the second attempt;
        // then the open breaker holds the job back for an hour, and nothing more is sent.
        let job = try engine.job(id)
        #expect(job.state == .queued)
        #expect(job.attempts == 2)
        let sent = standIn.requests()
        #expect(sent.lines == Array(repeating: "GET /orgs/acme/repos", count: 2), "\(sent)")
        #expect(sent.allSatisfy { $0.status == 502 })
    }
}
