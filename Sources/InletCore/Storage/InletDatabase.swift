import CSQLiteSetup
import Foundation
import GRDB

/// The one SQLite database of a daemon (`data_dir/inlet.db`): state, documents, blobs, quarantine.
///
/// WAL mode with `synchronous=NORMAL` by default: a committed transaction survives any crash of
/// the process (kill -9); only a power loss can lose the last commits. `queue.synchronous: full`
/// adds an fsync per commit for power losses too. Writes go through GRDB's single writer.
package final class InletDatabase: Sendable {
    /// The path of the database file.
    package let path: String
    /// GRDB's pool: one writer, concurrent readers.
    package let pool: DatabasePool

    /// Opens (creating if needed) the database and brings its schema up to date.
    /// - Throws: ``StorageError`` naming the file when it cannot be opened or migrated.
    package init(path: String, readOnly: Bool = false, synchronous: InletConfig.Synchronous = .normal) throws(StorageError) {
        _ = Self.processSetup
        self.path = path
        let configuration = Self.configuration(readOnly: readOnly, synchronous: synchronous)
        do {
            if !readOnly {
                let folder = (path as NSString).deletingLastPathComponent
                if !folder.isEmpty {
                    try Directory.create(folder)
                }
            }
            pool = try DatabasePool(path: path, configuration: configuration)
            if !readOnly {
                try Self.migrate(pool)
            }
        } catch {
            throw StorageError(.cannotOpen, "cannot open database \(path): \(error)", cause: error)
        }
    }

    /// The connection settings of the daemon's database (busy timeout, pragmas), also used by
    /// `make bench` for its raw SQLite baseline so that both sides of its ratios match.
    package static func configuration(readOnly: Bool = false, synchronous: InletConfig.Synchronous = .normal) -> Configuration {
        var configuration = Configuration()
        configuration.readonly = readOnly
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            if !db.configuration.readonly {
                try db.execute(sql: synchronous == .full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL")
                try db.execute(sql: "PRAGMA journal_size_limit = 67108864")
                // Savepoint and statement journals in memory: every job of a group commit runs in a
                // savepoint, and one whose journal passed 64 KB created, wrote and unlinked a temp
                // file inside the transaction (`inlet-bench --only e2ec`: 340k pwrite and 950
                // unlink calls for 20,000 jobs before, 195k and 11 after; 18% more jobs/s). They
                // only undo a savepoint; a crash loses the uncommitted transaction either way. The
                // memory it costs: one copy of each page that existed before a savepoint and was
                // changed inside it (pages a commit appends are not journaled), of the order of the
                // batch a plugin staged in memory for that commit. The writer's temporary tables
                // go to memory too, and its sorter no longer spills: a migration's CREATE INDEX
                // sorts the whole index in memory (keys and rowids; the jobs table's are small,
                // a future index on documents would want `temp_store = FILE` around it).
                try db.execute(sql: "PRAGMA temp_store = MEMORY")
            }
            try db.execute(sql: "PRAGMA foreign_keys = ON")
        }
        return configuration
    }

    /// SQLite's process-wide settings, applied before the process opens its first connection.
    /// `inlet` and `make bench` call this first thing, while no other thread uses SQLite
    /// (`sqlite3_config` is not thread-safe); opening a database calls it too, a no-op once
    /// SQLite has started. True when they could still be applied.
    ///
    /// SQLite's memory statistics are turned off: they take a global mutex at every allocation
    /// and free (7% of the instructions of the queue's statements under callgrind), and nothing
    /// here reads them.
    @discardableResult
    package static func configureSQLite() -> Bool { processSetup }

    private static let processSetup: Bool = inlet_sqlite_disable_memory_statistics() == 0

    /// Brings the schema up to date. Two processes opening a new database at once (the daemon
    /// and `inlet sync`) may both find a migration unapplied, because GRDB reads the applied list
    /// outside each migration's transaction: the loser's migration fails ("table already
    /// exists") and is rolled back. It then reads the list again and goes on from where the
    /// winner is; a migration that fails for any other reason fails every time and is thrown.
    private static func migrate(_ pool: DatabasePool) throws {
        var attempts = 0
        while true {
            do {
                try migrator.migrate(pool)
                return
            } catch {
                attempts += 1
                if attempts >= 10 { throw error }
                usleep(20_000)
            }
        }
    }

    /// The migrations this build has that the database at `path` lacks, read without changing
    /// it: a command opening the database beside a daemon of an earlier build must not change
    /// the schema under that daemon.
    package static func pendingMigrations(path: String) throws(StorageError) -> [String] {
        do {
            var configuration = Configuration()
            configuration.readonly = true
            configuration.busyMode = .timeout(10)
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            return try queue.read { db in
                let applied = try migrator.appliedIdentifiers(db)
                return migrator.migrations.filter { !applied.contains($0) }
            }
        } catch {
            throw StorageError(.cannotOpen, "cannot open database \(path): \(error)", cause: error)
        }
    }

    /// The database of a config: `data_dir/inlet.db`.
    package convenience init(
        dataDirectory: String, readOnly: Bool = false, synchronous: InletConfig.Synchronous = .normal
    ) throws(StorageError) {
        try self.init(path: (dataDirectory as NSString).appendingPathComponent("inlet.db"), readOnly: readOnly, synchronous: synchronous)
    }
}

/// An error of the storage layer.
package struct StorageError: Error, CustomStringConvertible {
    /// What went wrong, as a code that can grow.
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String { case cannotOpen, writeFailed, invalidRecord, missingBlob }
        private let base: Base
        private init(_ base: Base) { self.base = base }
        package static let cannotOpen = Code(.cannotOpen)
        package static let writeFailed = Code(.writeFailed)
        package static let invalidRecord = Code(.invalidRecord)
        package static let missingBlob = Code(.missingBlob)
        package var description: String { base.rawValue }
    }

    package var code: Code
    package var message: String
    package var cause: (any Error)?

    package init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    package var description: String { message }
}
