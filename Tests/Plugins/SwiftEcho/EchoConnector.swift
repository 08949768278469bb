import Foundation
import InletPluginKit

extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}

/// A tiny connector for the tests: it emits the records its config lists, counts its runs in
/// state, and can be told to fail in each way the ABI knows.
final class EchoConnector: Connector {
    static let name = "swift-echo"
    static let version = "0.1.0"
    static let summary = "Test connector: emits the records its config lists"
    static let supportsWebhooks = true
    static let configSchema: String? = """
        {"type": "object", "additionalProperties": false,
         "properties": {
           "records": {"type": "array", "items": {"type": "object"}},
           "delete": {"type": "array", "items": {"type": "string"}},
           "fail_after": {"type": "integer", "minimum": 0},
           "fail_status": {"type": "string", "enum": ["retry", "failed", "rate_limited"]},
           "refuse": {"type": "string"},
           "create_retry": {"type": "string"},
           "crash": {"type": "boolean"},
           "crash_create": {"type": "boolean"},
           "checkpoint_after": {"type": "integer", "minimum": 1},
           "sequence": {"type": "object"},
           "sleep_ms": {"type": "integer", "minimum": 0},
           "hang": {"type": "string", "enum": ["until_cancelled", "ignore_cancel"]},
           "hang_create": {"type": "boolean"},
           "fail_runs": {"type": "integer", "minimum": 0},
           "http_url": {"type": "string"},
           "follow_ups": {"type": "integer", "minimum": 0},
           "hang_item": {"type": "integer", "minimum": 0},
           "fail_item": {"type": "integer", "minimum": 0},
           "stuck_item": {"type": "integer", "minimum": 0},
           "discover_item": {"type": "integer", "minimum": 0},
           "_inlet": {"type": "object"}}}
        """

    struct Settings: Decodable {
        struct Record: Decodable {
            var key: String
            var kind: String?
            var content: String?
        }
        var records: [Record]?
        var delete: [String]?
        var failAfter: Int?
        var failStatus: String?
        var refuse: String?
        /// `create` answers RETRY with this message (a transient problem, not a bad config).
        var createRetry: String?
        /// A sync writes through a null pointer: SIGSEGV, in the host's process.
        var crash: Bool?
        /// So does `create`.
        var crashCreate: Bool?
        var checkpointAfter: Int?
        /// Emits `count` numbered records from the `next` checkpoint on, `chunk` per checkpoint.
        struct Sequence: Decodable {
            var count: Int
            var chunk: Int
        }
        var sequence: Sequence?
        /// Sleeps this long per record (or per sequence chunk), polling for cancellation.
        var sleepMs: Int?
        /// `until_cancelled`: run until the host cancels; `ignore_cancel`: never return.
        var hang: String?
        /// `create` never returns.
        var hangCreate: Bool?
        /// The first N runs fail (counted in state, committed by nothing: so counted in memory).
        var failRuns: Int?
        /// Each sync first GETs this URL through the host and emits the answer as record `http`.
        var httpUrl: String?
        /// Each sync asks for this many follow-up jobs of kind `item` (args `{"n": i}`, unique
        /// key `item:i`), each of which emits record `item-i` (sleeping `sleep_ms` first).
        var followUps: Int?
        /// The `item` job of this number runs until the host cancels it.
        var hangItem: Int?
        /// The `item` job of this number fails as `fail_status` says.
        var failItem: Int?
        /// The `item` job of this number never returns, cancelled or not.
        var stuckItem: Int?
        /// The `item` job of this number asks for a discovery: a `sync` job (unique key
        /// `sync:SOURCE`, args `{"discovery": true}`) that emits record `discovered`.
        var discoverItem: Int?
    }

    /// Runs started by this instance (for `fail_runs`).
    private var runsStarted = 0

    let settings: Settings
    let source: String

    init(config: ConnectorConfig, host: InletHost) throws {
        settings = try config.decode(Settings.self)
        source = config.sourceName
        if let refuse = settings.refuse { throw ConnectorError.failed(refuse) }
        if let later = settings.createRetry { throw ConnectorError.retry(later) }
        if settings.crashCreate == true { UnsafeMutablePointer<Int>(bitPattern: 8)!.pointee = 1 }
        if settings.hangCreate == true { while true { sleep(1) } }
        host.log(.debug, "echo connector created for \(source)")
    }

    func sync(kind: String, args: JSONObject, host: InletHost) throws {
        if kind == "http" { return try fetch(args: args, host: host) }
        if kind == "item" { return try item(args: args, host: host) }
        if args["discovery"]?.boolValue == true {
            return try host.emit(key: "discovered", kind: "note", metadata: [:], content: Array("discovered".utf8))
        }
        for n in 0..<(settings.followUps ?? 0) {
            try host.enqueue(kind: "item", args: ["n": .int(n)], uniqueKey: "item:\(n)")
        }
        runsStarted += 1
        if settings.crash == true { UnsafeMutablePointer<Int>(bitPattern: 8)!.pointee = 1 }
        if let failRuns = settings.failRuns, runsStarted <= failRuns { try fail() }
        switch settings.hang {
        case "until_cancelled":
            while !host.isCancelled { try nap(50) }
            throw ConnectorError.retry("echo: cancelled")
        case "ignore_cancel":
            while true { try nap(1000, ignoringCancel: true) }
        default: break
        }
        if let sequence = settings.sequence { return try emitSequence(sequence, host: host) }
        if let url = settings.httpUrl { try fetch(args: JSONObject(bytes: JSONValue.object(["url": .string(url)]).jsonBytes()), host: host) }
        let runs = (try host.stateString("runs")).flatMap { Int($0) } ?? 0
        try host.setState("runs", String(runs + 1))
        let records = settings.records ?? []
        for (index, record) in records.enumerated() {
            if let failAfter = settings.failAfter, index == failAfter { try fail() }
            try host.emit(
                key: record.key, kind: record.kind ?? "note",
                metadata: ["run": .int(runs + 1), "source": .string(source)],
                content: record.content.map { Array($0.utf8) }
            )
            if let sleep = settings.sleepMs { try nap(sleep) }
            host.progress(done: index + 1, total: records.count)
            if let every = settings.checkpointAfter, (index + 1) % every == 0 { try host.checkpoint() }
        }
        if let failAfter = settings.failAfter, failAfter >= records.count { try fail() }
        for key in settings.delete ?? [] { try host.delete(key: key) }
    }

