import Foundation
import GRDB
import Synchronization

/// Group commit: the transactions that finish jobs share one SQLite transaction (one WAL append,
/// one commit) when they arrive together, each inside its own savepoint so one failing job rolls
/// back alone. A caller resumes only after the shared transaction has committed, so durability
/// is the same as one transaction per job. Job completions use leader-based group commit (the
/// first writer of a burst commits for all on its own thread: no hop without contention).
package final class GroupCommitter: Sendable {
    private struct Item {
        let apply: @Sendable (Database) throws -> Void
        let done: @Sendable ((any Error)?) -> Void
    }

    private struct State {
        var pending: [Item] = []
        var draining = false
        var transactions = 0
        var busy = Duration.zero
    }

    private let database: InletDatabase
    private let state = Mutex(State())
    /// Most items per shared transaction, so one commit never holds the write lock for long.
    private let maxBatch: Int
    /// True: the first writer of a burst commits on its own thread. False: a plugin-pool thread
    /// does, so callers on the cooperative pool (HTTP handlers) never block on SQLite.
    private let leaderCommits: Bool

    package init(database: InletDatabase, maxBatch: Int = 256, leaderCommits: Bool = false) {
        self.database = database
        self.maxBatch = maxBatch
        self.leaderCommits = leaderCommits
    }

    /// Runs `work` in a savepoint of the next shared transaction and returns its result once
    /// that transaction committed.
    /// - Throws: what `work` threw (its savepoint rolled back), or the commit's error.
    package func write<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let result = Mutex<Result<T, any Error>?>(nil)
        let error: (any Error)? = await withCheckedContinuation { continuation in
            let item = Item(
                apply: { db in
                    let value = try work(db)
                    result.withLock { $0 = .success(value) }
                },
                done: { continuation.resume(returning: $0) })
            let startDrain = state.withLock { state -> Bool in
                state.pending.append(item)
                if state.draining { return false }
                state.draining = true
                return true
            }
            // With `leaderCommits`, the first caller commits on its own thread what has queued up,
            // including what others add meanwhile, and wakes them; else a plugin-pool thread does.
            if startDrain {
                if leaderCommits { drain() } else { PluginThread.pool.submit { self.drain() } }
            }
        }
        if let error { throw error }
        return try result.withLock { $0! }.get()
    }

    /// Items waiting for the next shared transaction (for tests).
    package var pendingCount: Int { state.withLock { $0.pending.count } }

    /// Time spent in shared transactions so far, waiting for the writer included (`make bench`
    /// prints it beside the run's length: near 100% means the commit path is the bottleneck).
    package var busy: Duration { state.withLock { $0.busy } }

    /// Shared transactions begun so far (for tests).
    package var transactions: Int { state.withLock { $0.transactions } }

    /// Runs one item in its own savepoint, with statements prepared once (GRDB's `inSavepoint`
    /// parses its SAVEPOINT and RELEASE statements at every call: once per job of every commit).
    /// - Returns: the item's error, its savepoint rolled back.
    /// - Throws: when the savepoint cannot be rolled back (SQLite already rolled the whole
    ///   transaction back: an I/O error, a full disk): the batch fails as a whole.
    private static func applyInSavepoint(_ item: Item, in db: Database) throws -> (any Error)? {
        try db.cachedStatement(sql: "SAVEPOINT inlet_item").execute()
        do {
            try item.apply(db)
            try db.cachedStatement(sql: "RELEASE SAVEPOINT inlet_item").execute()
            return nil
        } catch {
            try db.cachedStatement(sql: "ROLLBACK TRANSACTION TO SAVEPOINT inlet_item").execute()
            try db.cachedStatement(sql: "RELEASE SAVEPOINT inlet_item").execute()
            return error
        }
    }

    private func drain() {
        while true {
            var batch: [Item] = []
            var outcomes: [(any Error)?] = []
            let began = ContinuousClock.now
            defer { let spent = ContinuousClock.now - began; state.withLock { $0.busy += spent } }
            do {
                try database.pool.writeWithoutTransaction { db in
                    // The batch is taken once the writer is ours: what arrived while another
                    // transaction held it (a lease, an enqueue) joins this commit.
                    batch = state.withLock { state -> [Item] in
                        let batch = Array(state.pending.prefix(maxBatch))
                        state.pending.removeFirst(batch.count)
                        if batch.isEmpty { state.draining = false } else { state.transactions += 1 }
                        return batch
                    }
                    if batch.isEmpty { return }
                    outcomes = [(any Error)?](repeating: nil, count: batch.count)
                    try db.inTransaction(.immediate) {
                        if batch.count == 1 {
                            // Alone in the transaction: its failure rolls back the transaction, which
                            // holds nothing else (no savepoint statements to run on most commits).
                            do {
                                try batch[0].apply(db)
                                return .commit
                            } catch {
                                outcomes[0] = error
                                return .rollback
                            }
                        }
                        for (index, item) in batch.enumerated() {
                            outcomes[index] = try Self.applyInSavepoint(item, in: db)
                        }
                        return .commit
                    }
                }
            } catch {
                if batch.isEmpty {
                    // The writer could not be had at all: fail whatever waits rather than hang.
                    let waiting = state.withLock { state -> [Item] in
                        defer { state.pending.removeAll(); state.draining = false }
                        return state.pending
                    }
                    for item in waiting { item.done(error) }
                    return
                }
                outcomes = outcomes.map { $0 ?? error }
            }
            if batch.isEmpty { return }
            for (item, outcome) in zip(batch, outcomes) { item.done(outcome) }
        }
    }
}
