import CInletABI

/// An ABI version number, `(major << 16) | minor`, as in `inlet_connector.h`.
package struct ABIVersion: Hashable, Sendable, CustomStringConvertible, Comparable {
    package var rawValue: UInt32

    package init(rawValue: UInt32) { self.rawValue = rawValue }
    package init(major: UInt32, minor: UInt32) { self.rawValue = major << 16 | minor }

    /// The version this host speaks.
    package static let host = ABIVersion(major: UInt32(INLET_ABI_VERSION_MAJOR), minor: UInt32(INLET_ABI_VERSION_MINOR))

    package var major: UInt32 { rawValue >> 16 }
    package var minor: UInt32 { rawValue & 0xFFFF }
    package var description: String { "\(major).\(minor)" }

    package static func < (lhs: ABIVersion, rhs: ABIVersion) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// The smallest table sizes a reader accepts (the end of the last field of the version that
/// introduced the table).
package enum ABITableSize {
    package static let connectorV1_0 = MemoryLayout<inlet_connector>.offset(of: \inlet_connector.health)! + MemoryLayout<UnsafeRawPointer>.size
    package static let recordV1_0 = MemoryLayout<inlet_record>.offset(of: \inlet_record.blob_sha)! + MemoryLayout<UnsafeRawPointer>.size
    package static let eventV1_0 = MemoryLayout<inlet_event>.offset(of: \inlet_event.body_len)! + MemoryLayout<Int>.size
    /// ABI 1.1: the smallest `inlet_http_request` / `inlet_http_response` the host reads or fills.
    package static let httpRequestV1_1 = MemoryLayout<inlet_http_request>.offset(of: \inlet_http_request.reserved)! + MemoryLayout<UInt32>.size
    package static let httpResponseV1_1 = MemoryLayout<inlet_http_response>.offset(of: \inlet_http_response.body)! + MemoryLayout<inlet_buffer>.size
}

/// Capability bits a connector declares.
package struct ConnectorCapabilities: OptionSet, Hashable, Sendable, CustomStringConvertible {
    package var rawValue: UInt64
    package init(rawValue: UInt64) { self.rawValue = rawValue }

    package static let webhooks = ConnectorCapabilities(rawValue: 1 << 0)
    package static let reentrant = ConnectorCapabilities(rawValue: 1 << 1)
    package static let health = ConnectorCapabilities(rawValue: 1 << 2)

    package var names: [String] {
        var names: [String] = []
        if contains(.webhooks) { names.append("webhooks") }
        if contains(.reentrant) { names.append("reentrant") }
        if contains(.health) { names.append("health") }
        return names
    }

    package var description: String { names.isEmpty ? "none" : names.joined(separator: ", ") }
}

/// A plugin call's status, as the C integers of the ABI.
package struct PluginStatus: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    package var rawValue: Int32
    package init(rawValue: Int32) { self.rawValue = rawValue }

    package static let ok = PluginStatus(rawValue: INLET_OK)
    package static let retry = PluginStatus(rawValue: INLET_RETRY)
    package static let rateLimited = PluginStatus(rawValue: INLET_RATE_LIMITED)
    package static let failed = PluginStatus(rawValue: INLET_FAILED)

    package static func ~= (pattern: PluginStatus, value: PluginStatus) -> Bool { pattern == value }

    package var description: String {
        switch self {
        case .ok: "OK"
        case .retry: "RETRY"
        case .rateLimited: "RATE_LIMITED"
        case .failed: "FAILED"
        default: "UNKNOWN(\(rawValue))"
        }
    }
}
