/// A standard 5-field cron expression: minute, hour, day of month, month, day of week.
///
/// Each field takes `*`, numbers, lists (`1,5`), ranges (`1-5`), steps (`*/15`, `10-50/10`,
/// `5/15` meaning `5-max/15`; a step must not exceed its range's width, so minute `*/60` is
/// refused), month names `jan`…`dec` and weekday names `sun`…`sat` (any case);
/// day of week 7 is Sunday, like 0. The macros `@yearly` (`@annually`), `@monthly`, `@weekly`,
/// `@daily` (`@midnight`) and `@hourly` are accepted too.
///
/// Days follow Vixie cron, the cron Linux distributions ship: when both day of month and day of
/// week are restricted, a day matching *either* fires; a field counts as unrestricted when it
/// starts with `*` (so `*/2` in day of month still combines with day of week by *and*).
package struct CronExpression: Sendable, Hashable, CustomStringConvertible {
    /// The expression as written.
    package let expression: String

    // Bit n set means value n is selected.
    let minutes: UInt64
    let hours: UInt32
    let daysOfMonth: UInt32
    let months: UInt16
    /// Sunday is bit 0; 7 is folded into it when parsing.
    let daysOfWeek: UInt8
    let dayOfMonthIsUnrestricted: Bool
    let dayOfWeekIsUnrestricted: Bool
    /// Vixie cron runs only such "wildcard" jobs a second time when a DST change repeats an hour.
    let minuteOrHourIsWildcard: Bool

    private struct Field {
        let name: String
        let range: ClosedRange<Int>
        let names: [String]
        /// The first value `names` stands for (1 for months, 0 for weekdays).
        let firstNamedValue: Int
    }

    private static let fields: [Field] = [
        Field(name: "minute", range: 0...59, names: [], firstNamedValue: 0),
        Field(name: "hour", range: 0...23, names: [], firstNamedValue: 0),
        Field(name: "day-of-month", range: 1...31, names: [], firstNamedValue: 1),
        Field(
            name: "month", range: 1...12,
            names: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
            firstNamedValue: 1
        ),
        Field(
            name: "day-of-week", range: 0...7,
            names: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
            firstNamedValue: 0
        ),
    ]

    private static let macros: [String: String] = [
        "@yearly": "0 0 1 1 *",
        "@annually": "0 0 1 1 *",
        "@monthly": "0 0 1 * *",
        "@weekly": "0 0 * * 0",
        "@daily": "0 0 * * *",
        "@midnight": "0 0 * * *",
        "@hourly": "0 * * * *",
    ]

    /// Parses an expression.
    /// - Throws: `ConfigValueError` naming the field and value at fault, e.g.
    ///   "cron: minute 61 out of range 0-59".
    package init(_ expression: String) throws(ConfigValueError) {
        self.expression = expression
        var text = expression
        if expression.hasPrefix("@") {
            guard let expansion = Self.macros[expression.lowercased()] else {
                throw ConfigValueError(
                    "cron: unknown macro '\(expression)' (use @yearly, @monthly, @weekly, @daily or @hourly)"
                )
            }
            text = expansion
        }
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard parts.count == 5 else {
            throw ConfigValueError(
                "cron: expected 5 fields (minute hour day-of-month month day-of-week), got \(parts.count) in '\(expression)'"
            )
        }
        var sets: [UInt64] = []
        for (field, part) in zip(Self.fields, parts) {
            sets.append(try Self.parse(part, as: field))
        }
        minutes = sets[0]
        hours = UInt32(sets[1])
        daysOfMonth = UInt32(sets[2])
        months = UInt16(sets[3])
        // Sunday may be written 0 or 7; keep one bit for it.
        let weekdays = sets[4]
        daysOfWeek = UInt8(truncatingIfNeeded: (weekdays | (weekdays >> 7)) & 0x7F)
        dayOfMonthIsUnrestricted = parts[2].hasPrefix("*")
        dayOfWeekIsUnrestricted = parts[4].hasPrefix("*")
        minuteOrHourIsWildcard = parts[0].hasPrefix("*") || parts[1].hasPrefix("*")
        try checkSomeDayExists()
    }

    package var description: String { expression }

    /// Refuses expressions that can never fire, such as `0 0 30 2 *`, which would otherwise make
    /// a source silently never run.
    private func checkSomeDayExists() throws(ConfigValueError) {
        // With day of week restricted (and day of month too, or starting with `*`), weekdays
        // cycle through every date, so only "day of month alone" can be impossible.
        guard dayOfWeekIsUnrestricted else { return }
        let longest = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        for month in 1...12 where months & (1 << month) != 0 {
            for day in 1...longest[month] where daysOfMonth & (1 << day) != 0 {
                return
            }
        }
        let firstDay: Int = (1...31).first { daysOfMonth & (1 << $0) != 0 } ?? 0
        throw ConfigValueError("cron: '\(expression)' never fires: no selected month has a day \(firstDay)")
    }

    private static func parse(_ text: String, as field: Field) throws(ConfigValueError) -> UInt64 {
        var set: UInt64 = 0
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            if item.isEmpty {
                throw ConfigValueError("cron: empty item in \(field.name) list '\(text)'")
            }
            var rangePart = Substring(item)
            var step = 1
            if let slash = item.firstIndex(of: "/") {
                rangePart = item[..<slash]
                let stepText = item[item.index(after: slash)...]
                guard let value = Int(stepText), value >= 1 else {
                    throw ConfigValueError("cron: \(field.name) step '\(stepText)' must be a whole number >= 1")
                }
                step = value
            }
            let low: Int
            var high: Int
            if rangePart == "*" {
                low = field.range.lowerBound
                high = field.range.upperBound
                // `*/n` over weekdays means 0-6; stepping onto 7 would select Sunday twice.
                if field.name == "day-of-week" { high = 6 }
            } else if let dash = rangePart.firstIndex(of: "-") {
                low = try value(rangePart[..<dash], in: field)
                high = try value(rangePart[rangePart.index(after: dash)...], in: field)
                if low > high {
                    throw ConfigValueError("cron: \(field.name) range \(rangePart) is backwards (write the smaller value first)")
                }
            } else {
                low = try value(rangePart, in: field)
                // `5/15` is Vixie cron's shorthand for `5-59/15`.
                high = step > 1 || item.contains("/") ? field.range.upperBound : low
            }
            // A step wider than its range selects only the range's first value, which is never
            // what `*/61` or `*/60` meant ("every 61 minutes" can't be said in cron). A step of 1
            // skips nothing, so it can't hide such a mistake and stays allowed even on `5-5/1`.
            if step > 1 && step > high - low {
                throw ConfigValueError("cron: \(field.name) step \(step) is larger than the range \(low)-\(high)")
            }
            for selected in stride(from: low, through: high, by: step) {
                set |= 1 << UInt64(selected)
            }
        }
        return set
    }

    private static func value(_ text: Substring, in field: Field) throws(ConfigValueError) -> Int {
        if let number = Int(text) {
            guard field.range.contains(number) else {
                throw ConfigValueError(
                    "cron: \(field.name) \(number) out of range \(field.range.lowerBound)-\(field.range.upperBound)"
                )
            }
            return number
        }
        if let index = field.names.firstIndex(of: text.lowercased()) {
            return field.firstNamedValue + index
        }
        if text.isEmpty {
            throw ConfigValueError("cron: missing \(field.name) value")
        }
        let hint = field.names.isEmpty
            ? "a number \(field.range.lowerBound)-\(field.range.upperBound)"
            : "a number \(field.range.lowerBound)-\(field.range.upperBound) or a name \(field.names.first!)..\(field.names.last!)"
        throw ConfigValueError("cron: invalid \(field.name) '\(text)' (expected \(hint))")
    }
}
