/// One problem found in a config file, positioned at the YAML node that caused it.
///
/// Line and column are 1-based (libyaml counts columns in Unicode scalars). A problem with the
/// file as a whole (it can't be read, it isn't UTF-8) has line and column 0 and renders as
/// `FILE: message`.
package struct ConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of problem this is, so callers and tests can match without parsing messages.
    ///
    /// A struct over a private enum, so codes can grow without breaking exhaustive switches.
    package struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case unreadableFile
            case syntax
            case unknownKey
            case missingKey
            case invalidValue
            case undefinedVariable
            case duplicateName
            case schemaViolation
        }

        private let base: Base

        private init(_ base: Base) {
            self.base = base
        }

        /// The file couldn't be read or decoded.
        package static let unreadableFile = Code(.unreadableFile)
        /// The text isn't valid YAML.
        package static let syntax = Code(.syntax)
        /// A mapping has a key the config doesn't know.
        package static let unknownKey = Code(.unknownKey)
        /// A required key is absent.
        package static let missingKey = Code(.missingKey)
        /// A value has the wrong type, format or range.
        package static let invalidValue = Code(.invalidValue)
        /// `${VAR}` names a variable that isn't set and has no default, or is malformed.
        package static let undefinedVariable = Code(.undefinedVariable)
        /// Two sources share a name.
        package static let duplicateName = Code(.duplicateName)
        /// A source's `config:` block doesn't satisfy its connector's schema.
        package static let schemaViolation = Code(.schemaViolation)

        /// The code's name, e.g. "unknownKey".
        package var description: String { base.rawValue }
    }

    /// The kind of problem.
    package var code: Code
    /// The config file, as the user named it.
    package var file: String
    /// 1-based line, or 0 when the problem concerns the whole file.
    package var line: Int
    /// 1-based column, or 0 when the problem concerns the whole file.
    package var column: Int
    /// What is wrong, naming the key, source or variable involved.
    package var message: String

    /// Creates an error at an explicit position.
    package init(code: Code, file: String, line: Int, column: Int, message: String) {
        self.code = code
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    /// Creates an error at a remembered position, such as a source's.
    package init(code: Code, at location: ConfigLocation, message: String) {
        self.init(code: code, file: location.file, line: location.line, column: location.column, message: message)
    }

    /// The position as one value, for callers that carry it on (e.g. into a problem list).
    package var location: ConfigLocation {
        ConfigLocation(file: file, line: line, column: column)
    }

    /// `FILE:LINE:COLUMN: message`, the form editors and terminals turn into links.
    package var description: String {
        if line == 0 {
            return "\(file): \(message)"
        }
        return "\(file):\(line):\(column): \(message)"
    }
}
