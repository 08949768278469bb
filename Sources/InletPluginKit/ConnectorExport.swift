import CInletABI
import Foundation
import Synchronization

/// Turns a ``Connector`` type into the C table the host loads.
///
/// A plugin exports its connector with one line:
/// ```swift
/// @_cdecl("inlet_connector_register")
/// public func register(_ hostABI: UInt32) -> UnsafeRawPointer? { ConnectorExport.register(MyConnector.self, hostABI: hostABI) }
/// ```
public enum ConnectorExport {
    /// The ABI this SDK was built against.
    public static let abiVersion: UInt32 = UInt32(INLET_ABI_VERSION_MAJOR) << 16 | UInt32(INLET_ABI_VERSION_MINOR)

    /// Builds (once) and returns the connector table for `type`, or nil when the host's ABI
    /// major differs from this SDK's (the host then reports the plugin as incompatible).
    public static func register(_ type: any Connector.Type, hostABI: UInt32) -> UnsafeRawPointer? {
        guard hostABI >> 16 == abiVersion >> 16 else { return nil }
        // The address crosses the lock as an integer: the table is immutable once published.
        let address = registration.withLock { current -> UInt in
            if let current { return UInt(bitPattern: current.table) }
            let table = makeTable(for: type)
            current = Registration(type: type, table: table)
            return UInt(bitPattern: table)
        }
        return UnsafeRawPointer(bitPattern: address)
    }

    /// The connector type of this plugin. Each plugin links its own copy of the SDK, so one
    /// registration per image is exactly one per plugin.
    static let registration = Mutex<Registration?>(nil)

    // Unchecked Sendable, and safe: `table` is written once, before it is published under the
    // mutex, and only read afterwards (by the host); it is never freed because a plugin is never
    // unloaded.
    struct Registration: @unchecked Sendable {
        let type: any Connector.Type
        let table: UnsafeMutablePointer<inlet_connector>
    }

    static var connectorType: (any Connector.Type)? { registration.withLock { $0?.type } }

    private static func makeTable(for type: any Connector.Type) -> UnsafeMutablePointer<inlet_connector> {
        let table = UnsafeMutablePointer<inlet_connector>.allocate(capacity: 1)
        var capabilities: UInt64 = 0
        if type.supportsWebhooks { capabilities |= UInt64(1) << 0 }
        if type.supportsReentrantCalls { capabilities |= UInt64(1) << 1 }
        capabilities |= UInt64(1) << 2  // health is always answered (the default says healthy)
        // Strings are duplicated and never freed: they must live as long as the loaded image.
        table.initialize(to: inlet_connector(
            struct_size: UInt32(MemoryLayout<inlet_connector>.size),
            abi_version: abiVersion,
            name: UnsafePointer(strdup(type.name)!),
            version: UnsafePointer(strdup(type.version)!),
            description: UnsafePointer(strdup(type.summary)),
            config_schema: type.configSchema.flatMap { UnsafePointer(strdup($0)) },
            capabilities: capabilities,
            create: { host, call, json, length, instanceOut in
                ConnectorExport.create(host: host, call: call, json: json, length: length, instanceOut: instanceOut)
            },
            destroy: { instance in
                // Balances the passRetained in `create`.
                guard let instance else { return }
                Unmanaged<InstanceBox>.fromOpaque(instance).release()
            },
            sync: { instance, call, kind, args, argsLength in
                ConnectorExport.invoke(instance, call) { connector, host in
                    let args = try JSONObject(bytes: Array(UnsafeRawBufferPointer(start: args, count: argsLength)))
                    try connector.sync(kind: String(cString: kind), args: args, host: host)
                }
            },
            webhook: { instance, call, event in
                ConnectorExport.invoke(instance, call) { connector, host in
                    try connector.webhook(WebhookEvent(event.pointee), host: host)
                }
            },
            health: { instance, call in
                ConnectorExport.invoke(instance, call) { connector, host in try connector.health(host: host) }
            }
        ))
        return table
    }

    private static func create(
        host: UnsafePointer<inlet_host>, call: OpaquePointer, json: UnsafePointer<CChar>, length: Int,
        instanceOut: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    ) -> inlet_status {
        let context = InletHost(table: host, call: call)
        guard let type = connectorType else {
            context.setError("connector type not registered")
            return INLET_FAILED
        }
        do {
            let config = ConnectorConfig(json: try JSONObject(bytes: Array(UnsafeRawBufferPointer(start: json, count: length))))
            let connector = try type.init(config: config, host: context)
            // Retained here, released by `destroy`: the host owns the instance pointer in between.
            instanceOut.pointee = Unmanaged.passRetained(InstanceBox(connector: connector, host: host)).toOpaque()
            return INLET_OK
        } catch {
            return status(for: error, host: context)
        }
    }

    private static func invoke(
        _ instance: UnsafeMutableRawPointer?, _ call: OpaquePointer,
        _ body: (any Connector, InletHost) throws -> Void
    ) -> inlet_status {
        // Unsafe: the host passes back the pointer `create` produced and keeps it alive (no
        // `destroy`) while any call runs, so an unretained reference is valid for this call.
        guard let instance else { return INLET_FAILED }
        let box = Unmanaged<InstanceBox>.fromOpaque(instance).takeUnretainedValue()
        let host = InletHost(table: box.host, call: call)
        do {
            try body(box.connector, host)
            return INLET_OK
        } catch {
            return status(for: error, host: host)
        }
    }

    private static func status(for error: any Error, host: InletHost) -> inlet_status {
        guard let error = error as? ConnectorError else {
            host.setError(String(describing: error))
            return INLET_RETRY
        }
        if error.explainedByHost {
            switch error.disposition {
            case .retry: return INLET_RETRY
            case .failed: return INLET_FAILED
            case .rateLimited: return INLET_RATE_LIMITED
            }
        }
        switch error.disposition {
        case .retry:
            host.setError(error.message)
            return INLET_RETRY
        case .failed:
            host.setError(error.message)
            return INLET_FAILED
        case .rateLimited(let retryAfter):
            host.setError(error.message, retryAfter: retryAfter)
            return INLET_RATE_LIMITED
        }
    }
}

/// What the instance pointer handed to the host holds.
final class InstanceBox {
    let connector: any Connector
    let host: UnsafePointer<inlet_host>

    init(connector: any Connector, host: UnsafePointer<inlet_host>) {
        self.connector = connector
        self.host = host
    }
}

extension WebhookEvent {
    init(_ event: inlet_event) {
        var headers: [String: String] = [:]
        let headerBytes = Array(UnsafeRawBufferPointer(start: event.headers_json, count: event.headers_len))
        if let decoded = try? JSONDecoder().decode([String: String].self, from: Data(headerBytes)) {
            headers = decoded
        }
        self.init(
            name: String(cString: event.name),
            deliveryID: String(cString: event.delivery_id),
            headers: headers,
            body: Array(UnsafeRawBufferPointer(start: event.body, count: event.body_len))
        )
    }
}
