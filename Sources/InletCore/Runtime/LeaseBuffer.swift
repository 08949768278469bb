/// A worker pool's jobs leased ahead of a free worker, most urgent first, and the jobs of each
/// source started and not yet committed, kept within the source's `concurrency`: a lease
/// transaction can claim many jobs of a source while they still run one (or `concurrency`) at a time.
struct LeaseBuffer {
    /// Leased, not started: by priority, then due time, then id (the lease query's order).
    private(set) var ready: [Job] = []
    /// Started and not yet finished (committed), per source.
    private(set) var executing: [String: Int] = [:]
    /// How many jobs of each source may run at once (from the last lease plan); 1 if unknown.
    var concurrency: [String: Int] = [:]

    /// Adds newly leased jobs: an urgent one (a webhook) goes ahead of less urgent ones leased before.
    mutating func add(_ jobs: [Job]) {
        guard !jobs.isEmpty else { return }
        ready += jobs
        ready.sort { ($0.priority, $0.runAt, $0.id) < ($1.priority, $1.runAt, $1.id) }
    }

    /// Takes up to `free` jobs whose source has a free slot, most urgent first, and counts them running.
    mutating func take(upTo free: Int) -> [Job] {
        var taken: [Job] = []
        var index = 0
        while taken.count < free && index < ready.count {
            let source = ready[index].source
            if executing[source, default: 0] < concurrency[source, default: 1] {
                executing[source, default: 0] += 1
                taken.append(ready.remove(at: index))
            } else {
                index += 1
            }
        }
        return taken
    }

    /// A started job of `source` finished: its slot is free.
    mutating func ended(source: String) {
        guard let count = executing[source] else { return }
        executing[source] = count > 1 ? count - 1 : nil
    }

    /// Removes a job leased ahead (its lease was lost); nil if it already started.
    mutating func remove(jobID: Int64) -> Job? {
        guard let index = ready.firstIndex(where: { $0.id == jobID }) else { return nil }
        return ready.remove(at: index)
    }

    /// Removes the jobs leased ahead of `source` (of every source when nil).
    mutating func removeReady(of source: String?) -> [Job] {
        let removed = ready.filter { source == nil || $0.source == source }
        ready.removeAll { source == nil || $0.source == source }
        return removed
    }
}
