import Foundation
import Synchronization

/// Where the scheduler, queue and breakers read wall-clock time.
///
/// Wall-clock `Date` rather than a `Clock` instant, because the times it produces (`run_at`,
/// `next_fire`, `open_until`) are stored in SQLite and read by other processes. Injected so
/// that tests move time forward instead of sleeping.
package protocol ScheduleClock: Sendable {
    /// The current time.
    var now: Date { get }
}

/// The real wall clock.
package struct SystemScheduleClock: ScheduleClock {
    /// Creates the clock.
    package init() {}

    /// The current time.
    package var now: Date { Date() }
}

/// A clock that moves only when told to, for tests of anything that takes a `ScheduleClock`.
///
/// A class so that the test and the component under test share one clock; the `Mutex` makes it
/// safe to advance from the test while a service reads it on another task.
package final class ManualClock: ScheduleClock {
    private let current: Mutex<Date>

    /// Creates a clock showing `start`.
    package init(_ start: Date) {
        current = Mutex(start)
    }

    /// The time the clock shows.
    package var now: Date {
        current.withLock { $0 }
    }

    /// Moves the clock forward (or back, with a negative duration).
    package func advance(by duration: Duration) {
        current.withLock { $0 = $0.addingTimeInterval(duration.seconds) }
    }

    /// Sets the clock to `date`, for tests of a clock jumping (say, backwards after an NTP fix).
    package func set(to date: Date) {
        current.withLock { $0 = date }
    }
}
