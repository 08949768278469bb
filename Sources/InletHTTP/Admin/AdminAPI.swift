import Foundation
import HTTPTypes
import Hummingbird
import InletCore

/// The admin API under `/v1`, behind a bearer token: jobs, on-demand syncs, quarantine.
package struct AdminAPI: Sendable {
    let config: LiveConfig
    let queue: JobQueue
    let quarantine: QuarantineStore
    let availability: SourceAvailability
    let wakeup: Wakeup?

    /// The API's routes (`register` adds these), for the answers to requests none matches.
    static let routes: [(method: HTTPRequest.Method, path: String)] = [
        (.get, "v1/jobs"), (.get, "v1/jobs/:id"), (.post, "v1/sources/:name/sync"), (.get, "v1/quarantine"),
        (.post, "v1/quarantine/:id/retry"), (.delete, "v1/quarantine/:id"),
    ]

    func register(on router: Router<some RequestContext>) {
        let v1 = router.group("v1").add(middleware: BearerTokenMiddleware(config: config))
        v1.get("jobs") { request, _ in try listJobs(request) }
        v1.get("jobs/:id") { request, context in
            try Self.refuseUnknown(request, accepted: [])
            return try showJob(id(context))
        }
        v1.post("sources/:name/sync") { request, context in
            let name = context.parameters.get("name") ?? ""
            return try await Self.offPool { try sync(name, request) }
        }
        v1.get("quarantine") { request, _ in try listQuarantine(request) }
        v1.post("quarantine/:id/retry") { request, context in
            try Self.refuseUnknown(request, accepted: [])
            let id = try id(context)
            return try await Self.offPool { try retryQuarantined(id) }
        }
        v1.delete("quarantine/:id") { request, context in
            try Self.refuseUnknown(request, accepted: [])
            let id = try id(context)
            return try await Self.offPool { try dropQuarantined(id) }
        }
    }

    /// Runs a handler that writes on a thread of its own: a write waits for SQLite's one writer
    /// (a large sync commit, a prune batch may hold it for seconds), and the cooperative pool's
    /// few threads also answer webhooks, which must stay fast.
    static func offPool(_ work: @escaping @Sendable () throws -> Response) async throws -> Response {
        try await PluginThread.run(name: "inlet-admin") { Result { try work() } }.get()
    }

    // MARK: - Jobs

    func listJobs(_ request: Request) throws -> Response {
        let query = request.uri.queryParameters
        try Self.refuseUnknown(request, accepted: ["state", "source", "limit"])
        var state: JobState?
        if let text = query["state"].map(String.init) {
            guard let parsed = JobState(rawValue: text) else {
                let states = JobState.allCases.map(\.rawValue).joined(separator: ", ")
                throw APIError(.badRequest, code: "bad_request", "unknown state '\(text)'; expected one of \(states)")
            }
            state = parsed
        }
        var limit = 100
        if let text = query["limit"].map(String.init) {
            guard let parsed = Int(text), (1...1000).contains(parsed) else {
                throw APIError(.badRequest, code: "bad_request", "limit must be an integer from 1 to 1000, got '\(text)'")
            }
            limit = parsed
        }
        let jobs = try queue.list(state: state, source: query["source"].map(String.init), limit: limit)
        return JSONBody.response(["jobs": jobs.map(JobView.init)])
    }

    func showJob(_ id: Int64) throws -> Response {
        guard let job = try queue.job(id: id) else { throw APIError(.notFound, code: "not_found", "no job \(id)") }
        return JSONBody.response(JobView(job))
    }

    /// Enqueues a sync (coalesced with one already queued, by its unique key `sync:<name>`);
    /// `?full=true` asks for a full one, as `inlet sync --full` does.
    func sync(_ name: String, _ request: Request) throws -> Response {
        try Self.refuseUnknown(request, accepted: ["full"])
        var full = false
        if let text = request.uri.queryParameters["full"].map(String.init) {
            guard let parsed = Bool(text) else {
                throw APIError(.badRequest, code: "bad_request", "full must be true or false, got '\(text)'")
            }
            full = parsed
        }
        guard config.config.source(named: name) != nil else {
            throw APIError(.notFound, code: "not_found", "no source '\(name)' in the config")
        }
        let source: SourceConfig
        do {
            source = try runnableSource(named: name)
        } catch let error as JobQueueError {
            throw Self.apiError(error)
        }
        let outcome = try queue.enqueue(
            JobRequest(source: name, args: full ? #"{"full":true}"# : "{}", priority: JobPriority.manual,
                       uniqueKey: JobRequest.syncKey(source: name), maxAttempts: source.retry.maxAttempts))
        switch outcome {
        case .enqueued(let id):
            wakeup?.signal()
            return JSONBody.response(SyncAnswer(jobID: id, coalesced: false), status: .accepted)
        case .coalesced(let id):
            InletMetrics.coalesced(source: name)
            return JSONBody.response(SyncAnswer(jobID: id, coalesced: true), status: .accepted)
        case .full:
            throw APIError(
                .tooManyRequests, code: "queue_full", "the job queue holds queue.max_size jobs; retry later",
                headers: [.retryAfter: "\(WebhookReceiver.retryAfterSeconds)"])
        }
    }

    struct SyncAnswer: Encodable {
        var jobID: Int64
        var coalesced: Bool
        enum CodingKeys: String, CodingKey { case jobID = "job_id", coalesced }
    }

    // MARK: - Quarantine

    func listQuarantine(_ request: Request) throws -> Response {
        try Self.refuseUnknown(request, accepted: ["source"])
        let entries = try quarantine.list(source: request.uri.queryParameters["source"].map(String.init))
        return JSONBody.response(["entries": entries.map(QuarantineView.init)])
    }

    func retryQuarantined(_ id: Int64) throws -> Response {
        do {
            guard let entry = try quarantine.entry(id: id) else { throw JobQueueError(.notFound, "no quarantine entry \(id)") }
            // Retried for a source that cannot run it, the job would wait in the queue for good.
            let source = try runnableSource(named: entry.source)
            let outcome = try quarantine.retry(id: id, maxAttempts: source.retry.maxAttempts)
            wakeup?.signal()
            switch outcome {
            case .jobRequeued(let job):
                return JSONBody.response(SyncAnswer(jobID: job, coalesced: false), status: .accepted)
            case .syncEnqueued(let enqueued):
                if case .coalesced = enqueued { InletMetrics.coalesced(source: source.name) }
                let coalesced = if case .coalesced = enqueued { true } else { false }
                return JSONBody.response(SyncAnswer(jobID: enqueued.jobID ?? 0, coalesced: coalesced), status: .accepted)
            }
        } catch let error as JobQueueError {
            throw Self.apiError(error)
        }
    }

    func dropQuarantined(_ id: Int64) throws -> Response {
        do {
            try quarantine.drop(id: id)
            return Response(status: .noContent)
        } catch let error as JobQueueError {
            throw Self.apiError(error)
        }
    }

    // MARK: - Helpers

    /// The config's source `name` if the daemon can run its jobs now: in the config, enabled,
    /// and neither without a working plugin nor disabled by the watchdog.
    func runnableSource(named name: String) throws -> SourceConfig {
        let source = try config.config.runnableSource(named: name)
        if let why = availability.reason(for: name) {
            throw JobQueueError(.sourceUnavailable, Orchestrator.cannotRunNow(source: name, reason: why))
        }
        return source
    }

    /// 400 for a query parameter the endpoint does not know: a misspelt filter must not answer
    /// as if it had filtered.
    static func refuseUnknown(_ request: Request, accepted: [String]) throws {
        var seen: Set<String> = []
        for parameter in request.uri.queryParameters {
            let key = String(parameter.key)
            guard accepted.contains(key) else {
                let expected = accepted.isEmpty ? "this route takes none" : "expected \(accepted.map { "'\($0)'" }.joined(separator: ", "))"
                throw APIError(.badRequest, code: "bad_request", "unknown parameter '\(key)'; \(expected)")
            }
            // Which of two values would count is a guess: refused rather than guessed.
            guard seen.insert(key).inserted else {
                throw APIError(.badRequest, code: "bad_request", "parameter '\(key)' is given more than once")
            }
        }
    }

    func id(_ context: some RequestContext) throws -> Int64 {
        let text = context.parameters.get("id") ?? ""
        guard let id = Int64(text) else { throw APIError(.badRequest, code: "bad_request", "'\(text)' is not an id") }
        return id
    }

    static func apiError(_ error: JobQueueError) -> APIError {
        switch error.code {
        case .notFound: APIError(.notFound, code: "not_found", error.message)
        case .invalidState: APIError(.conflict, code: "invalid_state", error.message)
        case .sourceUnavailable: APIError(.conflict, code: "source_unavailable", error.message)
        case .full:
            APIError(.tooManyRequests, code: "queue_full", error.message, headers: [.retryAfter: "\(WebhookReceiver.retryAfterSeconds)"])
        default: APIError(.internalServerError, code: "internal", error.message)
        }
    }
}

