import InletPluginKit

/// A complete Inlet connector in Swift: one greeting record per name in its config.
final class GreeterConnector: Connector {
    static let name = "greeter"
    static let version = "1.0.0"
    static let summary = "Greets the names of its config"
    static let configSchema: String? = """
        {"type": "object", "required": ["names"], "additionalProperties": false,
         "properties": {"names": {"type": "array", "items": {"type": "string"}},
                        "greeting": {"type": "string"}, "_inlet": {"type": "object"}}}
        """

    struct Settings: Decodable {
        var names: [String]
        var greeting: String?
    }

    let settings: Settings

    init(config: ConnectorConfig, host: InletHost) throws {
        settings = try config.decode(Settings.self)  // a bad config fails here, naming the field
        if settings.names.isEmpty { throw ConnectorError.failed("greeter: names is empty") }
    }

    func sync(kind: String, args: JSONObject, host: InletHost) throws {
        let runs = Int(try host.stateString("runs") ?? "0") ?? 0
        for (index, name) in settings.names.enumerated() {
            if host.isCancelled { throw ConnectorError.retry("greeter: cancelled") }
            let text = "\(settings.greeting ?? "Hello"), \(name)!"
            try host.emit(key: name, kind: "greeting", metadata: ["name": .string(name)], content: Array(text.utf8))
            host.progress(done: index + 1, total: settings.names.count)
        }
        // Committed in the same transaction as the records, when sync returns.
        try host.setState("runs", String(runs + 1))
    }
}

@_cdecl("inlet_connector_register")
public func register(_ hostABI: UInt32) -> UnsafeRawPointer? { ConnectorExport.register(GreeterConnector.self, hostABI: hostABI) }
