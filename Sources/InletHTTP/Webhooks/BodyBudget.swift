import Synchronization

/// Bytes of webhook bodies held in memory at once, across requests. A body must be buffered
/// whole before its signature can be checked; without a bound, many large or slow uploads at
/// once (anyone can send them) would run the daemon, and every plugin in it, out of memory.
package final class BodyBudget: Sendable {
    /// The most bytes held at once.
    package let limit: Int
    private let used = Atomic<Int>(0)

    package init(limit: Int) {
        self.limit = limit
    }

    /// Takes `bytes` from the budget; false (and nothing taken) when that would pass the limit.
    func take(_ bytes: Int) -> Bool {
        let total = used.wrappingAdd(bytes, ordering: .relaxed).newValue
        guard total <= limit else {
            used.wrappingSubtract(bytes, ordering: .relaxed)
            return false
        }
        return true
    }

    /// Gives back what `take` took.
    func give(_ bytes: Int) {
        used.wrappingSubtract(bytes, ordering: .relaxed)
    }

    /// Bytes held now.
    package var inUse: Int { used.load(ordering: .relaxed) }
}
