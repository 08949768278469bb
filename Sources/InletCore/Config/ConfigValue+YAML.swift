extension ConfigValue {
    /// Types a plain (unquoted, untagged) YAML scalar by the YAML 1.2 core schema.
    ///
    /// Yams' own resolver follows YAML 1.1, where `yes`, `on` and `0755` are not strings; plugins
    /// receive their config as JSON, whose rules 1.2 matches, so Inlet resolves scalars itself.
    /// - Throws: `ConfigValueError` for integers beyond 64 bits.
    static func coreSchemaKind(ofPlain text: String) throws(ConfigValueError) -> Kind {
        if isCoreNull(text) { return .null }
        if let bool = coreBool(text) { return .bool(bool) }
        if let int = try coreInt(text) { return .int(int) }
        if let double = coreFloat(text) { return .double(double) }
        return .string(text)
    }

    /// Types a scalar carrying an explicit standard tag (`!!str`, `!!int`, …).
    /// - Throws: `ConfigValueError` when the text doesn't fit the tag, or the tag isn't one of
    ///   the core schema's.
    static func kind(ofText text: String, taggedAs tag: String) throws(ConfigValueError) -> Kind {
        switch tag {
        case "tag:yaml.org,2002:str", "!":
            return .string(text)
        case "tag:yaml.org,2002:null" where isCoreNull(text):
            return .null
        case "tag:yaml.org,2002:bool":
            if let bool = coreBool(text) { return .bool(bool) }
        case "tag:yaml.org,2002:int":
            if let int = try coreInt(text) { return .int(int) }
        case "tag:yaml.org,2002:float":
            if let int = try coreInt(text) { return .double(Double(int)) }
            if let double = coreFloat(text) { return .double(double) }
        case "tag:yaml.org,2002:null":
            break
        default:
            throw ConfigValueError("unsupported tag '\(tag)' (use !!str, !!int, !!float, !!bool or !!null)")
        }
        let name = tag.replacingPrefix("tag:yaml.org,2002:", with: "!!")
        throw ConfigValueError("'\(text)' is not a valid \(name) value")
    }

    static func isCoreNull(_ text: String) -> Bool {
        ["", "~", "null", "Null", "NULL"].contains(text)
    }

    static func coreBool(_ text: String) -> Bool? {
        switch text {
        case "true", "True", "TRUE": true
        case "false", "False", "FALSE": false
        default: nil
        }
    }

    private static func coreInt(_ text: String) throws(ConfigValueError) -> Int? {
        let parsed: Int?
        if text.wholeMatch(of: /[-+]?[0-9]+/) != nil {
            parsed = Int(text)
        } else if text.wholeMatch(of: /0o[0-7]+/) != nil {
            parsed = Int(text.dropFirst(2), radix: 8)
        } else if text.wholeMatch(of: /0x[0-9a-fA-F]+/) != nil {
            parsed = Int(text.dropFirst(2), radix: 16)
        } else {
            return nil
        }
        guard let parsed else {
            throw ConfigValueError("integer \(text) is out of range (\(Int.min)...\(Int.max))")
        }
        return parsed
    }

    private static func coreFloat(_ text: String) -> Double? {
        if text.wholeMatch(of: /[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?/) != nil {
            // Swift's parser rejects a trailing dot ("1."), which YAML allows.
            return Double(text.hasSuffix(".") ? text + "0" : text)
        }
        switch text {
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .infinity
        case "-.inf", "-.Inf", "-.INF": return -.infinity
        case ".nan", ".NaN", ".NAN": return .nan
        default: return nil
        }
    }
}

extension String {
    fileprivate func replacingPrefix(_ prefix: String, with replacement: String) -> String {
        hasPrefix(prefix) ? replacement + dropFirst(prefix.count) : self
    }
}