/// A job as the admin API shows it.
struct JobView: Encodable {
    var id: Int64
    var source: String
    var kind: String
    /// The args object itself, as `inlet jobs list --json` gives it (not a string holding JSON).
    var args: JSONArgs
    var priority: Int
    var state: String
    var attempts: Int
    var maxAttempts: Int
    var runAt: Date
    var uniqueKey: String?
    var coalesced: Int
    var lastError: String?
    var createdAt: Date
    var updatedAt: Date
    var startedAt: Date?
    var finishedAt: Date?

    init(_ job: Job) {
        id = job.id
        source = job.source
        kind = job.kind
        args = JSONArgs(job.args)
        priority = job.priority
        state = job.state.rawValue
        attempts = job.attempts
        maxAttempts = job.maxAttempts
        runAt = job.runAt
        uniqueKey = job.uniqueKey
        coalesced = job.coalesced
        lastError = job.lastError
        createdAt = job.createdAt
        updatedAt = job.updatedAt
        startedAt = job.startedAt
        finishedAt = job.finishedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, source, kind, args, priority, state, attempts, maxAttempts = "max_attempts", runAt = "run_at"
        case uniqueKey = "unique_key", coalesced, lastError = "last_error", createdAt = "created_at", updatedAt = "updated_at"
        case startedAt = "started_at", finishedAt = "finished_at"
    }
}

