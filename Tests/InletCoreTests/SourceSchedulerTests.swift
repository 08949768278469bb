import Foundation
import InletCore
import Testing

@Suite("SourceScheduler")
struct SourceSchedulerTests {
    static let utc = TimeZone(identifier: "UTC")!

    /// A UTC (or `zone`) wall-clock time, `yyyy-MM-dd HH:mm:ss` with optional `.SSS`.
    static func date(_ text: String, in zone: TimeZone = utc) -> Date {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = zone
        formatter.dateFormat = text.contains(".") ? "yyyy-MM-dd HH:mm:ss.SSS" : "yyyy-MM-dd HH:mm:ss"
        return formatter.date(from: text)!
    }

    static func cron(_ expression: String) throws -> SourceSchedule {
        .cron(try CronExpression(expression))
    }

    static func nextFire(_ schedule: SourceSchedule, after: String, jitter: Double) -> Date? {
        SourceScheduler.nextFire(schedule: schedule, after: date(after), jitter: jitter, in: utc)
    }

    static func initialFire(_ schedule: SourceSchedule, lastFire: String?, now: String, jitter: Double) -> Date? {
        SourceScheduler.initialFire(
            schedule: schedule, lastFire: lastFire.map { date($0) }, now: date(now), jitter: jitter, in: utc
        )
    }

    // MARK: nextFire, intervals

    @Test func intervalWithoutJitterIsExactlyOnePeriodLater() {
        let fiveMinutes = Self.nextFire(.interval(.seconds(300)), after: "2025-03-01 10:00:00", jitter: 0)
        #expect(fiveMinutes == Self.date("2025-03-01 10:05:00"))
        let aDay = Self.nextFire(.interval(.seconds(86_400)), after: "2025-03-01 10:00:07", jitter: 0)
        #expect(aDay == Self.date("2025-03-02 10:00:07"))
    }

    @Test(arguments: [
        // Spread = min(period / 10, 30s).
        (300, 0.5, "2025-03-01 10:05:15"),  // 5m: spread 30s
        (3_600, 0.5, "2025-03-01 11:00:15"),  // 1h: capped at 30s
        (100, 0.5, "2025-03-01 10:01:45"),  // 100s: spread 10s
        (10, 0.5, "2025-03-01 10:00:10.500"),  // 10s: spread 1s
        (300, 0.25, "2025-03-01 10:05:07.500"),
    ])
    func intervalJitterIsAFractionOfATenthOfThePeriodCappedAt30s(period: Int64, jitter: Double, expected: String) {
        let fire = Self.nextFire(.interval(.seconds(period)), after: "2025-03-01 10:00:00", jitter: jitter)
        #expect(fire == Self.date(expected))
    }

    @Test func intervalJitterStaysBelowTheCap() {
        let fire = Self.nextFire(.interval(.seconds(3_600)), after: "2025-03-01 10:00:00", jitter: 0.999_999)!
        let late = fire.timeIntervalSince(Self.date("2025-03-01 11:00:00"))
        #expect(late > 29.99 && late < 30)
    }

    @Test(arguments: [(-0.5, "2025-03-01 10:05:00"), (7, "2025-03-01 10:05:30"), (.nan, "2025-03-01 10:05:00")])
    func jitterOutsideZeroToOneIsClamped(jitter: Double, expected: String) {
        #expect(Self.nextFire(.interval(.seconds(300)), after: "2025-03-01 10:00:00", jitter: jitter) == Self.date(expected))
    }

    // MARK: nextFire, cron

    @Test func cronWithoutJitterIsTheCronTime() throws {
        let schedule = try Self.cron("*/15 * * * *")
        #expect(Self.nextFire(schedule, after: "2025-03-01 10:07:00", jitter: 0) == Self.date("2025-03-01 10:15:00"))
        // Strictly after: a fire exactly on a cron time moves on to the next one.
        #expect(Self.nextFire(schedule, after: "2025-03-01 10:15:00", jitter: 0) == Self.date("2025-03-01 10:30:00"))
    }

