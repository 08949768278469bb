/// A free-form config tree, such as a source's `config:` block, which Inlet hands to a plugin as
/// JSON without knowing its shape.
///
/// Every node remembers where it was written, so a schema violation found later (when the
/// plugin's schema is known) still points at the right line. Object members keep file order.
/// Equality includes positions; compare `jsonString()` to compare values only.
package struct ConfigValue: Sendable, Hashable {
    /// The value of one node.
    package enum Kind: Sendable, Hashable {
        /// Text: a quoted scalar, or a plain one that isn't another type.
        case string(String)
        /// A 64-bit integer (`123`, `-7`, `0x1F`, `0o17`).
        case int(Int)
        /// A finite number with a fraction or exponent (`1.5`, `1e3`).
        case double(Double)
        /// `true` or `false` (any of YAML 1.2's spellings).
        case bool(Bool)
        /// `null`, `~`, or nothing.
        case null
        /// A sequence, in order.
        case array([ConfigValue])
        /// A mapping, in file order.
        case object([Member])
    }

    /// One key and its value in an object, in file order.
    package struct Member: Sendable, Hashable {
        /// The key.
        package var key: String
        /// The value.
        package var value: ConfigValue
        /// 1-based line of the key (0 when built in code).
        package var line: Int
        /// 1-based column of the key (0 when built in code).
        package var column: Int

        /// Creates a member; the position is the key's.
        package init(key: String, value: ConfigValue, line: Int = 0, column: Int = 0) {
            self.key = key
            self.value = value
            self.line = line
            self.column = column
        }
    }

    /// The node's value.
    package var kind: Kind
    /// 1-based line of the node (0 when built in code).
    package var line: Int
    /// 1-based column of the node (0 when built in code).
    package var column: Int

    /// Creates a node.
    package init(_ kind: Kind, line: Int = 0, column: Int = 0) {
        self.kind = kind
        self.line = line
        self.column = column
    }

    /// The member named `key` when this is an object.
    package subscript(key: String) -> ConfigValue? {
        guard case .object(let members) = kind else { return nil }
        return members.first { $0.key == key }?.value
    }

    /// The element at `index` when this is an array and the index is in range.
    package subscript(index: Int) -> ConfigValue? {
        guard case .array(let elements) = kind, elements.indices.contains(index) else { return nil }
        return elements[index]
    }

    /// The JSON Schema name of the node's type, used in messages ("expected string, got integer").
    package var typeName: String {
        switch kind {
        case .string: "string"
        case .int: "integer"
        case .double: "number"
        case .bool: "boolean"
        case .null: "null"
        case .array: "array"
        case .object: "object"
        }
    }

    /// Whether two trees hold the same data, ignoring positions and treating `1` and `1.0` as
    /// equal, as JSON does.
    package func hasSameValue(as other: ConfigValue) -> Bool {
        switch (kind, other.kind) {
        case let (.string(a), .string(b)): a == b
        case let (.bool(a), .bool(b)): a == b
        case (.null, .null): true
        case let (.int(a), .int(b)): a == b
        case let (.int(a), .double(b)), let (.double(b), .int(a)): Double(a) == b
        case let (.double(a), .double(b)): a == b
        case let (.array(a), .array(b)):
            a.count == b.count && zip(a, b).allSatisfy { $0.hasSameValue(as: $1) }
        case let (.object(a), .object(b)):
            a.count == b.count && a.allSatisfy { member in
                b.first { $0.key == member.key }.map { $0.value.hasSameValue(as: member.value) } ?? false
            }
        default: false
        }
    }
}

extension ConfigValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByNilLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    // Literals make tests and built-in defaults readable; their positions are 0.
    package init(stringLiteral value: String) { self.init(.string(value)) }
    package init(integerLiteral value: Int) { self.init(.int(value)) }
    package init(floatLiteral value: Double) { self.init(.double(value)) }
    package init(booleanLiteral value: Bool) { self.init(.bool(value)) }
    package init(nilLiteral: ()) { self.init(.null) }
    package init(arrayLiteral elements: ConfigValue...) { self.init(.array(elements)) }
    package init(dictionaryLiteral elements: (String, ConfigValue)...) {
        self.init(.object(elements.map { Member(key: $0.0, value: $0.1) }))
    }
}
