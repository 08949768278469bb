import Foundation
import Yams

/// Reads composed YAML nodes into typed values and records every problem on the way, each at
/// its node's position, so one run of `inlet validate` reports all of them.
///
/// Each reading method returns nil after recording a problem; callers then keep the default and
/// carry on with the next key.
struct ConfigNodeReader {
    /// A mapping whose keys have been checked against the allowed ones.
    struct Mapping {
        let node: Node
        private let entries: [(key: String, keyNode: Node, value: Node)]

        init(node: Node, entries: [(key: String, keyNode: Node, value: Node)]) {
            self.node = node
            self.entries = entries
        }

        subscript(key: String) -> Node? {
            entries.first { $0.key == key }?.value
        }

        func keyNode(_ key: String) -> Node? {
            entries.first { $0.key == key }?.keyNode
        }
    }

    let file: String
    private let substitution: EnvironmentSubstitution
    private(set) var errors: [ConfigError] = []

    init(file: String, environment: [String: String]) {
        self.file = file
        self.substitution = EnvironmentSubstitution(environment: environment)
    }

    // MARK: Reporting

    func location(of node: Node) -> ConfigLocation {
        ConfigLocation(file: file, line: node.mark?.line ?? 0, column: node.mark?.column ?? 0)
    }

    mutating func report(_ code: ConfigError.Code, _ message: String, at node: Node) {
        errors.append(ConfigError(code: code, at: location(of: node), message: message))
    }

    /// "label: message", or the bare message at the top level.
    static func prefixed(_ label: String?, _ message: String) -> String {
        guard let label else { return message }
        return "\(label): \(message)"
    }