    @Test(arguments: [
        // Spread = min(gap to the following cron time / 10, 30s).
        ("*/15 * * * *", "2025-03-01 10:07:00", 0.5, "2025-03-01 10:15:15"),  // gap 15m: 30s
        ("* * * * *", "2025-03-01 10:07:00", 0.5, "2025-03-01 10:08:03"),  // gap 1m: 6s
        ("*/2 * * * *", "2025-03-01 10:07:00", 0.5, "2025-03-01 10:08:06"),  // gap 2m: 12s
        // The gap runs to the *following* time, not a fixed period: 10:00 → 10:01 is 60s…
        ("0,1,30 * * * *", "2025-03-01 09:59:00", 0.5, "2025-03-01 10:00:03"),
        // …and 10:01 → 10:30 is 29m.
        ("0,1,30 * * * *", "2025-03-01 10:00:03", 0.5, "2025-03-01 10:01:15"),
    ])
    func cronJitterIsAFractionOfATenthOfTheGapCappedAt30s(
        expression: String, after: String, jitter: Double, expected: String
    ) throws {
        #expect(Self.nextFire(try Self.cron(expression), after: after, jitter: jitter) == Self.date(expected))
    }

    @Test func cronJitterNeverReachesTheFollowingTimeSoNoTickIsSkipped() throws {
        let schedule = try Self.cron("* * * * *")
        var after = Self.date("2025-03-01 10:00:00")
        var fires: [Date] = []
        for _ in 0..<5 {
            after = SourceScheduler.nextFire(schedule: schedule, after: after, jitter: 0.999_999, in: Self.utc)!
            fires.append(after)
        }
        let minutes = fires.map { Int($0.timeIntervalSince(Self.date("2025-03-01 10:00:00")) / 60) }
        #expect(minutes == [1, 2, 3, 4, 5])
        #expect(fires.allSatisfy { Int($0.timeIntervalSince1970) % 60 < 6 })
    }

    @Test func cronReadsFieldsInTheGivenZone() throws {
        let paris = TimeZone(identifier: "Europe/Paris")!
        let fire = SourceScheduler.nextFire(
            schedule: try Self.cron("0 9 * * *"), after: Self.date("2025-03-01 00:00:00"), jitter: 0, in: paris
        )
        #expect(fire == Self.date("2025-03-01 08:00:00"))
    }

    // MARK: initialFire

    @Test func aSourceThatNeverRanFiresAtStartUp() throws {
        let now = "2025-03-01 10:00:00"
        #expect(Self.initialFire(.interval(.seconds(300)), lastFire: nil, now: now, jitter: 0) == Self.date(now))
        // Even a yearly cron: the source has never synced, so it has nothing to wait for.
        #expect(Self.initialFire(try Self.cron("0 0 1 1 *"), lastFire: nil, now: now, jitter: 0) == Self.date(now))
    }

    @Test(arguments: [
        // Start-up spread = min(5s, period / 10); cron times are at least a minute apart: 5s.
        ("every 1h", 0.5, "2025-03-01 10:00:02.500"),
        ("every 10s", 0.5, "2025-03-01 10:00:00.500"),
        ("*/15 * * * *", 0.5, "2025-03-01 10:00:02.500"),
        ("every 1h", 0.999_999, "2025-03-01 10:00:04.999"),
    ])
    func startUpJitterIsAtMostFiveSeconds(schedule: String, jitter: Double, expected: String) throws {
        let fire = Self.initialFire(try SourceSchedule(schedule), lastFire: nil, now: "2025-03-01 10:00:00", jitter: jitter)!
        #expect(abs(fire.timeIntervalSince(Self.date(expected))) < 0.001)
    }

