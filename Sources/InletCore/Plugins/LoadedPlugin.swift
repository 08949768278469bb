import CInletABI
import Foundation

/// A plugin whose ABI was checked: its identity and its connector table.
package struct LoadedPlugin: Sendable {
    package let path: String
    package let name: String
    package let version: String
    package let summary: String
    package let configSchema: String?
    package let capabilities: ConnectorCapabilities
    package let abiVersion: ABIVersion
    package let structSize: Int
    package let table: ConnectorTable

    /// Checks a table the plugin returned, reading only what its `struct_size` covers.
    /// - Throws: ``PluginError`` for a wrong ABI or a malformed table.
    init(path: String, table pointer: UnsafePointer<inlet_connector>) throws(PluginError) {
        self.path = path
        // Read the two leading fields first: every later read depends on them.
        let raw = UnsafeRawPointer(pointer)
        let structSize = Int(raw.load(as: UInt32.self))
        let abi = ABIVersion(rawValue: raw.load(fromByteOffset: 4, as: UInt32.self))
        self.structSize = structSize
        self.abiVersion = abi
        if abi.major != ABIVersion.host.major {
            throw PluginError(
                .abiMismatch, path: path,
                "built for ABI \(abi), but this host speaks ABI \(ABIVersion.host.major).x: rebuild it against this inlet's inlet_connector.h")
        }
        if abi.minor > ABIVersion.host.minor {
            throw PluginError(
                .abiTooNew, path: path,
                "built for ABI \(abi), newer than this host's ABI \(ABIVersion.host): upgrade inlet, "
                    + "or rebuild the plugin against inlet_connector.h \(ABIVersion.host)")
        }
        if structSize < ABITableSize.connectorV1_0 {
            throw PluginError(
                .invalidTable, path: path,
                "connector table struct_size is \(structSize) bytes, smaller than the \(ABITableSize.connectorV1_0) bytes of ABI 1.0")
        }
        // Fields the ABI declares non-NULL: check the raw words before Swift sees them as
        // non-optional pointers.
        let required: [(String, Int?)] = [
            ("name", MemoryLayout<inlet_connector>.offset(of: \inlet_connector.name)),
            ("version", MemoryLayout<inlet_connector>.offset(of: \inlet_connector.version)),
            ("create", MemoryLayout<inlet_connector>.offset(of: \inlet_connector.create)),
            ("destroy", MemoryLayout<inlet_connector>.offset(of: \inlet_connector.destroy)),
            ("sync", MemoryLayout<inlet_connector>.offset(of: \inlet_connector.sync)),
        ]
        for (field, offset) in required where raw.load(fromByteOffset: offset!, as: UInt.self) == 0 {
            throw PluginError(.invalidTable, path: path, "connector table field '\(field)' is NULL")
        }
        // Copy only the bytes both sides know: a larger plugin table may carry later fields.
        var copy = inlet_connector.zeroed
        withUnsafeMutableBytes(of: &copy) { destination in
            destination.copyMemory(from: UnsafeRawBufferPointer(start: raw, count: min(structSize, destination.count)))
        }
        guard let name = String(validatingCString: copy.name), !name.isEmpty else {
            throw PluginError(.invalidTable, path: path, "connector table has an empty or non-UTF-8 name")
        }
        guard name.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw PluginError(.invalidTable, path: path, "connector name '\(name)' must be printable ASCII without spaces")
        }
        self.name = name
        self.version = String(validatingCString: copy.version) ?? "?"
        self.summary = copy.description.flatMap { String(validatingCString: $0) } ?? ""
        self.configSchema = copy.config_schema.flatMap { String(validatingCString: $0) }
        self.capabilities = ConnectorCapabilities(rawValue: copy.capabilities)
        if capabilities.contains(.webhooks) && copy.webhook == nil {
            throw PluginError(.invalidTable, path: path, "declares the webhooks capability but has no webhook entry")
        }
        if let schema = configSchema {
            let parsed = try? JSONSerialization.jsonObject(with: Data(schema.utf8))
            if !(parsed is [String: Any]) {
                throw PluginError(.invalidTable, path: path, "config_schema of connector '\(name)' is not a JSON object")
            }
        }
        self.table = ConnectorTable(table: copy)
    }
}

/// The plugin's function pointers, copied out of its table.
///
/// Unchecked Sendable, and safe: a copy of a plugin's static table; the function pointers and
/// strings it holds point into a library that is never unloaded, and nothing writes to them after
/// load.
package struct ConnectorTable: @unchecked Sendable {
    let table: inlet_connector
}

extension inlet_connector {
    /// A table with every field zero, to copy a plugin's (possibly shorter) table over.
    static var zeroed: inlet_connector {
        // Unsafe: an all-zero bit pattern is how C sees a table with NULL pointers; it is only a
        // copy target and its (non-optional) function pointers are never called before overwritten.
        let storage = UnsafeMutableRawPointer.allocate(byteCount: MemoryLayout<inlet_connector>.size, alignment: MemoryLayout<inlet_connector>.alignment)
        defer { storage.deallocate() }
        storage.initializeMemory(as: UInt8.self, repeating: 0, count: MemoryLayout<inlet_connector>.size)
        return storage.load(as: inlet_connector.self)
    }
}
