import Foundation
import InletCore
import Testing

@Suite("CronExpression")
struct ConfigCronTests {
    static let utc = TimeZone(identifier: "UTC")!

    /// A UTC (or `zone`) wall-clock time.
    static func date(_ text: String, in zone: TimeZone = utc) -> Date {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = zone
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return formatter.date(from: text.count == 16 ? text + ":00" : text)!
    }

    static func next(_ expression: String, after: String) throws -> String? {
        let cron = try CronExpression(expression)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = utc
        formatter.dateFormat = "yyyy-MM-dd HH:mm EEE"
        return cron.next(after: date(after), in: utc).map { formatter.string(from: $0) }
    }

    @Test(arguments: [
        // Steps, and "strictly after".
        ("*/15 * * * *", "2024-01-01 10:07", "2024-01-01 10:15 Mon"),
        ("*/15 * * * *", "2024-01-01 10:15", "2024-01-01 10:30 Mon"),
        ("*/15 * * * *", "2024-01-01 10:59:30", "2024-01-01 11:00 Mon"),
        ("10-50/10 * * * *", "2024-01-01 10:50", "2024-01-01 11:10 Mon"),
        ("5/20 * * * *", "2024-01-01 10:46", "2024-01-01 11:05 Mon"),
        // Year and month rollovers.
        ("*/15 * * * *", "2024-12-31 23:50", "2025-01-01 00:00 Wed"),
        ("0 0 31 * *", "2024-01-31 00:00", "2024-03-31 00:00 Sun"),
        ("0 0 31 * *", "2024-03-31 00:00", "2024-05-31 00:00 Fri"),
        ("59 23 31 12 *", "2024-12-31 23:59", "2025-12-31 23:59 Wed"),
        ("0 12 1 */3 *", "2024-02-10 00:00", "2024-04-01 12:00 Mon"),
        // Leap years, including the 2100 exception.
        ("0 0 29 2 *", "2023-03-01 00:00", "2024-02-29 00:00 Thu"),
        ("0 0 29 2 *", "2024-02-29 00:00", "2028-02-29 00:00 Tue"),
        ("0 0 29 2 *", "2096-03-01 00:00", "2104-02-29 00:00 Fri"),
        ("0 0 28-31 2 *", "2023-02-28 00:00", "2024-02-28 00:00 Wed"),
        // Names, lists, ranges; 7 is Sunday.
        ("30 9 * jan-mar mon-fri", "2024-03-29 10:00", "2025-01-01 09:30 Wed"),
        ("0 0 * * 7", "2024-03-02 00:00", "2024-03-03 00:00 Sun"),
        ("0 0 * * SUN", "2024-03-02 00:00", "2024-03-03 00:00 Sun"),
        ("0 8,18 * * sat,sun", "2024-03-02 09:00", "2024-03-02 18:00 Sat"),
        ("0 0 * * 5-7", "2024-03-04 00:00", "2024-03-08 00:00 Fri"),
        // Day of week alone (day of month is *): and.
        ("0 0 * * mon", "2024-02-28 00:00", "2024-03-04 00:00 Mon"),
        // Both restricted: either matches.
        ("0 12 13 * fri", "2024-09-01 00:00", "2024-09-06 12:00 Fri"),
        ("0 12 13 * fri", "2024-10-11 12:00", "2024-10-13 12:00 Sun"),
        // Vixie cron: a day-of-month field starting with * combines by and.
        ("0 0 */10 * mon", "2024-01-01 00:00", "2024-03-11 00:00 Mon"),
        // Macros.
        ("@yearly", "2024-06-01 00:00", "2025-01-01 00:00 Wed"),
        ("@hourly", "2024-06-01 00:00", "2024-06-01 01:00 Sat"),
        ("@weekly", "2024-06-01 00:00", "2024-06-02 00:00 Sun"),
    ])
    func next(expression: String, after: String, expected: String) throws {
        #expect(try Self.next(expression, after: after) == expected)
    }

