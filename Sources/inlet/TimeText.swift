import Foundation
import InletCore

/// Times as operators read them: relative (`in 4m`, `3s ago`) in tables, absolute in details.
enum TimeText {
    /// `in 4m`, `3s ago`, `now`; `1h30m ago`, `in 2d4h`.
    static func relative(_ date: Date, now: Date) -> String {
        let delta = date.timeIntervalSince(now)
        let span = span(seconds: abs(delta))
        if span == "0s" { return "now" }
        return delta > 0 ? "in \(span)" : "\(span) ago"
    }

    /// A span rounded to its two largest units: `42s`, `4m`, `1h30m`, `2d4h`, `12d`.
    static func span(seconds: Double) -> String {
        let total = Int(seconds.rounded())
        if total < 60 { return "\(total)s" }
        if total < 3600 {
            let minutes = Int((seconds / 60).rounded())
            return minutes < 60 ? "\(minutes)m" : "1h"
        }
        let minutes = Int((seconds / 60).rounded())
        if minutes < 1440 { return minutes % 60 == 0 ? "\(minutes / 60)h" : "\(minutes / 60)h\(minutes % 60)m" }
        let hours = Int((seconds / 3600).rounded())
        // Beyond ten days the hours are noise.
        if hours >= 240 { return "\(Int((seconds / 86_400).rounded()))d" }
        return hours % 24 == 0 ? "\(hours / 24)d" : "\(hours / 24)d\(hours % 24)h"
    }

    /// ISO 8601 in UTC with milliseconds, as the database's text timestamps.
    static func absolute(_ date: Date) -> String {
        StorageClock.format(date)
    }

    /// `2025-06-01T12:00:00.000Z (3m ago)`, or `-`.
    static func detailed(_ date: Date?, now: Date) -> String {
        guard let date else { return "-" }
        return "\(absolute(date)) (\(relative(date, now: now)))"
    }

    /// Reads a text timestamp the database wrote (quarantine's `created_at`).
    static func parseStored(_ text: String) -> Date? {
        try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}
