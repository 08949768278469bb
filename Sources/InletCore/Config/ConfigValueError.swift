/// A value that doesn't parse (a duration, a size, a cron expression, a schema), described
/// without a position.
///
/// The value parsers know nothing of YAML; the loader positions this message at the node the
/// text came from and turns it into a `ConfigError`.
package struct ConfigValueError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong with the value, e.g. "cron: minute 61 out of range 0-59".
    package var message: String

    /// Creates an error with a message.
    package init(_ message: String) {
        self.message = message
    }

    /// The message.
    package var description: String { message }
}
