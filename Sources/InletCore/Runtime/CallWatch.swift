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
        let timer = Task { [self] in
            try? await Task.sleep(for: timeout)
            expire(id)
        }
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
        timer.cancel()
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
