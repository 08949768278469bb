import Foundation

/// When each source's scheduled sync should run: pure functions of the schedule, the last fire,
/// the time and a jitter draw, so the scheduler service only reads the clock and enqueues.
///
/// Jitter is a `Double` in `0..<1` drawn by the caller. It delays a fire by a fraction of a
/// small spread so that sources sharing a schedule (every `*/15` cron, every daemon restart)
/// don't all hit the queue and their upstreams in the same second.
package enum SourceScheduler {
    /// What the scheduler remembers of one source between ticks.
    package struct ScheduleState: Sendable, Hashable {
        /// When the source's scheduled sync last fired; nil if it never has.
        package var lastFire: Date?
        /// When it fires next; nil if its schedule never fires again.
        package var nextFire: Date?

        /// Creates a state.
        package init(lastFire: Date? = nil, nextFire: Date? = nil) {
            self.lastFire = lastFire
            self.nextFire = nextFire
        }
    }

    /// What a schedule tick does.
    package enum TickAction: Sendable, Hashable {
        /// Add a sync job for the source.
        case enqueue
        /// Add nothing: the sync already waiting or running will pick up whatever changed, and
        /// a slow source must not pile up one queued sync per tick.
        case coalesce
    }

    /// The longest jitter added to a scheduled fire. Small next to any real sync, large enough
    /// to spread a few hundred sources.
    static let maximumSpread: Duration = .seconds(30)
    /// The longest jitter added to a fire at start-up, kept short so a restart doesn't visibly
    /// delay the catch-up run.
    static let maximumStartupSpread: Duration = .seconds(5)

    /// The next time `schedule` fires strictly after `after` (normally the previous fire),
    /// jitter included; nil if a cron expression never fires again.
    ///
    /// An interval fires at `after + d + jitter * min(d / 10, 30s)`. A cron expression fires at
    /// its next time plus `jitter * min(gap / 10, 30s)`, where `gap` runs to the time after
    /// that: capping at a tenth of the gap keeps a jittered fire well before the following
    /// one, so passing it back as `after` never skips a cron time.
    /// - Parameters:
    ///   - jitter: a draw in `0..<1`; values outside are clamped.
    ///   - timeZone: the zone cron fields are read in.
    package static func nextFire(
        schedule: SourceSchedule, after: Date, jitter: Double, in timeZone: TimeZone = .current
    ) -> Date? {
        switch schedule {
        case .interval(let period):
            return after
                .addingTimeInterval(period.seconds)
                .addingTimeInterval(spread(jitter, over: min(period / 10, maximumSpread)))
        case .cron(let expression):
            guard let fire = expression.next(after: after, in: timeZone) else { return nil }
            let gap = expression.next(after: fire, in: timeZone).map { $0.timeIntervalSince(fire) } ?? 0
            let cap = min(gap / 10, maximumSpread.seconds)
            return fire.addingTimeInterval(clamped(jitter) * cap)
        }
    }

    /// When a source fires first after the daemon starts; nil if its schedule never fires again.
    ///
    /// A source that never ran fires now. One whose next fire after `lastFire` passed while the
    /// daemon was down fires now too, once: the sync catches up on everything it missed, so
    /// one run per missed tick would only repeat the same work. Either way a jitter of up to
    /// `min(5s, period / 10)` spreads the sources of a restart. Otherwise the source keeps its
    /// regular next fire.
    ///
    /// A `lastFire` after `now` (the clock was set back) counts as `now`, so a jump backwards
    /// doesn't silence a source for the size of the jump.
    /// - Parameters:
    ///   - jitter: a draw in `0..<1`; values outside are clamped.
    ///   - timeZone: the zone cron fields are read in.
    package static func initialFire(
        schedule: SourceSchedule, lastFire: Date?, now: Date, jitter: Double, in timeZone: TimeZone = .current
    ) -> Date? {
        let startup = now.addingTimeInterval(spread(jitter, over: startupSpread(of: schedule)))
        guard let lastFire else { return startup }
        guard let next = nextFire(schedule: schedule, after: min(lastFire, now), jitter: jitter, in: timeZone) else {
            return nil
        }
        return next > now ? next : startup
    }

    /// The sources whose next fire is at or before `now`, earliest first, ties by name so the
    /// order is the same on every run.
    /// - Parameter states: each source's next fire, by source name.
    package static func due(states: [String: Date], now: Date) -> [String] {
        states
            .filter { $0.value <= now }
            .sorted { ($0.value, $0.key) < ($1.value, $1.key) }
            .map(\.key)
    }

    /// What a tick does when the source's sync is, or isn't, already queued or running.
    package static func onTick(syncQueuedOrRunning: Bool) -> TickAction {
        syncQueuedOrRunning ? .coalesce : .enqueue
    }

    /// Cron times are at least a minute apart, so a tenth of the gap never falls below the
    /// start-up cap; only short intervals need a smaller spread.
    private static func startupSpread(of schedule: SourceSchedule) -> Duration {
        switch schedule {
        case .interval(let period): min(period / 10, maximumStartupSpread)
        case .cron: maximumStartupSpread
        }
    }

    private static func spread(_ jitter: Double, over cap: Duration) -> TimeInterval {
        clamped(jitter) * max(cap, .zero).seconds
    }

    private static func clamped(_ jitter: Double) -> Double {
        // NaN fails both comparisons and becomes 0.
        jitter > 0 ? min(jitter, 1) : 0
    }
}