    func webhook(_ event: WebhookEvent, host: InletHost) throws {
        try host.emit(
            key: "event/\(event.deliveryID)", kind: "event", metadata: ["event": .string(event.name)], content: event.body
        )
    }

    /// Job kind `item`: record `item-N` for args `{"n": N}`.
    private func item(args: JSONObject, host: InletHost) throws {
        let n = args["n"]?.intValue ?? -1
        if n == settings.hangItem {
            while !host.isCancelled { try nap(20) }
            throw ConnectorError.retry("echo: item \(n) cancelled")
        }
        if n == settings.failItem { try fail() }
        if n == settings.stuckItem { while true { try nap(1000, ignoringCancel: true) } }
        if n == settings.discoverItem { try host.enqueue(kind: "sync", args: ["discovery": .bool(true)], uniqueKey: "sync:\(source)") }
        if let sleep = settings.sleepMs { try nap(sleep) }
        try host.emit(key: "item-\(n)", kind: "item", metadata: ["n": .int(n)], content: Array("item \(n)".utf8))
    }

    /// Job kind `http`: one request through the host's HTTP service, args
    /// `{"url": …, "method": …, "headers": {name: value}, "body": …, "cacheable": false, "key": …,
    /// "repeat": n}`; the (last) answer becomes record `key` (default `http`) of kind `http`:
    /// metadata status, not_modified and headers, content the body. A refused request fails the
    /// job as the host explained it (rate limited, retry, failed).
    private func fetch(args: JSONObject, host: InletHost) throws {
        guard let url = args["url"]?.stringValue else { throw ConnectorError.failed("echo: http job without url") }
        let headers = (args["headers"]?.objectValue ?? [:]).sorted { $0.key < $1.key }.map { (name: $0.key, value: $0.value.stringValue ?? "") }
        let request = HTTPRequest(
            method: args["method"]?.stringValue ?? "GET", url: url, headers: headers,
            body: args["body"]?.stringValue.map { Array($0.utf8) }, timeout: args["timeout_ms"]?.intValue.map { .milliseconds($0) },
            cacheable: args["cacheable"]?.boolValue ?? true)
        var response = try host.http(request)
        for _ in 1..<max(1, args["repeat"]?.intValue ?? 1) { response = try host.http(request) }
        var headerObject: [String: JSONValue] = [:]
        for (name, value) in response.headerLines { headerObject[name] = .string(value) }
        try host.emit(
            key: args["key"]?.stringValue ?? "http", kind: "http",
            metadata: ["status": .int(response.status), "not_modified": .bool(response.notModified), "headers": .object(headerObject)],
            content: response.body)
    }

    /// Emits records `rec-000000` … from the committed `next` on, checkpointing after each chunk.
    /// Each record's metadata names the `next` its run started from: if records were ever
    /// committed without their checkpoint, a rerun would emit them again with another start and
    /// bump their version, which the crash test detects.
    private func emitSequence(_ sequence: Settings.Sequence, host: InletHost) throws {
        let start = Int(try host.stateString("next") ?? "0") ?? 0
        var next = start
        while next < sequence.count {
            if host.isCancelled { throw ConnectorError.retry("echo: cancelled at \(next)") }
            let end = min(sequence.count, next + sequence.chunk)
            for index in next..<end {
                let key = "rec-" + String(index).leftPadded(to: 6)
                try host.emit(key: key, kind: "seq", metadata: ["index": .int(index), "run_started_at": .int(start)],
                              content: Array("record \(index)".utf8))
            }
            next = end
            try host.setState("next", String(next))
            if let sleep = settings.sleepMs { try nap(sleep) }
            try host.checkpoint()
            host.progress(done: next, total: sequence.count)
        }
    }

    private func nap(_ milliseconds: Int, ignoringCancel: Bool = false) throws {
        usleep(useconds_t(milliseconds) * 1000)
    }

    private func fail() throws -> Never {
        switch settings.failStatus ?? "retry" {
        case "failed": throw ConnectorError.failed("echo: told to fail")
        case "rate_limited": throw ConnectorError.rateLimited(retryAfter: .seconds(42), "echo: told to rate-limit")
        default: throw ConnectorError.retry("echo: told to fail")
        }
    }
}

@_cdecl("inlet_connector_register")
public func inletConnectorRegister(_ hostABI: UInt32) -> UnsafeRawPointer? {
    ConnectorExport.register(EchoConnector.self, hostABI: hostABI)
}
