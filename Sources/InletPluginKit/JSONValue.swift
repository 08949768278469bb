import Foundation

/// A JSON value: what the host hands a connector (config blocks, job args) and what it may emit.
public enum JSONValue: Sendable, Equatable, Codable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        // Order matters: JSONDecoder refuses a number as Bool and a fraction as Int.
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int.self) {
            self = .int(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    public var stringValue: String? { if case .string(let value) = self { value } else { nil } }
    public var boolValue: Bool? { if case .bool(let value) = self { value } else { nil } }
    public var intValue: Int? { if case .int(let value) = self { value } else { nil } }
    public var arrayValue: [JSONValue]? { if case .array(let value) = self { value } else { nil } }
    public var objectValue: [String: JSONValue]? { if case .object(let value) = self { value } else { nil } }

    /// Compact JSON text with sorted keys.
    public func jsonBytes() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding a JSONValue cannot fail: every case maps to a JSON value.
        return Array((try? encoder.encode(self)) ?? Data("null".utf8))
    }
}

/// A JSON object the host handed over (a config block or job args), with typed accessors.
public struct JSONObject: Sendable {
    /// The parsed members.
    public let members: [String: JSONValue]
    /// The exact bytes it was parsed from.
    public let bytes: [UInt8]

    /// Parses a JSON object; empty bytes are an empty object.
    /// - Throws: ``ConnectorError`` (failed) when the bytes are not a JSON object.
    public init(bytes: [UInt8]) throws {
        self.bytes = bytes.isEmpty ? Array("{}".utf8) : bytes
        do {
            self.members = try JSONDecoder().decode([String: JSONValue].self, from: Data(self.bytes))
        } catch {
            throw ConnectorError.failed("expected a JSON object: \(error)")
        }
    }

    /// Decodes the whole object into a `Decodable` type (snake_case keys map to camelCase).
    /// - Throws: ``ConnectorError`` (failed) naming the missing or mistyped field.
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        do {
            return try decoder.decode(T.self, from: Data(bytes))
        } catch let DecodingError.keyNotFound(key, context) {
            throw ConnectorError.failed("missing field '\(Self.path(context.codingPath + [key]))'")
        } catch let DecodingError.typeMismatch(expected, context) {
            throw ConnectorError.failed("field '\(Self.path(context.codingPath))': expected \(expected)")
        } catch let DecodingError.valueNotFound(expected, context) {
            throw ConnectorError.failed("field '\(Self.path(context.codingPath))': expected \(expected), got null")
        } catch let DecodingError.dataCorrupted(context) {
            throw ConnectorError.failed("field '\(Self.path(context.codingPath))': \(context.debugDescription)")
        } catch {
            throw ConnectorError.failed("cannot read: \(error)")
        }
    }

    public subscript(key: String) -> JSONValue? { members[key] }

    /// The field path as the JSON spells it (the decoder reports Swift's camelCase names).
    private static func path(_ codingPath: [any CodingKey]) -> String {
        codingPath.map { key in key.intValue.map { "[\($0)]" } ?? snakeCase(key.stringValue) }.joined(separator: ".")
    }

    private static func snakeCase(_ name: String) -> String {
        var out = ""
        for character in name {
            if character.isUppercase {
                if !out.isEmpty { out.append("_") }
                out.append(contentsOf: character.lowercased())
            } else {
                out.append(character)
            }
        }
        return out
    }
}
