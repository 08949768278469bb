/// Reads and writes the durations config files use: `500ms`, `2s`, `10m`, `1h`, `7d`, and
/// combinations such as `1h30m`.
///
/// Whole numbers only, so `1.5h` is refused with a hint to write `1h30m`: fractional config
/// values are usually typos, and millisecond precision covers every timeout Inlet has. A number
/// without a unit is refused too, because `30` could mean seconds or minutes.
package enum DurationFormat {
    private static let units: [(suffix: String, milliseconds: Int64)] = [
        ("ms", 1),
        ("s", 1_000),
        ("m", 60_000),
        ("h", 3_600_000),
        ("d", 86_400_000),
    ]

    private static let unitList = "ms, s, m, h or d"

    /// Parses `text` into a duration.
    /// - Throws: `ConfigValueError` naming the text and what is wrong with it.
    package static func parse(_ text: String) throws(ConfigValueError) -> Duration {
        if text.isEmpty {
            throw ConfigValueError("empty duration; expected e.g. 500ms, 30s, 5m, 1h30m or 7d")
        }
        if text.hasPrefix("-") {
            throw ConfigValueError("invalid duration '\(text)': must not be negative")
        }
        if text.contains(where: \.isWhitespace) {
            throw ConfigValueError("invalid duration '\(text)': remove the spaces (e.g. 1h30m)")
        }
        let scalars = Array(text.unicodeScalars)
        var index = 0
        var total: Int64 = 0
        while index < scalars.count {
            let numberStart = index
            while index < scalars.count, ("0"..."9").contains(scalars[index]) {
                index += 1
            }
            if index == numberStart {
                let rest = String(String.UnicodeScalarView(scalars[index...]))
                throw ConfigValueError("invalid duration '\(text)': expected a number before '\(rest)'")
            }
            let digits = String(String.UnicodeScalarView(scalars[numberStart..<index]))
            if index < scalars.count, scalars[index] == "." || scalars[index] == "," {
                throw ConfigValueError("invalid duration '\(text)': use whole numbers, e.g. 1h30m rather than 1.5h")
            }
            let unitStart = index
            while index < scalars.count, !("0"..."9").contains(scalars[index]) {
                index += 1
            }
            let unit = String(String.UnicodeScalarView(scalars[unitStart..<index]))
            if unit.isEmpty {
                throw ConfigValueError("invalid duration '\(text)': '\(digits)' has no unit (use \(unitList), e.g. \(digits)s)")
            }
            guard let factor = units.first(where: { $0.suffix == unit })?.milliseconds else {
                throw ConfigValueError("invalid duration '\(text)': unknown unit '\(unit)' (use \(unitList))")
            }
            guard let number = Int64(digits) else {
                throw ConfigValueError("invalid duration '\(text)': too large")
            }
            let (product, overflowed) = number.multipliedReportingOverflow(by: factor)
            let (sum, sumOverflowed) = total.addingReportingOverflow(product)
            if overflowed || sumOverflowed {
                throw ConfigValueError("invalid duration '\(text)': too large")
            }
            total = sum
        }
        return .milliseconds(total)
    }

    /// Renders a duration the way config files write it (`1h30m`, `500ms`, `0s`), for messages.
    ///
    /// Sub-millisecond parts are dropped; config durations never have them.
    package static func string(from duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        // Wrapping arithmetic: only absurd durations (hundreds of millions of years) wrap.
        var remaining = seconds &* 1_000 &+ attoseconds / 1_000_000_000_000_000
        if remaining == 0 { return "0s" }
        var text = ""
        if remaining < 0 {
            text = "-"
            remaining = remaining == .min ? .max : -remaining
        }
        for (suffix, factor) in units.reversed() where remaining >= factor {
            text += "\(remaining / factor)\(suffix)"
            remaining %= factor
        }
        return text
    }
}
