import Synchronization

/// Waits for a plugin call's result with a deadline, without tying the waiter to the call's
/// thread: a call that never returns holds only its own thread.
package final class CallWatch: Sendable {
    private struct State {
        var result: ConnectorInstance.CallResult?
        var waiters: [Int: CheckedContinuation<ConnectorInstance.CallResult?, Never>] = [:]
        var nextWaiter = 0
        /// Waits whose deadline passed before they registered.
        var expired: Set<Int> = []
    }

    private let state = Mutex(State())

    package init() {}

    /// Records the call's result and wakes every waiter.
    package func finish(_ result: ConnectorInstance.CallResult) {
        let waiters = state.withLock { state -> [CheckedContinuation<ConnectorInstance.CallResult?, Never>] in
            state.result = result
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume(returning: result) }
    }

    /// The result, or nil if the call has not returned within `timeout` (or the waiting task is
    /// cancelled, as at shutdown).
    package func wait(upTo timeout: Duration) async -> ConnectorInstance.CallResult? {
        let id: Int? = state.withLock { state in
            if state.result != nil { return nil }
            state.nextWaiter += 1
            return state.nextWaiter
        }
        guard let id else { return state.withLock { $0.result } }
        // One shared sweeper expires every deadline: no timer per call on the hot path.
        let ticket = DeadlineSweeper.shared.add(deadline: ContinuousClock.now + timeout) { [self] in expire(id) }
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let done = state.withLock { state -> ConnectorInstance.CallResult?? in
                    if let result = state.result { return .some(result) }
                    if state.expired.remove(id) != nil { return .some(nil) }
                    state.waiters[id] = continuation
                    return .none
                }
                if let done { continuation.resume(returning: done) }
            }
        } onCancel: {
            expire(id)
        }
        DeadlineSweeper.shared.remove(ticket)
        return result
    }

    /// Ends one wait with nil, whether or not it has registered yet.
    private func expire(_ id: Int) {
        let waiter = state.withLock { state in
            let waiter = state.waiters.removeValue(forKey: id)
            if waiter == nil { state.expired.insert(id) }
            return waiter
        }
        waiter?.resume(returning: nil)
    }
}

/// Calls each registered action once its deadline has passed, checking every 50 ms from one
/// task: deadlines are for timeouts measured in seconds and minutes, not for precision.
final class DeadlineSweeper: Sendable {
    static let shared = DeadlineSweeper()

    private struct State {
        var entries: [Int: (deadline: ContinuousClock.Instant, action: @Sendable () -> Void)] = [:]
        var next = 0
        var running = false
    }

    private let state = Mutex(State())
    private let period: Duration = .milliseconds(50)

    /// Registers `action` for `deadline`; returns a ticket for `remove`.
    func add(deadline: ContinuousClock.Instant, action: @escaping @Sendable () -> Void) -> Int {
        let (ticket, start) = state.withLock { state -> (Int, Bool) in
            state.next += 1
            state.entries[state.next] = (deadline, action)
            defer { state.running = true }
            return (state.next, !state.running)
        }
        if start { Task.detached { await self.sweep() } }
        return ticket
    }

    func remove(_ ticket: Int) {
        _ = state.withLock { $0.entries.removeValue(forKey: ticket) }
    }

    private func sweep() async {
        while true {
            try? await Task.sleep(for: period)
            let now = ContinuousClock.now
            let due = state.withLock { state -> [@Sendable () -> Void]? in
                if state.entries.isEmpty {
                    state.running = false
                    return nil
                }
                let expired = state.entries.filter { $0.value.deadline <= now }
                for key in expired.keys { state.entries[key] = nil }
                return expired.values.map(\.action)
            }
            guard let due else { return }
            for action in due { action() }
        }
    }
}
