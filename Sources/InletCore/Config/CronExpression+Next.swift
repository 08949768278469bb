import Foundation

extension CronExpression {
    /// The first time strictly after `date` at which the expression fires, at the start of a
    /// minute, or nil if it never fires within 400 years (a full Gregorian cycle).
    ///
    /// Fields are matched against wall-clock time in `timeZone`. Around daylight-saving changes
    /// it behaves like Vixie cron: a time skipped when clocks go forward fires as if they had not
    /// (02:30 becomes 03:30); a time repeated when clocks go back fires once, except for
    /// expressions whose minute or hour field starts with `*`, which fire in both passes.
    package func next(after date: Date, in timeZone: TimeZone = .current) -> Date? {
        let after = date.timeIntervalSince1970
        let offset = timeZone.secondsFromGMT(for: date)
        let wallAfter = Int(after.rounded(.down)) + offset
        // Wall-clock order isn't time order where clocks go back, so near an offset change start
        // a little before the wall time of `date` and keep looking a little past the first hit.
        let window = 180
        let offsetIsSteady = [-1.0, 1.0].allSatisfy {
            timeZone.secondsFromGMT(for: date.addingTimeInterval($0 * Double(window * 60))) == offset
        }
        var cursor = Self.floorDivide(wallAfter, 60) - (offsetIsSteady ? 0 : window)
        var best: (instant: Int, wallMinute: Int)?
        while let wallMinute = nextWallMinute(atOrAfter: cursor) {
            if let best, wallMinute > best.wallMinute + window { break }
            if let instant = instants(ofWallMinute: wallMinute, in: timeZone).first(where: { Double($0) > after }),
                instant < best?.instant ?? .max
            {
                best = (instant, wallMinute)
                // Without an offset change from `date` to past the window, wall order is time
                // order and the first hit is the answer: the common case, made cheap.
                let horizon = Date(timeIntervalSince1970: Double(instant + window * 60))
                if timeZone.secondsFromGMT(for: horizon) == timeZone.secondsFromGMT(for: date) { break }
            }
            cursor = wallMinute + 1
        }
        return best.map { Date(timeIntervalSince1970: Double($0.instant)) }
    }

    /// The first wall-clock minute (minutes since 1970-01-01 00:00 local) at or after `start`
    /// whose fields all match, skipping whole months, days and hours that can't.
    private func nextWallMinute(atOrAfter start: Int) -> Int? {
        let startDay = Self.floorDivide(start, 1_440)
        var (year, month, day) = Self.civilDate(fromDays: startDay)
        let minuteOfDay = start - startDay * 1_440
        var hour = minuteOfDay / 60
        var minute = minuteOfDay % 60
        let lastYear = year + 400

        while year <= lastYear {
            if months & (1 << month) == 0 || day > Self.daysIn(month: month, year: year) {
                (day, hour, minute) = (1, 0, 0)
                month += 1
                if month > 12 { (year, month) = (year + 1, 1) }
                continue
            }
            if !dayMatches(year: year, month: month, day: day) {
                (hour, minute) = (0, 0)
                day += 1
                continue
            }
            if hours & (1 << hour) == 0 {
                minute = 0
                hour += 1
                if hour > 23 { (day, hour) = (day + 1, 0) }
                continue
            }
            if minutes & (1 << minute) == 0 {
                minute += 1
                if minute > 59 {
                    minute = 0
                    hour += 1
                    if hour > 23 { (day, hour) = (day + 1, 0) }
                }
                continue
            }
            return Self.days(fromYear: year, month: month, day: day) * 1_440 + hour * 60 + minute
        }
        return nil
    }

    private func dayMatches(year: Int, month: Int, day: Int) -> Bool {
        let weekday = Self.floorModulo(Self.days(fromYear: year, month: month, day: day) + 4, 7)  // 1970-01-01 was a Thursday.
        let dayOfMonthMatches = daysOfMonth & (1 << day) != 0
        let dayOfWeekMatches = daysOfWeek & (1 << weekday) != 0
        if dayOfMonthIsUnrestricted || dayOfWeekIsUnrestricted {
            return dayOfMonthMatches && dayOfWeekMatches
        }
        return dayOfMonthMatches || dayOfWeekMatches
    }

    /// The instants (seconds since the epoch) at which a wall-clock minute occurs, in order:
    /// usually one, two in a repeated hour, none in a skipped one (then the skipped-forward
    /// instant stands in).
    private func instants(ofWallMinute wallMinute: Int, in timeZone: TimeZone) -> [Int] {
        let wall = wallMinute * 60
        // A zone's offset changes at most once around a given moment; sampling a day either
        // side yields both candidate offsets.
        let offsetBefore = timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(wall - 86_400)))
        let offsetAfter = timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(wall + 86_400)))
        var result: [Int] = []
        for offset in Set([offsetBefore, offsetAfter]) {
            let candidate = wall - offset
            if timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(candidate))) == offset {
                result.append(candidate)
            }
        }
        result.sort()
        if result.isEmpty {
            return [wall - offsetBefore]
        }
        return minuteOrHourIsWildcard ? result : [result[0]]
    }

    // MARK: Calendar arithmetic
    //
    // Plain proleptic Gregorian arithmetic (Howard Hinnant's days-from-civil) rather than
    // `Calendar`: it's exact, allocation-free, and never normalizes a nonexistent local time
    // behind our back.

    static func days(fromYear year: Int, month: Int, day: Int) -> Int {
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = floorDivide(shiftedYear, 400)
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func civilDate(fromDays days: Int) -> (year: Int, month: Int, day: Int) {
        let shifted = days + 719_468
        let era = floorDivide(shifted, 146_097)
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    private static func floorDivide(_ a: Int, _ b: Int) -> Int {
        a >= 0 ? a / b : -((-a + b - 1) / b)
    }

    private static func floorModulo(_ a: Int, _ b: Int) -> Int {
        a - floorDivide(a, b) * b
    }
}
