import InletPluginKit

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
           "checkpoint_after": {"type": "integer", "minimum": 1},
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
        var checkpointAfter: Int?
    }

    let settings: Settings
    let source: String

    init(config: ConnectorConfig, host: Host) throws {
        settings = try config.decode(Settings.self)
        source = config.sourceName
        if let refuse = settings.refuse { throw ConnectorError.failed(refuse) }
        host.log(.debug, "echo connector created for \(source)")
    }

    func sync(kind: String, args: JSONObject, host: Host) throws {
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
            host.progress(done: index + 1, total: records.count)
            if let every = settings.checkpointAfter, (index + 1) % every == 0 { try host.checkpoint() }
        }
        if let failAfter = settings.failAfter, failAfter >= records.count { try fail() }
        for key in settings.delete ?? [] { try host.delete(key: key) }
    }

    func webhook(_ event: WebhookEvent, host: Host) throws {
        try host.emit(
            key: "event/\(event.deliveryID)", kind: "event", metadata: ["event": .string(event.name)], content: event.body
        )
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
