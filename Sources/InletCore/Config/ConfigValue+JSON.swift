import Foundation

extension ConfigValue {
    /// The tree as JSON text, the form a plugin receives its config in.
    ///
    /// Members keep file order. Strings are escaped per RFC 8259 (quote, backslash, control
    /// characters); other characters are written as UTF-8. Non-finite doubles have no JSON form
    /// and are written as `null`; the loader refuses them before they get here.
    /// - Parameter prettyPrinted: indent by two spaces, one member or element per line.
    package func jsonString(prettyPrinted: Bool = false) -> String {
        var output = ""
        write(to: &output, indent: prettyPrinted ? 0 : nil)
        return output
    }

    private func write(to output: inout String, indent: Int?) {
        switch kind {
        case .string(let string):
            Self.writeJSONString(string, to: &output)
        case .int(let int):
            output += String(int)
        case .double(let double):
            output += double.isFinite ? Self.jsonNumber(double) : "null"
        case .bool(let bool):
            output += bool ? "true" : "false"
        case .null:
            output += "null"
        case .array(let elements):
            writeContainer(open: "[", close: "]", count: elements.count, to: &output, indent: indent) {
                elements[$0].write(to: &$1, indent: $2)
            }
        case .object(let members):
            writeContainer(open: "{", close: "}", count: members.count, to: &output, indent: indent) {
                Self.writeJSONString(members[$0].key, to: &$1)
                $1 += $2 == nil ? ":" : ": "
                members[$0].value.write(to: &$1, indent: $2)
            }
        }
    }

    private func writeContainer(
        open: String,
        close: String,
        count: Int,
        to output: inout String,
        indent: Int?,
        element: (Int, inout String, Int?) -> Void
    ) {
        output += open
        guard count > 0 else {
            output += close
            return
        }
        let inner = indent.map { $0 + 2 }
        for index in 0..<count {
            if index > 0 { output += "," }
            if let inner { output += "\n" + String(repeating: " ", count: inner) }
            element(index, &output, inner)
        }
        if let indent { output += "\n" + String(repeating: " ", count: indent) }
        output += close
    }

    /// Swift's shortest round-tripping form, which is valid JSON for finite values ("1.5",
    /// "1e-05", "1e+20").
    private static func jsonNumber(_ double: Double) -> String {
        "\(double)"
    }

    private static func writeJSONString(_ string: String, to output: inout String) {
        output += "\"" + JSONText.escaped(string) + "\""
    }
}

extension ConfigValue {
    /// Builds a tree from JSON text (positions 0), e.g. a connector's config schema.
    /// - Throws: `ConfigValueError` when the text isn't JSON.
    package init(json: String) throws(ConfigValueError) {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(json.utf8), options: [.fragmentsAllowed])
        } catch {
            throw ConfigValueError("invalid JSON: \(error.localizedDescription)")
        }
        self = Self(foundationObject: object)
    }

    private init(foundationObject object: Any) {
        switch object {
        case let string as String:
            self.init(.string(string))
        case let number as NSNumber:
            self.init(Self.kind(of: number))
        case let array as [Any]:
            self.init(.array(array.map { ConfigValue(foundationObject: $0) }))
        case let dictionary as [String: Any]:
            // JSONSerialization loses member order; sorted keys at least make it deterministic.
            self.init(.object(dictionary.keys.sorted().map {
                Member(key: $0, value: ConfigValue(foundationObject: dictionary[$0] as Any))
            }))
        default:
            self.init(.null)
        }
    }

    /// JSONSerialization returns booleans and numbers alike as NSNumber; the Objective-C type
    /// code ("c" for the boolean singletons) is the portable way to tell them apart.
    private static func kind(of number: NSNumber) -> Kind {
        switch String(cString: number.objCType) {
        case "c", "B":
            return .bool(number.boolValue)
        case "d", "f":
            return .double(number.doubleValue)
        case "Q" where number.uint64Value > UInt64(Int.max):
            return .double(number.doubleValue)
        default:
            return .int(number.intValue)
        }
    }
}
