import Foundation
import InletCore

/// `--json` output: one object or array per command, on one line, keys sorted.
enum JSONOutput {
    static func print(_ object: Any) {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        Swift.print(String(decoding: data, as: UTF8.self))
    }

    /// A value, or `null`: every key is present whether it has a value or not.
    static func orNull<Value>(_ value: Value?) -> Any {
        value.map { $0 as Any } ?? NSNull()
    }

    /// A time as ISO 8601 in UTC (as the database's text timestamps), or `null`.
    static func time(_ date: Date?) -> Any {
        orNull(date.map(TimeText.absolute))
    }

    /// A JSON text held in the database (job args) as a value, or as the text when it does not parse.
    static func embedded(_ text: String) -> Any {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])) ?? text
    }
}
