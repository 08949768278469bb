/// Where something was written in a config file, kept so that later stages (plugin loading,
/// schema validation) can report problems at the line the user wrote.
package struct ConfigLocation: Sendable, Hashable, CustomStringConvertible {
    /// The config file, as the user named it.
    package var file: String
    /// 1-based line.
    package var line: Int
    /// 1-based column.
    package var column: Int

    /// Creates a location.
    package init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    /// `FILE:LINE:COLUMN`.
    package var description: String { "\(file):\(line):\(column)" }
}
