import Foundation
import GRDB
import Synchronization

/// Copies the WAL back into the database file from a thread and a connection of its own, so that
/// a commit never waits for a checkpoint.
///
/// SQLite's automatic checkpoint runs inside the commit that pushes the WAL past 1,000 pages: that
/// commit also copies pages into the database file and fsyncs it (a `make bench` profile of the
/// queue spent 11% of its time in that fsync, on the writer's critical path). A PASSIVE checkpoint
/// from another connection never blocks the writer, and a page written many times between two
/// checkpoints (the queue's index pages) is copied once. Durability is unchanged: a commit is in
/// the WAL before it returns, as before. While this runs, the writer's own automatic checkpoint
/// stays as a backstop at `backstopPages` (if this thread fell behind, the WAL still stays bounded).
package final class BackgroundCheckpointer: Sendable {
    /// The writer's automatic checkpoint while this runs (about 40 MB of WAL), and after.
    package static let backstopPages = 10_000
    package static let defaultPages = 1_000

    private let pool: DatabasePool
    private let connection: DatabaseQueue
    private let period: Duration
    private let stopped = Mutex(false)
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    /// Rounds that found the WAL holding frames (for tests).
    private let copied = Atomic<Int>(0)

    /// Starts checkpointing the database of `pool` (in WAL mode) every `period`.
    /// - Throws: when the checkpoint connection cannot be opened.
    package init(pool: DatabasePool, every period: Duration = .milliseconds(100)) throws {
        self.pool = pool
        self.period = period
        var configuration = Configuration()
        configuration.busyMode = .timeout(1)
        configuration.label = "inlet.checkpointer"
        connection = try DatabaseQueue(path: pool.path, configuration: configuration)
        try pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA wal_autocheckpoint = \(Self.backstopPages)")
        }
        let thread = Thread { [self] in loop() }
        thread.name = "inlet-checkpoint"
        thread.start()
    }

    /// How many rounds found frames in the WAL so far. The thread keeps `self` alive until `stop`.
    package var checkpoints: Int { copied.load(ordering: .relaxed) }

    /// Stops the thread after its current checkpoint, runs a last one and gives the writer back
    /// its usual automatic checkpoint. Idempotent.
    package func stop() {
        let first = stopped.withLock { stopped -> Bool in
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        wake.signal()
        finished.wait()
        try? pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA wal_autocheckpoint = \(Self.defaultPages)")
        }
    }

    private func loop() {
        let nanoseconds = Int(period.components.seconds) * 1_000_000_000 + Int(period.components.attoseconds / 1_000_000_000)
        while true {
            _ = wake.wait(timeout: .now() + .nanoseconds(nanoseconds))
            let last = stopped.withLock { $0 }
            do {
                let result = try connection.writeWithoutTransaction { db in try db.checkpoint(.passive) }
                if result.walFrameCount > 0 { copied.add(1, ordering: .relaxed) }
            } catch {
                // Busy (another checkpoint, a TRUNCATE by maintenance) or a transient I/O error:
                // the next round tries again, and the writer's backstop bounds the WAL meanwhile.
            }
            if last { break }
        }
        finished.signal()
    }
}
