import Foundation
import GRDB
import Logging
import Testing

@testable import InletCore

/// A temporary folder per test, removed at the end.
final class ScratchFolder: Sendable {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("inlet-github-tests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }
}

/// The GitHub connector as the daemon runs it: `libInletGitHub.so` loaded by the real host,
/// jobs committed by the real committer into a real SQLite database, every request through the
/// host's HTTP service to a local GitHub stand-in.
final class GitHubHarness: Sendable {
    static let source = "gh"
    let standIn: GitHubStandIn
    let folder: ScratchFolder
    let database: InletDatabase
    let instance: ConnectorInstance
    let http: HTTPService
    let logger = Logger(label: "github-test")

    /// The plugin as `swift build` left it beside the test binary (or in INLET_BIN_DIR).
    static var plugin: String {
        if let override = ProcessInfo.processInfo.environment["INLET_BIN_DIR"] { return override + "/libInletGitHub.so" }
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var folder = (exe as NSString).deletingLastPathComponent
        while folder.hasSuffix(".xctest") || folder.hasSuffix("Contents") || folder.hasSuffix("MacOS") {
            folder = (folder as NSString).deletingLastPathComponent
        }
        return folder + "/libInletGitHub.so"
    }

    private init(standIn: GitHubStandIn, folder: ScratchFolder, database: InletDatabase, instance: ConnectorInstance, http: HTTPService) {
        self.standIn = standIn
        self.folder = folder
        self.database = database
        self.instance = instance
        self.http = http
    }

    /// Starts a stand-in shaped by `setUp` and a connector instance with `config` (the token
    /// and base URL added unless given).
    static func start(config: [String: Any] = [:], clock: any ScheduleClock = SystemScheduleClock(), _ setUp: (inout FakeGitHub) -> Void) async throws -> GitHubHarness {
        let standIn = try await GitHubStandIn.start()
        standIn.world.withLock { setUp(&$0) }
        do {
            let folder = try ScratchFolder()
            let database = try InletDatabase(path: folder.file("inlet.db"))
            var block = config
            block["base_url"] = block["base_url"] ?? standIn.baseURL
            if block["app"] == nil, block["token_file"] == nil { block["token"] = block["token"] ?? "ghp_test" }
            let json = String(decoding: try JSONSerialization.data(withJSONObject: block), as: UTF8.self)
            let plugin = try PluginLibrary.load(path: Self.plugin)
            let http = HTTPService(database: database, clock: clock)
            let instance = try await ConnectorInstance.create(
                plugin: plugin, source: source, configJSON: json, dataDirectory: folder.file("data"), configDirectory: folder.path,
                logger: Logger(label: "github-test"), http: http)
            return GitHubHarness(standIn: standIn, folder: folder, database: database, instance: instance, http: http)
        } catch {
            await standIn.stop()
            throw error
        }
    }

    func stop() async {
        await instance.destroy()
        await standIn.stop()
    }

    /// What one job did: its status, what it committed, and the follow-up jobs it enqueued.
    struct JobResult {
        var status: PluginStatus
        var message: String?
        var retryAfter: Duration?
        var counts = CommitCounts()
        var followUps: [StagedBatch.FollowUpJob] = []

        var ok: Bool { status == .ok }
    }

    /// Runs one job (follow-ups are returned, not run), committing as a worker does.
    func run(_ kind: String = "sync", args: [String: Any] = [:]) async throws -> JobResult {
        let argsText = String(decoding: try JSONSerialization.data(withJSONObject: args), as: UTF8.self)
        let call = makeCall()
        return finish(call, await instance.sync(kind: kind, args: argsText, call: call))
    }

    /// Runs discovery, then every repository job it enqueued (as the daemon's workers would).
    func syncAll(full: Bool = false) async throws -> [JobResult] {
        var results = [try await run("sync", args: full ? ["full": true] : [:])]
        var pending = results[0].followUps
        while !pending.isEmpty {
            let job = pending.removeFirst()
            let args = try JSONSerialization.jsonObject(with: Data(job.args.utf8)) as? [String: Any] ?? [:]
            if job.kind == "sync" { continue }  // a discovery asked for by a repo job: the test runs it if it wants
            let result = try await run(job.kind, args: args)
            results.append(result)
        }
        return results
    }

