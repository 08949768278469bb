/// When a source syncs on its own: `every <duration>` or a cron expression.
package enum SourceSchedule: Sendable, Hashable, CustomStringConvertible {
    /// A fixed period between runs, always greater than zero.
    case interval(Duration)
    /// A standard 5-field cron expression.
    case cron(CronExpression)

    /// Parses `every 5m` or a cron expression such as `*/15 * * * *`.
    /// - Throws: `ConfigValueError` explaining both accepted forms, or the cron field at fault.
    package init(_ text: String) throws(ConfigValueError) {
        let words = text.split(separator: " ", omittingEmptySubsequences: true)
        if words.first == "every" {
            guard words.count == 2 else {
                throw ConfigValueError("expected 'every <duration>', e.g. every 5m, got '\(text)'")
            }
            let period = try DurationFormat.parse(String(words[1]))
            guard period > .zero else {
                throw ConfigValueError("the interval in '\(text)' must be greater than zero")
            }
            self = .interval(period)
            return
        }
        // Anything that doesn't look like cron gets a message naming both forms, not a
        // puzzling cron field-count error.
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard text.hasPrefix("@") || fields.count == 5 else {
            throw ConfigValueError(
                "expected 'every <duration>' (e.g. every 5m) or a 5-field cron expression (e.g. */15 * * * *), got '\(text)'"
            )
        }
        self = .cron(try CronExpression(text))
    }

    /// The schedule as a config file writes it.
    package var description: String {
        switch self {
        case .interval(let period): "every \(DurationFormat.string(from: period))"
        case .cron(let expression): expression.expression
        }
    }
}
