import Foundation
import GRDB
import GRDBSQLite
import Synchronization

/// Copies the WAL back into the database file from a thread and a connection of its own, so that
/// a commit never waits for a checkpoint.
///
/// SQLite's automatic checkpoint runs inside the commit that pushes the WAL past 1,000 pages: that
/// commit also copies pages into the database file and fsyncs it (a `make bench` profile of the
/// queue spent 11% of its time in that fsync, on the writer's critical path). Here the writer's
/// WAL hook only wakes this thread after a commit, and it runs a PASSIVE checkpoint on its own
/// connection, which never blocks the writer. Small and frequent beats large and rare: with one
/// checkpoint every second, each fsync flushed so much that the writer's WAL writes stalled
/// behind it (webhook p99 at saturation 68 ms against 6–7 ms checkpointing right after commits,
/// at most every `minimumGap`). Durability is unchanged: a commit is in the WAL before it
/// returns, as before. While this runs, the hook still checkpoints in the writer once the WAL
/// reaches `backstopPages` (as SQLite's automatic checkpoint would), should this thread fall behind.
package final class BackgroundCheckpointer: Sendable {
    /// WAL size (pages) at which the writer checkpoints itself (about 40 MB).
    package static let backstopPages: Int32 = 10_000
    /// SQLite's own automatic checkpoint, given back by `stop`.
    package static let defaultPages: Int32 = 1_000

    private let pool: DatabasePool
    private let connection: DatabaseQueue
    private let minimumGap: Duration
    private let stopped = Mutex(false)
    /// A commit happened since the last round (set by the writer's hook).
    private let pending = Atomic<Bool>(false)
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let rounds = Atomic<Int>(0)

    /// Starts checkpointing the database of `pool` (in WAL mode) after its commits, at most once
    /// per `minimumGap`, and at least once a second.
    /// - Throws: when the checkpoint connection cannot be opened.
    package init(pool: DatabasePool, minimumGap: Duration = .milliseconds(2)) throws {
        self.pool = pool
        self.minimumGap = minimumGap
        var configuration = Configuration()
        configuration.busyMode = .timeout(1)
        configuration.label = "inlet.checkpointer"
        connection = try DatabaseQueue(path: pool.path, configuration: configuration)
        // The thread keeps `self` alive until `stop`, which removes the hook first: the hook's
        // unretained pointer never outlives its object.
        let context = Unmanaged.passUnretained(self).toOpaque()
        pool.writeWithoutTransaction { db in
            // Replaces SQLite's automatic checkpoint (itself a WAL hook) on the writer.
            _ = sqlite3_wal_hook(db.sqliteConnection, { context, writer, _, pages in
                let checkpointer = Unmanaged<BackgroundCheckpointer>.fromOpaque(context!).takeUnretainedValue()
                if pages >= BackgroundCheckpointer.backstopPages {
                    // Behind: checkpoint here, as the automatic checkpoint would have.
                    sqlite3_wal_checkpoint(writer, nil)
                } else if !checkpointer.pending.exchange(true, ordering: .acquiringAndReleasing) {
                    checkpointer.wake.signal()
                }
                return SQLITE_OK
            }, context)
        }
        let thread = Thread { [self] in loop() }
        thread.name = "inlet-checkpoint"
        thread.start()
    }

    /// How many rounds found frames in the WAL so far.
    package var checkpoints: Int { rounds.load(ordering: .relaxed) }

    /// Gives the writer back SQLite's automatic checkpoint, runs a last round and stops the
    /// thread. Idempotent.
    package func stop() {
        let first = stopped.withLock { stopped -> Bool in
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        pool.writeWithoutTransaction { db in
            // Also removes the hook above.
            _ = sqlite3_wal_autocheckpoint(db.sqliteConnection, Self.defaultPages)
        }
        wake.signal()
        finished.wait()
    }

    private func loop() {
        while true {
            // Woken by a commit, or once a second for what other processes wrote.
            _ = wake.wait(timeout: .now() + .seconds(1))
            let last = stopped.withLock { $0 }
            pending.store(false, ordering: .releasing)
            do {
                let result = try connection.writeWithoutTransaction { db in try db.checkpoint(.passive) }
                if result.walFrameCount > 0 { rounds.add(1, ordering: .relaxed) }
            } catch {
                // Busy (a TRUNCATE by maintenance) or a transient I/O error: the next round tries
                // again, and the writer's backstop bounds the WAL meanwhile.
            }
            if last { break }
            Thread.sleep(forTimeInterval: minimumGap.seconds)
        }
        finished.signal()
    }
}
