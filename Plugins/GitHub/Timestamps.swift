import Foundation

/// GitHub's ISO 8601 timestamps (`2024-05-01T12:00:00Z`) and HTTP dates, as comparable text.
enum Timestamps {
    /// GitHub writes UTC with second precision and a `Z`, so these strings order like times.
    static func date(iso: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: iso)
    }

    static func iso(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }

    /// An HTTP `Date` header (`Tue, 01 Dec 2026 09:22:15 GMT`) as GitHub's ISO form.
    static func iso(httpDate: String) -> String? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: httpDate).map(iso)
    }

    /// True when `candidate` is the same time as `stored` or later (as times when both parse,
    /// else as text, which orders GitHub's own form correctly).
    static func notOlder(_ candidate: String, than stored: String) -> Bool {
        if let new = date(iso: candidate), let old = date(iso: stored) { return new >= old }
        return candidate >= stored
    }
}