/// A quarantine entry as the admin API shows it (the bytes by size only).
struct QuarantineView: Encodable {
    var id: Int64
    var source: String
    var kind: String
    var key: String
    var error: String
    var size: Int?
    var jobID: Int64?
    var createdAt: String
    var seen: Int
    var lastSeenAt: String

    init(_ entry: QuarantineStore.Entry) {
        id = entry.id
        source = entry.source
        kind = entry.kind
        key = entry.key
        error = entry.error
        size = entry.bytes?.count
        jobID = entry.jobID
        createdAt = entry.createdAt
        seen = entry.seen
        lastSeenAt = entry.lastSeenAt
    }

    enum CodingKeys: String, CodingKey {
        case id, source, kind, key, error, size, jobID = "job_id", createdAt = "created_at", seen, lastSeenAt = "last_seen_at"
    }
}

/// A job's args (a JSON object, as the jobs table's CHECK keeps them) encoded as JSON itself.
/// The plugin kit's `JSONValue` has the same shape, but the host does not link the plugin kit:
/// Swift plugins carry their own copy, and an executable exporting one could have a plugin's
/// symbols bind to the host's build of it instead.
enum JSONArgs: Codable {
    case null, bool(Bool), integer(Int64), number(Double), string(String)
    case array([JSONArgs]), object([String: JSONArgs])

    init(_ text: String) {
        self = (try? JSONDecoder().decode(JSONArgs.self, from: Data(text.utf8))) ?? .object([:])
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Int64.self) { self = .integer(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONArgs].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONArgs].self)) }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}