    @Test func nextHonoursTheTimeZone() throws {
        let newYork = try #require(TimeZone(identifier: "America/New_York"))
        let cron = try CronExpression("0 9 * * *")
        // 10:00 EST is past 09:00, so the next run is 09:00 EST (14:00 UTC) the next day.
        #expect(cron.next(after: Self.date("2024-01-15 15:00"), in: newYork) == Self.date("2024-01-16 14:00"))
        #expect(cron.next(after: Self.date("2024-07-15 12:00"), in: newYork) == Self.date("2024-07-15 13:00"))
    }

    @Test func nextAcrossDaylightSavingChanges() throws {
        let berlin = try #require(TimeZone(identifier: "Europe/Berlin"))
        // 2024-03-31 02:00 CET jumps to 03:00 CEST: 02:30 doesn't exist and fires at 03:30 CEST.
        let daily = try CronExpression("30 2 * * *")
        #expect(daily.next(after: Self.date("2024-03-31 00:00"), in: berlin) == Self.date("2024-03-31 01:30"))
        // 2024-10-27 03:00 CEST goes back to 02:00 CET: a fixed time fires once...
        #expect(daily.next(after: Self.date("2024-10-27 00:00"), in: berlin) == Self.date("2024-10-27 00:30"))
        #expect(daily.next(after: Self.date("2024-10-27 00:30"), in: berlin) == Self.date("2024-10-28 01:30"))
        // ...while a wildcard expression fires in both passes, in time order.
        let every30 = try CronExpression("*/30 * * * *")
        #expect(every30.next(after: Self.date("2024-10-27 00:30"), in: berlin) == Self.date("2024-10-27 01:00"))
        let every15 = try CronExpression("*/15 * * * *")
        #expect(every15.next(after: Self.date("2024-10-27 00:10"), in: berlin) == Self.date("2024-10-27 00:15"))
        #expect(every15.next(after: Self.date("2024-10-27 00:45"), in: berlin) == Self.date("2024-10-27 01:00"))
    }

    @Test func nextIsAlwaysLaterAndMatches() throws {
        let cron = try CronExpression("7,37 */5 * * *")
        var date = Self.date("2024-02-27 00:00")
        var seen: [Date] = []
        for _ in 0..<20 {
            let next = try #require(cron.next(after: date, in: Self.utc))
            #expect(next > date)
            seen.append(next)
            date = next
        }
        let calendar = { var c = Calendar(identifier: .gregorian); c.timeZone = Self.utc; return c }()
        #expect(seen.allSatisfy { [7, 37].contains(calendar.component(.minute, from: $0)) })
        #expect(seen.allSatisfy { calendar.component(.hour, from: $0) % 5 == 0 })
        #expect(seen.count == Set(seen).count)
    }

