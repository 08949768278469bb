import Foundation

/// Checks a source's `config:` block against the JSON schema its connector publishes, so a
/// misspelt or mistyped setting is reported at its line before the plugin ever runs.
///
/// Supports the subset connectors need: `type` (a name or a list of names among string,
/// integer, number, boolean, object, array, null), `properties`, `required`,
/// `additionalProperties` (false, or a schema for the other members), `items` (one schema),
/// `minItems`, `maxItems`, `enum`, `minimum`, `maximum`, `minLength` and `maxLength` (counted in
/// Characters, what a user sees as letters), `pattern` (an NSRegularExpression, searched for
/// anywhere in the string as JSON Schema says, so anchor it with `^…$` to match the whole),
/// `oneOf` and `anyOf`. Other keywords (`description`, `default`, `$schema`, …) are ignored. As
/// in JSON Schema, `1.0` is an integer and every integer is a number, and each keyword that
/// constrains one type (`minLength`, `minItems`, …) ignores values of other types.
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
        let minLength: Int?
        let maxLength: Int?
        /// Compiled once here so a bad pattern is a schema error, not a per-value surprise.
        let pattern: NSRegularExpression?
        let minItems: Int?
        let maxItems: Int?
        let oneOf: [Schema]?
        let anyOf: [Schema]?

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
            minLength = try Self.count(value["minLength"], keyword: "\(path).minLength")
            maxLength = try Self.count(value["maxLength"], keyword: "\(path).maxLength")
            minItems = try Self.count(value["minItems"], keyword: "\(path).minItems")
            maxItems = try Self.count(value["maxItems"], keyword: "\(path).maxItems")
            switch value["pattern"]?.kind {
            case nil:
                pattern = nil
            case .string(let text)?:
                do {
                    pattern = try NSRegularExpression(pattern: text)
                } catch {
                    throw ConfigValueError(
                        "invalid config schema: \(path).pattern \(ConfigValue(.string(text)).jsonString()) is not a valid regular expression"
                    )
                }
            default:
                throw ConfigValueError("invalid config schema: \(path).pattern must be a string")
            }
            oneOf = try Self.alternatives(value["oneOf"], keyword: "\(path).oneOf")
            anyOf = try Self.alternatives(value["anyOf"], keyword: "\(path).anyOf")
        }

        /// The types a value must have to pass this schema's type checks, nil for any type; used
        /// to tell which `oneOf`/`anyOf` branch a value was meant for.
        var admittedTypes: [String]? {
            if let types { return types }
            var admitted: [String]? = nil
            for branches in [oneOf, anyOf].compactMap({ $0 }) {
                var types: [String] = []
                for branch in branches {
                    // One branch open to any type leaves this keyword open to any type.
                    guard let branchTypes = branch.admittedTypes else { types = []; break }
                    types += branchTypes.filter { !types.contains($0) }
                }
                if types.isEmpty { continue }
                // Both keywords must pass, so only types both admit get through.
                admitted = admitted.map { current in current.filter(types.contains) } ?? types
            }
            return admitted
        }

        private static let typeNames = ["string", "integer", "number", "boolean", "object", "array", "null"]

        private static func typeName(_ name: String, path: String) throws(ConfigValueError) -> String {
            guard typeNames.contains(name) else {
                throw ConfigValueError("invalid config schema: \(path).type '\(name)' is not one of \(typeNames.joined(separator: ", "))")
            }
            return name
        }

        /// A length or count bound: a non-negative integer (`2.0` counts, as in JSON Schema).
        private static func count(_ value: ConfigValue?, keyword: String) throws(ConfigValueError) -> Int? {
            switch value?.kind {
            case nil: return nil
            case .int(let int)? where int >= 0: return int
            case .double(let double)? where double >= 0 && double.rounded() == double && double < 1e15: return Int(double)
            default: throw ConfigValueError("invalid config schema: \(keyword) must be a non-negative integer")
            }
        }

        private static func alternatives(_ value: ConfigValue?, keyword: String) throws(ConfigValueError) -> [Schema]? {
            switch value?.kind {
            case nil:
                return nil
            case .array(let elements)? where !elements.isEmpty:
                var schemas: [Schema] = []
                for (index, element) in elements.enumerated() {
                    schemas.append(try Schema(element, path: "\(keyword)[\(index)]"))
                }
                return schemas
            default:
                // JSON Schema requires at least one alternative; an empty list would fail every value.
                throw ConfigValueError("invalid config schema: \(keyword) must be a non-empty list of schemas")
            }
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
        var violations: [Violation] = []
        check(value, against: root, path: "config", violations: &violations)
        return violations.map {
            ConfigError(
                code: .schemaViolation, file: file, line: $0.line, column: $0.column,
                message: "source '\(source)': \($0.path): \($0.message)"
            )
        }
    }

    /// A problem before it becomes a `ConfigError`; kept apart so a `oneOf`/`anyOf` branch's
    /// problems can be weighed, and quoted relative to the node, before any is reported.
    private struct Violation {
        let line: Int
        let column: Int
        let path: String
        let message: String
    }

    private func check(_ value: ConfigValue, against schema: Schema, path: String, violations: inout [Violation]) {
        func fail(_ message: String, line: Int = value.line, column: Int = value.column) {
            violations.append(Violation(line: line, column: column, path: path, message: message))
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
        case .string(let string):
            let length = string.count
            if let minLength = schema.minLength, length < minLength {
                fail("\(value.jsonString()) is shorter than the minimum length \(minLength)")
            }
            if let maxLength = schema.maxLength, length > maxLength {
                fail("\(value.jsonString()) is longer than the maximum length \(maxLength)")
            }
            if let pattern = schema.pattern,
                pattern.firstMatch(in: string, range: NSRange(string.startIndex..., in: string)) == nil
            {
                // The pattern as written, unescaped: it is what the user compares the value with.
                fail("\(value.jsonString()) does not match pattern \(pattern.pattern)")
            }
        case .object(let members):
            for name in schema.required where !members.contains(where: { $0.key == name }) {
                fail("missing required key '\(name)'")
            }
            for member in members {
                let memberPath = path + Self.pathComponent(member.key)
                if let property = schema.properties.first(where: { $0.name == member.key }) {
                    check(member.value, against: property.schema, path: memberPath, violations: &violations)
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
                    check(member.value, against: additional, path: memberPath, violations: &violations)
                }
            }
        case .array(let elements):
            if let minItems = schema.minItems, elements.count < minItems {
                fail("expected at least \(Self.items(minItems)), got \(elements.count)")
            }
            if let maxItems = schema.maxItems, elements.count > maxItems {
                fail("expected at most \(Self.items(maxItems)), got \(elements.count)")
            }
            if let items = schema.items {
                for (index, element) in elements.enumerated() {
                    check(element, against: items, path: "\(path)[\(index)]", violations: &violations)
                }
            }
        default:
            break
        }
        if let branches = schema.oneOf {
            let results = branches.map { branch in
                var found: [Violation] = []
                check(value, against: branch, path: path, violations: &found)
                return found
            }
            let matching = results.indices.filter { results[$0].isEmpty }
            if matching.isEmpty {
                violations += explainNoMatch(value, branches: branches, results: results, path: path)
            } else if matching.count > 1 {
                // Usually a schema whose alternatives overlap; say which, so it can be fixed.
                let names = matching.map { "oneOf[\($0)]" }.joined(separator: ", ")
                fail("\(value.jsonString()) matches more than one alternative (\(names)); expected exactly one")
            }
        }
        if let branches = schema.anyOf {
            let results = branches.map { branch in
                var found: [Violation] = []
                check(value, against: branch, path: path, violations: &found)
                return found
            }
            if !results.contains(where: \.isEmpty) {
                violations += explainNoMatch(value, branches: branches, results: results, path: path)
            }
        }
    }

    /// Why `value` matched no alternative of a `oneOf`/`anyOf`, as helpfully as can be said.
    ///
    /// The branch whose type the value has is almost always the one the user meant (a size
    /// written as a string, not an integer), so its own problems are the useful ones. When no
    /// branch takes the value's type, the types they do take say it best. When several take
    /// it, each one's problems are quoted, since there is no telling which was meant.
    private func explainNoMatch(_ value: ConfigValue, branches: [Schema], results: [[Violation]], path: String) -> [Violation] {
        let typeMatching = branches.indices.filter { index in
            branches[index].admittedTypes.map { types in types.contains { Self.value(value, hasType: $0) } } ?? true
        }
        if typeMatching.count == 1 {
            return results[typeMatching[0]]
        }
        var expected: [String] = []
        for branch in branches {
            expected += (branch.admittedTypes ?? []).filter { !expected.contains($0) }
        }
        let message: String
        if typeMatching.isEmpty && !expected.isEmpty {
            message = "expected \(expected.joined(separator: " or ")), got \(value.typeName)"
        } else if typeMatching.isEmpty {
            // Only a schema whose `type` lists are empty or contradictory gets here.
            message = "\(value.jsonString()) matches none of the alternatives"
        } else {
            let reasons = typeMatching.map { index in
                results[index].map { $0.path == path ? $0.message : "\($0.path): \($0.message)" }.joined(separator: ", ")
            }
            message = "\(value.jsonString()) matches none of the alternatives: \(reasons.joined(separator: "; "))"
        }
        return [Violation(line: value.line, column: value.column, path: path, message: message)]
    }

    /// "1 item", "3 items".
    private static func items(_ count: Int) -> String {
        count == 1 ? "1 item" : "\(count) items"
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