    /// How a node reads in "got …" messages.
    private static func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let scalar):
            if scalar.style == .plain, ConfigValue.isCoreNull(scalar.string) { return "null" }
            return "'\(scalar.string)'"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }

    // MARK: Containers

    /// The node as a mapping, after reporting every key not in `allowedKeys`.
    mutating func mapping(_ node: Node, label: String?, allowedKeys: [String]) -> Mapping? {
        guard case .mapping(let mapping) = node else {
            report(.invalidValue, Self.prefixed(label, "expected a mapping, got \(Self.describe(node))"), at: node)
            return nil
        }
        var entries: [(key: String, keyNode: Node, value: Node)] = []
        for (keyNode, value) in mapping {
            guard case .scalar(let key) = keyNode else {
                report(.invalidValue, Self.prefixed(label, "keys must be plain strings, got \(Self.describe(keyNode))"), at: keyNode)
                continue
            }
            guard allowedKeys.contains(key.string) else {
                let hint = SpellingSuggestion.closest(to: key.string, in: allowedKeys).map { "; did you mean '\($0)'?" }
                    ?? "; allowed keys: \(allowedKeys.joined(separator: ", "))"
                report(.unknownKey, Self.prefixed(label, "unknown key '\(key.string)'\(hint)"), at: keyNode)
                continue
            }
            entries.append((key.string, keyNode, value))
        }
        return Mapping(node: node, entries: entries)
    }

    mutating func sequence(_ node: Node, label: String) -> [Node]? {
        guard case .sequence(let sequence) = node else {
            report(.invalidValue, Self.prefixed(label, "expected a list, got \(Self.describe(node))"), at: node)
            return nil
        }
        return Array(sequence)
    }

    // MARK: Scalars

    /// The scalar's text with `${…}` substituted; nil (reported) for null, non-scalars and
    /// substitution problems.
    /// - Parameter expected: what the key wants, for "expected …, got …" ("an integer").
    mutating func text(_ node: Node, label: String, expected: String) -> String? {
        guard case .scalar(let scalar) = node else {
            report(.invalidValue, Self.prefixed(label, "expected \(expected), got \(Self.describe(node))"), at: node)
            return nil
        }
        guard let text = substitute(scalar.string, label: label, at: node) else { return nil }
        let isNull = scalar.tag.description == Tag.Name.null.rawValue
            || scalar.style == .plain && scalar.tag.description.isEmpty && ConfigValue.isCoreNull(text)
        if isNull {
            report(.invalidValue, Self.prefixed(label, "expected \(expected), got null"), at: node)
            return nil
        }
        return text
    }

    /// The scalar's text read by `parse`, whose message is reported at the node.
    mutating func value<Value>(
        _ node: Node,
        label: String,
        expected: String,
        _ parse: (String) throws(ConfigValueError) -> Value
    ) -> Value? {
        guard let text = text(node, label: label, expected: expected) else { return nil }
        do {
            return try parse(text)
        } catch {
            report(.invalidValue, Self.prefixed(label, error.message), at: node)
            return nil
        }
    }

    mutating func string(_ node: Node, label: String) -> String? {
        guard let text = text(node, label: label, expected: "a string") else { return nil }
        if text.isEmpty {
            report(.invalidValue, Self.prefixed(label, "must not be empty"), at: node)
            return nil
        }
        return text
    }

    /// A secret or token: not blank, and (`trimmed`) without spaces around it, which an HTTP
    /// header value cannot carry (its spaces are stripped), so a token with them could never match.
    mutating func secret(_ node: Node, label: String, trimmed: Bool) -> String? {
        guard let text = string(node, label: label) else { return nil }
        if text.allSatisfy(\.isWhitespace) {
            report(.invalidValue, Self.prefixed(label, "must not be blank"), at: node)
            return nil
        }
        if trimmed, text.first!.isWhitespace || text.last!.isWhitespace {
            report(.invalidValue, Self.prefixed(label, "has spaces around it, which no request can send: remove them"), at: node)
            return nil
        }
        return text
    }

    mutating func integer(_ node: Node, label: String, minimum: Int) -> Int? {
        value(node, label: label, expected: "an integer") { text throws(ConfigValueError) in
            guard let number = Int(text) else {
                throw ConfigValueError("expected an integer, got '\(text)'")
            }
            guard number >= minimum else {
                throw ConfigValueError("must be at least \(minimum), got \(number)")
            }
            return number
        }
    }

    mutating func boolean(_ node: Node, label: String) -> Bool? {
        value(node, label: label, expected: "true or false") { text throws(ConfigValueError) in
            guard let bool = ConfigValue.coreBool(text) else {
                throw ConfigValueError("expected true or false, got '\(text)'")
            }
            return bool
        }
    }

    /// A duration, greater than zero unless `allowsZero`.
    mutating func duration(_ node: Node, label: String, allowsZero: Bool = false) -> Duration? {
        value(node, label: label, expected: "a duration") { text throws(ConfigValueError) in
            let duration = try DurationFormat.parse(text)
            if !allowsZero, duration == .zero {
                throw ConfigValueError("must be greater than zero")
            }
            return duration
        }
    }

    /// A path, made absolute against `base` (the config file's folder); `~` is the home folder.
    mutating func path(_ node: Node, label: String, relativeTo base: String) -> String? {
        value(node, label: label, expected: "a path") { text throws(ConfigValueError) in
            guard !text.isEmpty else { throw ConfigValueError("expected a path, got an empty string") }
            return Self.resolve(path: text, relativeTo: base)
        }
    }

    static func resolve(path: String, relativeTo base: String) -> String {
        var path = path
        if path == "~" || path.hasPrefix("~/") {
            path = FileManager.default.homeDirectoryForCurrentUser.path + path.dropFirst()
        }
        let url = path.hasPrefix("/")
            ? URL(fileURLWithPath: path)
            : URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: base, isDirectory: true))
        return url.standardizedFileURL.path
    }

    private mutating func substitute(_ text: String, label: String, at node: Node) -> String? {
        do {
            return try substitution.apply(to: text)
        } catch {
            for message in error.messages {
                report(.undefinedVariable, Self.prefixed(label, message), at: node)
            }
            return nil
        }
    }

    // MARK: Free-form values

    /// A free-form tree (a source's `config:`), scalars substituted and typed by the YAML 1.2
    /// core schema; nil when any part of it was reported.
    ///
    /// Substitution happens before typing for plain scalars, as if the text had been written
    /// in the file: `port: ${PORT}` gives an integer, `name: "${NAME}"` always a string.
    mutating func configValue(_ node: Node, label: String) -> ConfigValue? {
        let line = node.mark?.line ?? 0
        let column = node.mark?.column ?? 0
        switch node {
        case .scalar(let scalar):
            guard let text = substitute(scalar.string, label: label, at: node) else { return nil }
            let tag = scalar.tag.description
            let kind: ConfigValue.Kind
            do {
                if tag.isEmpty {
                    kind = scalar.style == .plain ? try ConfigValue.coreSchemaKind(ofPlain: text) : .string(text)
                } else {
                    kind = try ConfigValue.kind(ofText: text, taggedAs: tag)
                }
            } catch {
                report(.invalidValue, Self.prefixed(label, error.message), at: node)
                return nil
            }
            if case .double(let double) = kind, !double.isFinite {
                report(.invalidValue, Self.prefixed(label, "\(text) has no JSON form; quote it to pass a string"), at: node)
                return nil
            }
            return ConfigValue(kind, line: line, column: column)
        case .sequence(let sequence):
            var elements: [ConfigValue] = []
            var failed = false
            for (index, element) in sequence.enumerated() {
                if let value = configValue(element, label: "\(label)[\(index)]") {
                    elements.append(value)
                } else {
                    failed = true
                }
            }
            return failed ? nil : ConfigValue(.array(elements), line: line, column: column)
        case .mapping(let mapping):
            var members: [ConfigValue.Member] = []
            var failed = false
            for (keyNode, valueNode) in mapping {
                guard case .scalar(let key) = keyNode else {
                    report(.invalidValue, Self.prefixed(label, "keys must be plain strings, got \(Self.describe(keyNode))"), at: keyNode)
                    failed = true
                    continue
                }
                guard let value = configValue(valueNode, label: "\(label).\(key.string)") else {
                    failed = true
                    continue
                }
                members.append(ConfigValue.Member(
                    key: key.string, value: value,
                    line: keyNode.mark?.line ?? 0, column: keyNode.mark?.column ?? 0
                ))
            }
            return failed ? nil : ConfigValue(.object(members), line: line, column: column)
        case .alias:
            // Yams replaces aliases by their anchored node while composing; kept for exhaustiveness.
            report(.invalidValue, Self.prefixed(label, "aliases are not supported here"), at: node)
            return nil
        }
    }
}
