/// Replaces `${VAR}` and `${VAR:-default}` in config strings with environment values, so
/// secrets stay out of the file.
///
/// - `$$` is a literal `$`; a `$` followed by anything else than `{` or `$` is kept as is.
/// - `${VAR:-default}` uses `default` when `VAR` is unset *or empty*, as the shell does; the
///   default may itself contain `${…}`.
/// - Names are letters, digits and `_`, not starting with a digit.
///
/// It works on the text of one scalar after YAML parsing, so quoting rules are YAML's and
/// every problem can be reported at that scalar's position.
package struct EnvironmentSubstitution: Sendable {
    /// Every problem found in one string; each message names the variable involved.
    package struct Failure: Error, Sendable, Hashable {
        /// One message per problem, in order of appearance.
        package var messages: [String]

        /// Creates a failure.
        package init(messages: [String]) {
            self.messages = messages
        }
    }

    /// The variables substituted, usually the process environment.
    package var environment: [String: String]

    /// Creates a substitution over `environment`.
    package init(environment: [String: String]) {
        self.environment = environment
    }

    /// Returns `text` with every reference replaced.
    /// - Throws: `Failure` listing every unset variable and malformed reference in `text`.
    package func apply(to text: String) throws(Failure) -> String {
        var messages: [String] = []
        let scalars = Array(text.unicodeScalars)
        let result = expand(scalars[...], messages: &messages)
        if !messages.isEmpty {
            throw Failure(messages: messages)
        }
        return result
    }

    private func expand(_ scalars: ArraySlice<Unicode.Scalar>, messages: inout [String]) -> String {
        var output = String.UnicodeScalarView()
        var index = scalars.startIndex
        while index < scalars.endIndex {
            let scalar = scalars[index]
            let following = scalars.index(after: index)
            guard scalar == "$", following < scalars.endIndex else {
                output.append(scalar)
                index = following
                continue
            }
            if scalars[following] == "$" {
                output.append("$")
                index = scalars.index(after: following)
                continue
            }
            guard scalars[following] == "{" else {
                output.append(scalar)
                index = following
                continue
            }
            let bodyStart = scalars.index(after: following)
            guard let close = matchingBrace(in: scalars, from: bodyStart) else {
                let reference = String(String.UnicodeScalarView(scalars[index...]))
                messages.append("unterminated '\(reference)': add '}' or write '$$' for a literal '$'")
                return String(output)
            }
            output.append(contentsOf: resolve(scalars[bodyStart..<close], messages: &messages).unicodeScalars)
            index = scalars.index(after: close)
        }
        return String(output)
    }

    /// The `}` closing a `${` whose body starts at `start`, counting nested `${…}` in defaults.
    private func matchingBrace(in scalars: ArraySlice<Unicode.Scalar>, from start: Int) -> Int? {
        var depth = 0
        var index = start
        while index < scalars.endIndex {
            switch scalars[index] {
            case "$" where index + 1 < scalars.endIndex && scalars[index + 1] == "$":
                index += 1
            case "$" where index + 1 < scalars.endIndex && scalars[index + 1] == "{":
                depth += 1
                index += 1
            case "}":
                if depth == 0 { return index }
                depth -= 1
            default:
                break
            }
            index += 1
        }
        return nil
    }

    private func resolve(_ body: ArraySlice<Unicode.Scalar>, messages: inout [String]) -> String {
        var name = body
        var fallback: ArraySlice<Unicode.Scalar>?
        if let colon = body.firstIndex(of: ":"), colon + 1 < body.endIndex, body[colon + 1] == "-" {
            name = body[body.startIndex..<colon]
            fallback = body[(colon + 2)...]
        }
        let nameText = String(String.UnicodeScalarView(name))
        guard Self.isValidName(name) else {
            let reference = "${" + String(String.UnicodeScalarView(body)) + "}"
            if nameText.isEmpty {
                messages.append("'\(reference)' names no variable")
            } else {
                messages.append(
                    "invalid variable name '\(nameText)' in '\(reference)': use letters, digits and '_' (defaults are written ${NAME:-default})"
                )
            }
            return ""
        }
        if let value = environment[nameText], !(value.isEmpty && fallback != nil) {
            return value
        }
        if let fallback {
            return expand(fallback, messages: &messages)
        }
        messages.append("environment variable \(nameText) is not set (use ${\(nameText):-default} for a default)")
        return ""
    }

    private static func isValidName(_ name: ArraySlice<Unicode.Scalar>) -> Bool {
        func isLetter(_ scalar: Unicode.Scalar) -> Bool {
            scalar == "_" || ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar)
        }
        guard let first = name.first, isLetter(first) else { return false }
        return name.allSatisfy { isLetter($0) || ("0"..."9").contains($0) }
    }
}