    @Test(arguments: [
        ("61 * * * *", "cron: minute 61 out of range 0-59"),
        ("* 24 * * *", "cron: hour 24 out of range 0-23"),
        ("* * 0 * *", "cron: day-of-month 0 out of range 1-31"),
        ("* * * 13 *", "cron: month 13 out of range 1-12"),
        ("* * * * 8", "cron: day-of-week 8 out of range 0-7"),
        ("* * * foo *", "cron: invalid month 'foo' (expected a number 1-12 or a name jan..dec)"),
        ("* * * * funday", "cron: invalid day-of-week 'funday' (expected a number 0-7 or a name sun..sat)"),
        ("1-x * * * *", "cron: invalid minute 'x' (expected a number 0-59)"),
        ("- * * * *", "cron: missing minute value"),
        ("*/0 * * * *", "cron: minute step '0' must be a whole number >= 1"),
        ("*/x * * * *", "cron: minute step 'x' must be a whole number >= 1"),
        ("*/61 * * * *", "cron: minute step 61 is larger than the range 0-59"),
        ("*/60 * * * *", "cron: minute step 60 is larger than the range 0-59"),
        ("10-50/41 * * * *", "cron: minute step 41 is larger than the range 10-50"),
        ("50/10 * * * *", "cron: minute step 10 is larger than the range 50-59"),
        ("5-5/2 * * * *", "cron: minute step 2 is larger than the range 5-5"),
        ("0,*/90 * * * *", "cron: minute step 90 is larger than the range 0-59"),
        ("* */24 * * *", "cron: hour step 24 is larger than the range 0-23"),
        ("* * */31 * *", "cron: day-of-month step 31 is larger than the range 1-31"),
        ("* * * */12 *", "cron: month step 12 is larger than the range 1-12"),
        ("* * * jan-jun/6 *", "cron: month step 6 is larger than the range 1-6"),
        // `*` over weekdays is 0-6 (7 would repeat Sunday), so */7 steps past it.
        ("* * * * */7", "cron: day-of-week step 7 is larger than the range 0-6"),
        ("5-1 * * * *", "cron: minute range 5-1 is backwards (write the smaller value first)"),
        ("1,,2 * * * *", "cron: empty item in minute list '1,,2'"),
        ("* * * *", "cron: expected 5 fields (minute hour day-of-month month day-of-week), got 4 in '* * * *'"),
        ("* * * * * *", "cron: expected 5 fields (minute hour day-of-month month day-of-week), got 6 in '* * * * * *'"),
        ("0 0 30 2 *", "cron: '0 0 30 2 *' never fires: no selected month has a day 30"),
        ("0 0 31 4,6,9,11 *", "cron: '0 0 31 4,6,9,11 *' never fires: no selected month has a day 31"),
        ("@reboot", "cron: unknown macro '@reboot' (use @yearly, @monthly, @weekly, @daily or @hourly)"),
    ])
    func refusesBadExpressions(expression: String, message: String) {
        #expect(throws: ConfigValueError(message)) { try CronExpression(expression) }
    }

    @Test(arguments: [
        // The widest steps each field allows select its first and last value.
        ("*/59 * * * *", "2024-01-01 10:00", "2024-01-01 10:59 Mon"),
        ("*/59 * * * *", "2024-01-01 10:59", "2024-01-01 11:00 Mon"),
        ("10-50/40 * * * *", "2024-01-01 10:11", "2024-01-01 10:50 Mon"),
        ("0 */23 * * *", "2024-01-01 01:00", "2024-01-01 23:00 Mon"),
        ("0 0 */30 * *", "2024-01-02 00:00", "2024-01-31 00:00 Wed"),
        ("0 0 1 */11 *", "2024-02-01 00:00", "2024-12-01 00:00 Sun"),
        ("0 0 * * */6", "2024-03-04 00:00", "2024-03-09 00:00 Sat"),
        // A step of 1 skips nothing, so it is allowed even on a single value.
        ("5-5/1 * * * *", "2024-01-01 10:00", "2024-01-01 10:05 Mon"),
        ("59/1 * * * *", "2024-01-01 10:00", "2024-01-01 10:59 Mon"),
    ])
    func acceptsStepsUpToTheRangeWidth(expression: String, after: String, expected: String) throws {
        #expect(try Self.next(expression, after: after) == expected)
    }

    @Test func impossibleDayIsFineWhenWeekdaysAlsoSelect() throws {
        // Day of month and day of week both restricted: Mondays in February still fire.
        #expect(try Self.next("0 0 30 2 mon", after: "2024-01-01 00:00") == "2024-02-05 00:00 Mon")
    }

    @Test func schedulesParseBothForms() throws {
        #expect(try SourceSchedule("every 5m") == .interval(.seconds(300)))
        #expect(try SourceSchedule("every 1h30m").description == "every 1h30m")
        #expect(try SourceSchedule("*/15 * * * *") == .cron(try CronExpression("*/15 * * * *")))
        #expect(try SourceSchedule("@daily").description == "@daily")
        #expect(throws: ConfigValueError("the interval in 'every 0s' must be greater than zero")) {
            try SourceSchedule("every 0s")
        }
        #expect(throws: ConfigValueError("expected 'every <duration>', e.g. every 5m, got 'every'")) {
            try SourceSchedule("every")
        }
        #expect(throws: ConfigValueError("invalid duration '5': '5' has no unit (use ms, s, m, h or d, e.g. 5s)")) {
            try SourceSchedule("every 5")
        }
    }
}
