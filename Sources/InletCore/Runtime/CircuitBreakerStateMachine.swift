import Foundation

/// One source's circuit breaker: after `failureThreshold` consecutive failed jobs the source
/// is left alone for `openFor`, then a single probe job decides whether it is healthy again.
///
/// Pure state: the owner asks `admit(now:)` before leasing the source's job and defers the job
/// (pushes `run_at`) rather than failing it, reports each finished job to `record(success:now:)`,
/// and persists `persisted` and updates metrics whenever a transition comes back.
///
/// The owner must answer every `.allowProbe` with `record(success:now:)` or, when the probe
/// ends without a verdict (rate limited, cancelled at shutdown, lease lost), `releaseProbe()`;
/// otherwise the breaker waits for a probe that never reports and defers the source forever.
package struct CircuitBreakerStateMachine: Sendable, Hashable {
    /// Where the breaker stands.
    package enum State: Sendable, Hashable {
        /// Jobs run; counts failures in a row.
        case closed(consecutiveFailures: Int)
        /// Jobs wait until `until`.
        case open(until: Date)
        /// One probe job may run; its result closes or reopens the breaker.
        case halfOpen(probeInFlight: Bool)
    }

    /// Whether a job of the source may run now.
    package enum Admission: Sendable, Hashable {
        /// Run it.
        case allow
        /// Run it as the probe; the breaker has just gone half-open.
        case allowProbe
        /// Don't run it; move its `run_at` to `until` and ask again then.
        case `defer`(until: Date)

        /// The transition this admission made, for the owner to persist and report like the
        /// ones `record(success:now:)` returns.
        package var transition: Transition? {
            self == .allowProbe ? .halfOpened : nil
        }
    }

    /// A change of state the owner persists, logs and exports.
    package enum Transition: Sendable, Hashable, CustomStringConvertible {
        /// Jobs now wait until `until`.
        case opened(until: Date)
        /// A probe job is running.
        case halfOpened
        /// Jobs run normally again.
        case closed

        /// As the daemon's log says it: `opened: its jobs wait until 2026-12-04T21:24:16Z`.
        package var description: String {
            switch self {
            case .opened(let until): "opened: its jobs wait until \(until.formatted(.iso8601))"
            case .halfOpened: "half-open: one probe job may run"
            case .closed: "closed: its jobs run again"
            }
        }
    }

    /// The fields stored per source in SQLite: what `inlet status` (another process) shows, and
    /// what the breaker resumes from after a restart.
    package typealias Persisted = (name: String, consecutiveFailures: Int, openUntil: Date?)

    /// Consecutive failures that open the breaker, at least 1.
    package let failureThreshold: Int
    /// How long the breaker stays open before a probe.
    package let openFor: Duration
    /// The current state.
    package private(set) var state: State

    /// Creates a closed breaker.
    /// - Parameters:
    ///   - failureThreshold: failures in a row that open it; values below 1 count as 1.
    ///   - openFor: how long it stays open before a probe.
    package init(failureThreshold: Int, openFor: Duration) {
        self.failureThreshold = max(failureThreshold, 1)
        self.openFor = openFor
        state = .closed(consecutiveFailures: 0)
    }

    /// Creates a closed breaker from a source's `circuit_breaker:` settings.
    package init(_ settings: SourceConfig.CircuitBreaker) {
        self.init(failureThreshold: settings.failureThreshold, openFor: settings.openFor)
    }

    /// The same breaker under new settings (a reloaded `circuit_breaker:`): its state, a probe in
    /// flight included, carries over; the new threshold and open time apply from the next
    /// transition on.
    package init(_ settings: SourceConfig.CircuitBreaker, keepingStateOf other: CircuitBreakerStateMachine) {
        self.init(settings)
        state = other.state
    }

    /// Resumes a breaker from its stored fields.
    ///
    /// `half_open` resumes with no probe in flight: the probe's job died with the previous
    /// process and its lease rescue will bring it back, so the next admission must be able to
    /// probe. `open` without an `openUntil` resumes half-open for the same reason. An unknown
    /// name (say, written by a newer version) resumes closed: a row Inlet can't read must never
    /// keep a source switched off.
    package init(failureThreshold: Int, openFor: Duration, persisted: Persisted) {
        self.init(failureThreshold: failureThreshold, openFor: openFor)
        switch persisted.name {
        case "open":
            state = persisted.openUntil.map { .open(until: $0) } ?? .halfOpen(probeInFlight: false)
        case "half_open":
            state = .halfOpen(probeInFlight: false)
        default:
            state = .closed(consecutiveFailures: max(persisted.consecutiveFailures, 0))
        }
    }

    /// The state's name in the database, logs and `inlet status`.
    package var name: String {
        switch state {
        case .closed: "closed"
        case .open: "open"
        case .halfOpen: "half_open"
        }
    }

    /// The value of the per-source breaker gauge: 0 closed, 1 open, 2 half-open.
    package var gaugeValue: Int {
        switch state {
        case .closed: 0
        case .open: 1
        case .halfOpen: 2
        }
    }

    /// The fields to store; `consecutiveFailures` is counted only while closed, `openUntil` is
    /// set only while open.
    package var persisted: Persisted {
        switch state {
        case .closed(let failures): (name, failures, nil)
        case .open(let until): (name, 0, until)
        case .halfOpen: (name, 0, nil)
        }
    }

    /// How long a job waits while another is probing: short, because the probe usually
    /// settles the matter soon, but at least a second so a tiny `openFor` can't make the owner
    /// spin.
    var probeRecheck: Duration {
        max(min(openFor, .seconds(5)), .seconds(1))
    }

    /// Decides whether a job of the source may run at `now`; once the open period is over, the
    /// first job asking becomes the probe.
    package mutating func admit(now: Date) -> Admission {
        switch state {
        case .closed:
            return .allow
        case .open(let until) where now < until:
            return .defer(until: until)
        case .open, .halfOpen(probeInFlight: false):
            state = .halfOpen(probeInFlight: true)
            return .allowProbe
        case .halfOpen(probeInFlight: true):
            return .defer(until: now.addingTimeInterval(probeRecheck.seconds))
        }
    }

    /// Records how a job of the source ended; returns the transition it caused, or nil when the
    /// state's name didn't change.
    ///
    /// Results arriving while open come from jobs admitted before the breaker opened; they
    /// neither close it early nor extend it, since only a probe after the pause says anything
    /// about the source now. In half-open any result decides, a late success included: it too
    /// shows that the source works again.
    package mutating func record(success: Bool, now: Date) -> Transition? {
        switch state {
        case .closed(let failures):
            if success {
                state = .closed(consecutiveFailures: 0)
                return nil
            }
            guard failures + 1 >= failureThreshold else {
                state = .closed(consecutiveFailures: failures + 1)
                return nil
            }
            return open(now: now)
        case .open:
            return nil
        case .halfOpen:
            if success {
                state = .closed(consecutiveFailures: 0)
                return .closed
            }
            return open(now: now)
        }
    }

    /// Frees the probe slot after a probe ended without saying whether the source works, so
    /// the next admission probes again; does nothing in any other state.
    package mutating func releaseProbe() {
        if state == .halfOpen(probeInFlight: true) {
            state = .halfOpen(probeInFlight: false)
        }
    }

    private mutating func open(now: Date) -> Transition {
        let until = now.addingTimeInterval(openFor.seconds)
        state = .open(until: until)
        return .opened(until: until)
    }
}
