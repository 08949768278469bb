import Foundation

/// Checks a source's `config:` block against the JSON schema its connector publishes, so a
/// misspelt or mistyped setting is reported at its line before the plugin ever runs.
///
/// Supports the subset connectors need: `type` (a name or a list of names among string,
/// integer, number, boolean, object, array, null), `properties`, `required`,
/// `additionalProperties` (false, or a schema for the other members), `items` (one schema),
/// `enum`, `minimum` and `maximum`. Other keywords (`description`, `default`, `$schema`, …) are
/// ignored. As in JSON Schema, `1.0` is an integer and every integer is a number.
package struct ConfigSchemaValidator: Sendable {
    private enum AdditionalProperties: Sendable {
        case allowed
        case forbidden
        case schema(Schema)
    }

    /// A class only to let the schema nest; immutable, hence Sendable.
    private final class Schema: Sendable {
        let types: [String]?
        let properties: [(name: String, schema: Schema)]
        let required: [String]
        let additionalProperties: AdditionalProperties
        let items: Schema?
        let allowedValues: [ConfigValue]?
        let minimum: Double?
        let maximum: Double?

        init(_ value: ConfigValue, path: String) throws(ConfigValueError) {
            guard case .object = value.kind else {
                throw ConfigValueError("invalid config schema: \(path) must be an object")
            }
            switch value["type"]?.kind {
            case nil:
                types = nil
            case .string(let name)?:
                types = [try Self.typeName(name, path: path)]
            case .array(let names)?:
                types = try names.map { element throws(ConfigValueError) in
                    guard case .string(let name) = element.kind else {
                        throw ConfigValueError("invalid config schema: \(path).type must list type names")
                    }
                    return try Self.typeName(name, path: path)
                }
            default:
                throw ConfigValueError("invalid config schema: \(path).type must be a type name or a list of them")
            }
            switch value["properties"]?.kind {
            case nil:
                properties = []
            case .object(let members)?:
                var properties: [(name: String, schema: Schema)] = []
                for member in members {
                    properties.append((member.key, try Schema(member.value, path: "\(path).properties.\(member.key)")))
                }
                self.properties = properties
            default:
                throw ConfigValueError("invalid config schema: \(path).properties must be an object")
            }
            switch value["required"]?.kind {
            case nil:
                required = []
            case .array(let names)?:
                required = try names.map { element throws(ConfigValueError) in
                    guard case .string(let name) = element.kind else {
                        throw ConfigValueError("invalid config schema: \(path).required must list property names")
                    }
                    return name
                }
            default:
                throw ConfigValueError("invalid config schema: \(path).required must be a list of property names")
            }
            let additional = value["additionalProperties"]
            switch additional?.kind {
            case nil, .bool(true)?:
                additionalProperties = .allowed
            case .bool(false)?:
                additionalProperties = .forbidden
            case .object?:
                additionalProperties = .schema(try Schema(additional ?? [:], path: "\(path).additionalProperties"))
            default:
                throw ConfigValueError("invalid config schema: \(path).additionalProperties must be a boolean or a schema")
            }
            items = try value["items"].map { items throws(ConfigValueError) in try Schema(items, path: "\(path).items") }
            switch value["enum"]?.kind {
            case nil:
                allowedValues = nil
            case .array(let values)?:
                allowedValues = values
            default:
                throw ConfigValueError("invalid config schema: \(path).enum must be a list")
            }
            minimum = try Self.number(value["minimum"], keyword: "\(path).minimum")
            maximum = try Self.number(value["maximum"], keyword: "\(path).maximum")
        }

        private static let typeNames = ["string", "integer", "number", "boolean", "object", "array", "null"]

        private static func typeName(_ name: String, path: String) throws(ConfigValueError) -> String {
            guard typeNames.contains(name) else {
                throw ConfigValueError("invalid config schema: \(path).type '\(name)' is not one of \(typeNames.joined(separator: ", "))")
            }
            return name
        }

        private static func number(_ value: ConfigValue?, keyword: String) throws(ConfigValueError) -> Double? {
            switch value?.kind {
            case nil: return nil
            case .int(let int)?: return Double(int)
            case .double(let double)?: return double
            default: throw ConfigValueError("invalid config schema: \(keyword) must be a number")
            }
        }
    }

    private let root: Schema

    /// Parses a schema given as JSON text (with Foundation's JSONSerialization).
    /// - Throws: `ConfigValueError` when the text isn't JSON or uses a supported keyword wrongly.
    package init(schemaJSON: String) throws(ConfigValueError) {
        let value = try ConfigValue(json: schemaJSON)
        root = try Schema(value, path: "schema")
    }

    /// Every violation of `schema` (JSON text, as a connector publishes it) in `value`.
    ///
    /// A schema this validator can't read is reported as one error at `value`, naming the
    /// source: the source can't be checked, and the user should hear of it rather than have
    /// the block pass unchecked.
    package static func validate(_ value: ConfigValue, schema: String, source: String, file: String) -> [ConfigError] {
        do {
            return try ConfigSchemaValidator(schemaJSON: schema).validate(value, source: source, file: file)
        } catch {
            return [
                ConfigError(
                    code: .schemaViolation, file: file, line: value.line, column: value.column,
                    message: "source '\(source)': cannot check config against the connector's schema: \(error.message)"
                )
            ]
        }
    }

    /// Every violation in `source`'s `config:` block, each at the offending node.
    package func validate(_ source: SourceConfig) -> [ConfigError] {
        validate(source.config, source: source.name, file: source.location.file)
    }

    /// Every violation in `value`, each at the offending node and naming the source and the
    /// path, e.g. `source 'self': config.branch: expected string, got integer`.
    package func validate(_ value: ConfigValue, source: String, file: String) -> [ConfigError] {
        var errors: [ConfigError] = []
        check(value, against: root, path: "config", errors: &errors) { line, column, message in
            ConfigError(code: .schemaViolation, file: file, line: line, column: column, message: "source '\(source)': \(message)")
        }
        return errors
    }

    private func check(
        _ value: ConfigValue,
        against schema: Schema,
        path: String,
        errors: inout [ConfigError],
        makeError: (Int, Int, String) -> ConfigError
    ) {
        func fail(_ message: String, line: Int = value.line, column: Int = value.column) {
            errors.append(makeError(line, column, "\(path): \(message)"))
        }
        if let types = schema.types, !types.contains(where: { Self.value(value, hasType: $0) }) {
            fail("expected \(types.joined(separator: " or ")), got \(value.typeName)")
            return  // Further checks would only restate the type mismatch.
        }
        if let allowed = schema.allowedValues, !allowed.contains(where: { $0.hasSameValue(as: value) }) {
            let list = allowed.map { $0.jsonString() }.joined(separator: ", ")
            fail("\(value.jsonString()) is not one of \(list)")
        }
        if let number = Self.number(value) {
            if let minimum = schema.minimum, number < minimum {
                fail("\(value.jsonString()) is less than the minimum \(Self.render(minimum))")
            }
            if let maximum = schema.maximum, number > maximum {
                fail("\(value.jsonString()) is greater than the maximum \(Self.render(maximum))")
            }
        }
        switch value.kind {
        case .object(let members):
            for name in schema.required where !members.contains(where: { $0.key == name }) {
                fail("missing required key '\(name)'")
            }
            for member in members {
                let memberPath = path + Self.pathComponent(member.key)
                if let property = schema.properties.first(where: { $0.name == member.key }) {
                    check(member.value, against: property.schema, path: memberPath, errors: &errors, makeError: makeError)
                    continue
                }
                switch schema.additionalProperties {
                case .allowed:
                    break
                case .forbidden:
                    let names = schema.properties.map(\.name)
                    let hint = SpellingSuggestion.closest(to: member.key, in: names).map { "; did you mean '\($0)'?" }
                        ?? (names.isEmpty ? "; no keys are allowed" : "; allowed keys: \(names.joined(separator: ", "))")
                    fail("unknown key '\(member.key)'\(hint)", line: member.line, column: member.column)
                case .schema(let additional):
                    check(member.value, against: additional, path: memberPath, errors: &errors, makeError: makeError)
                }
            }
        case .array(let elements):
            if let items = schema.items {
                for (index, element) in elements.enumerated() {
                    check(element, against: items, path: "\(path)[\(index)]", errors: &errors, makeError: makeError)
                }
            }
        default:
            break
        }
    }

    private static func value(_ value: ConfigValue, hasType type: String) -> Bool {
        switch (type, value.kind) {
        case ("string", .string), ("boolean", .bool), ("null", .null), ("array", .array), ("object", .object),
            ("integer", .int), ("number", .int), ("number", .double):
            true
        case ("integer", .double(let double)):
            double.isFinite && double.rounded() == double
        default:
            false
        }
    }

    private static func number(_ value: ConfigValue) -> Double? {
        switch value.kind {
        case .int(let int): Double(int)
        case .double(let double): double
        default: nil
        }
    }

    /// `1.0` as "1": schema bounds are usually whole numbers.
    private static func render(_ number: Double) -> String {
        number.rounded() == number && abs(number) < 1e15 ? String(Int(number)) : "\(number)"
    }

    /// `.key` for identifier-like keys, `["odd key"]` otherwise, so paths stay unambiguous.
    private static func pathComponent(_ key: String) -> String {
        let isPlain = !key.isEmpty && key.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == "-"
        }
        return isPlain ? ".\(key)" : "[\(ConfigValue(.string(key)).jsonString())]"
    }
}
