/// Every problem found in one config file, thrown together so a user fixes them in one pass.
package struct ConfigErrors: Error, Sendable, Hashable, CustomStringConvertible {
    /// The problems, ordered by position in the file.
    package var errors: [ConfigError]

    /// Wraps problems, ordering them by file position (stable for equal positions).
    package init(_ errors: [ConfigError]) {
        self.errors = errors.enumerated().sorted { lhs, rhs in
            (lhs.element.file, lhs.element.line, lhs.element.column, lhs.offset)
                < (rhs.element.file, rhs.element.line, rhs.element.column, rhs.offset)
        }.map(\.element)
    }

    /// One problem per line, each `FILE:LINE:COLUMN: message`.
    package var description: String {
        errors.map(\.description).joined(separator: "\n")
    }
}
