import Foundation

/// Sizes in configs: a number of bytes, or text such as `512KB`, `1.5MB`, `2GB` (K = 1024).
public enum ByteSize {
    /// Parses a size given as a JSON number or text.
    /// - Throws: ``ConnectorError`` (failed) naming `field` and the value.
    public static func parse(_ value: JSONValue, field: String) throws -> Int {
        switch value {
        case .int(let bytes) where bytes >= 0: return bytes
        case .double(let bytes) where bytes >= 0: return Int(bytes)
        case .string(let text):
            if let bytes = parse(text) { return bytes }
        default: break
        }
        throw ConnectorError.failed("field '\(field)': expected bytes or a size such as \"1MB\", got \(String(decoding: value.jsonBytes(), as: UTF8.self))")
    }

    /// Parses `1024`, `512KB`, `1.5 MB`, `2G`, `10B`; nil when it is not a size.
    public static func parse(_ text: String) -> Int? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).uppercased()
        let number = trimmed.prefix { $0.isNumber || $0 == "." }
        let unit = trimmed.dropFirst(number.count).trimmingCharacters(in: .whitespaces)
        guard let value = Double(number), value >= 0 else { return nil }
        let multiplier: Double
        switch unit {
        case "", "B": multiplier = 1
        case "K", "KB", "KIB": multiplier = 1024
        case "M", "MB", "MIB": multiplier = 1024 * 1024
        case "G", "GB", "GIB": multiplier = 1024 * 1024 * 1024
        default: return nil
        }
        return Int(value * multiplier)
    }
}