    /// Hands one webhook delivery to the connector, stored first as the HTTP endpoint stores it.
    func webhook(_ event: String, _ body: [UInt8], delivery: String = UUID().uuidString) async throws -> JobResult {
        let queue = JobQueue(database: database, maxSize: 1000)
        let stored = try await database.pool.write { db in
            try WebhookDelivery.store(
                source: Self.source, deliveryID: delivery, event: event, headers: #"{"x-github-event":"\#(event)"}"#, body: body,
                maxAttempts: 5, queue: queue, now: Date(), in: db)
        }
        guard case .queued(_, let jobID) = stored, let job = try queue.job(id: jobID),
            let stored = try WebhookDelivery.forJob(args: job.args, in: database)
        else { throw StandInError(message: "the delivery was not stored: \(stored)") }
        let call = makeCall()
        return finish(call, await instance.webhook(stored, call: call))
    }

    private func makeCall() -> PluginCall {
        let committer = BatchCommitter(database: database)
        let commit: @Sendable (StagedBatch) throws -> BatchCommitter.Report = { batch in try committer.commit(batch, source: Self.source) }
        return PluginCall(
            source: Self.source, mode: .job(commit: commit), logger: logger, documents: committer.documents, state: committer.state,
            http: http)
    }

    private func finish(_ call: PluginCall, _ outcome: ConnectorInstance.CallResult) -> JobResult {
        var result = JobResult(status: outcome.status, message: outcome.message, retryAfter: outcome.retryAfter)
        for report in call.checkpoints {
            result.counts = result.counts + report.counts
            result.followUps += report.followUps
        }
        let staged = call.takeStaged()
        if outcome.status == .ok {
            do {
                let report = try BatchCommitter(database: database).commit(staged, source: Self.source)
                result.counts = result.counts + report.counts
                result.followUps += report.followUps
            } catch {
                result.status = .retry
                result.message = "commit failed: \(error)"
            }
        }
        return result
    }

    // MARK: - What the sink holds

    struct Document {
        var kind: String
        var deleted: Bool
        var version: Int
        var blobSHA: String?
        var metadata: [String: Any]
        var content: String?
    }

    func documents() throws -> [String: Document] {
        try database.pool.read { db in
            var out: [String: Document] = [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT d.key, d.kind, d.version, d.deleted, d.blob_sha, d.metadata, b.content FROM documents d
                LEFT JOIN blobs b ON b.sha = d.blob_sha WHERE d.source = ?
                """, arguments: [Self.source])
            {
                let metadata = try JSONSerialization.jsonObject(with: Data((row["metadata"] as String).utf8)) as? [String: Any] ?? [:]
                out[row["key"]] = Document(
                    kind: row["kind"], deleted: row["deleted"], version: row["version"], blobSHA: row["blob_sha"], metadata: metadata,
                    content: (row["content"] as Data?).map { String(decoding: $0, as: UTF8.self) })
            }
            return out
        }
    }

    /// Live records (not tombstoned), by key.
    func live() throws -> [String: Document] { try documents().filter { !$0.value.deleted } }

    func state(_ key: String) throws -> String? {
        try StateStore(database: database).value(source: Self.source, key: key).map { String(decoding: $0, as: UTF8.self) }
    }
}

extension Array where Element == GitHubHarness.JobResult {
    /// Every job succeeded.
    var allOK: Bool { allSatisfy { $0.ok } }
}

extension Array where Element == ReceivedRequest {
    /// `METHOD path` of each request, for exact comparisons.
    var lines: [String] { map { "\($0.method) \($0.path)" } }
    /// Requests answered 304 (free) and the others (counted against the rate limit).
    var notModified: Int { filter { $0.status == 304 }.count }
    var counted: Int { filter { $0.status != 304 }.count }
}

/// Polls until `condition` holds: a deadline against hanging, not a timing assertion.
/// - Parameter explain: what to add to the failure (a daemon's log).
func waitUntil(_ what: String, limit: Duration = .seconds(60), explain: () -> String = { "" }, _ condition: () throws -> Bool) async throws {
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        if (try? condition()) == true { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    throw StandInError(message: "timed out waiting for: \(what)\(explain())")
}