    @Test func downtimeCatchesUpWithExactlyOneRun() {
        // Every 5m, last ran at 09:00, daemon back at 10:00: twelve ticks were missed.
        let schedule = SourceSchedule.interval(.seconds(300))
        let now = Self.date("2025-03-01 10:00:00")
        let first = Self.initialFire(schedule, lastFire: "2025-03-01 09:00:00", now: "2025-03-01 10:00:00", jitter: 0)!
        #expect(first == now)

        // Drive a scheduler loop over the missed period: one run, then back on the period.
        var next = ["repo": first]
        var runs: [Date] = []
        for second in stride(from: 0, through: 600, by: 1) {
            let tick = now.addingTimeInterval(Double(second))
            for name in SourceScheduler.due(states: next, now: tick) {
                runs.append(tick)
                next[name] = SourceScheduler.nextFire(schedule: schedule, after: tick, jitter: 0)
            }
        }
        #expect(runs == [now, now.addingTimeInterval(300), now.addingTimeInterval(600)])
    }

    @Test func downtimeCatchUpGetsTheStartUpJitter() throws {
        let fire = Self.initialFire(
            try Self.cron("0 * * * *"), lastFire: "2025-03-01 06:00:00", now: "2025-03-01 10:30:00", jitter: 0.5
        )
        #expect(fire == Self.date("2025-03-01 10:30:02.500"))
    }

    @Test func withoutDowntimeTheRegularNextFireStands() throws {
        #expect(
            Self.initialFire(.interval(.seconds(300)), lastFire: "2025-03-01 09:58:00", now: "2025-03-01 10:00:00", jitter: 0.5)
                == Self.date("2025-03-01 10:03:15")
        )
        #expect(
            Self.initialFire(try Self.cron("0 * * * *"), lastFire: "2025-03-01 10:00:12", now: "2025-03-01 10:30:00", jitter: 0)
                == Self.date("2025-03-01 11:00:00")
        )
    }

    @Test func aNextFireExactlyAtStartUpRunsNow() {
        #expect(
            Self.initialFire(.interval(.seconds(300)), lastFire: "2025-03-01 09:55:00", now: "2025-03-01 10:00:00", jitter: 0)
                == Self.date("2025-03-01 10:00:00")
        )
    }

    @Test func aLastFireInTheFutureCountsAsNow() {
        // The clock was set back two hours: wait one period from now, not from 12:00.
        #expect(
            Self.initialFire(.interval(.seconds(300)), lastFire: "2025-03-01 12:00:00", now: "2025-03-01 10:00:00", jitter: 0)
                == Self.date("2025-03-01 10:05:00")
        )
    }

    // MARK: due, onTick

    @Test func dueListsSourcesAtOrBeforeNowByTimeThenName() {
        let states = [
            "bravo": Self.date("2025-03-01 10:00:00"),
            "alpha": Self.date("2025-03-01 10:00:00"),
            "zulu": Self.date("2025-03-01 09:59:59"),
            "later": Self.date("2025-03-01 10:00:00.001"),
            "charlie": Self.date("2025-03-01 09:00:00"),
        ]
        let due = SourceScheduler.due(states: states, now: Self.date("2025-03-01 10:00:00"))
        #expect(due == ["charlie", "zulu", "alpha", "bravo"])
        #expect(SourceScheduler.due(states: states, now: Self.date("2025-03-01 08:00:00")) == [])
        #expect(SourceScheduler.due(states: [:], now: Self.date("2025-03-01 10:00:00")) == [])
    }

    @Test func aTickCoalescesWhileTheSyncIsQueuedOrRunning() {
        #expect(SourceScheduler.onTick(syncQueuedOrRunning: true) == .coalesce)
        #expect(SourceScheduler.onTick(syncQueuedOrRunning: false) == .enqueue)
    }

    @Test func scheduleStateDefaultsToNeverFired() {
        let state = SourceScheduler.ScheduleState()
        #expect(state.lastFire == nil && state.nextFire == nil)
        #expect(SourceScheduler.ScheduleState(lastFire: Self.date("2025-03-01 10:00:00")) != state)
    }
}
