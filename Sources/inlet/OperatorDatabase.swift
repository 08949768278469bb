import ArgumentParser
import Foundation
import InletCore

/// The daemon's database as the operator commands (`jobs`, `quarantine`, `status`) use it,
/// beside a running daemon: WAL readers never block, and the admin writes are short IMMEDIATE
/// transactions.
///
/// It is opened only when the file exists, so a wrong `--config` never leaves an empty database
/// behind.
struct OperatorDatabase {
    let config: InletConfig
    let database: InletDatabase

    /// `data_dir/inlet.db`.
    static func path(of config: InletConfig) -> String {
        (config.dataDirectory as NSString).appendingPathComponent("inlet.db")
    }

    /// What every command says when the daemon has not created the database yet.
    static func missingMessage(_ config: InletConfig) -> String {
        missingMessage(databasePath: path(of: config))
    }

    static func missingMessage(databasePath: String) -> String {
        "no database at \(databasePath): run `inlet sync` or `inlet run` first"
    }

    /// Opens the config's database, or returns nil when there is none yet.
    /// - Throws: `ExitCode(1)` (after saying why) when the file exists but does not open.
    static func openIfPresent(_ config: InletConfig) throws -> OperatorDatabase? {
        guard FileManager.default.fileExists(atPath: path(of: config)) else { return nil }
        try refuseToMigrateUnderADaemon(config)
        return OperatorDatabase(config: config, database: try openDatabase(config))
    }

    /// Opening migrates the database to this build's schema. Beside a running daemon of an
    /// earlier build (the binary was upgraded, the daemon not yet restarted) that would change
    /// the schema under it; the daemon restarted with this build migrates it itself.
    /// - Throws: `ExitCode(1)` after saying so.
    static func refuseToMigrateUnderADaemon(_ config: InletConfig) throws {
        guard let daemon = DaemonLock.runningDaemon(dataDirectory: config.dataDirectory) else { return }
        let pending = try exitingOnFailure { try InletDatabase.pendingMigrations(path: path(of: config)) }
        guard !pending.isEmpty else { return }
        printError(
            "error: the running `inlet run` (pid \(daemon.pid)) is an earlier build: \(path(of: config)) lacks this build's "
                + "\(pending.joined(separator: ", ")); restart the daemon with this build first (it migrates the database)")
        throw ExitCode(1)
    }

    /// Opens the config's database.
    /// - Throws: `ExitCode(1)` (after saying why) when it does not exist or does not open.
    static func open(_ config: InletConfig) throws -> OperatorDatabase {
        guard let opened = try openIfPresent(config) else {
            printError("error: \(missingMessage(config))")
            throw ExitCode(1)
        }
        return opened
    }

    /// The `inlet run` working on this data_dir now, if one is.
    var daemon: DaemonLock.Holder? { DaemonLock.runningDaemon(dataDirectory: config.dataDirectory) }

    /// The foreground `inlet sync` working on this data_dir now, if one is.
    var sync: DaemonLock.Holder? { DaemonLock.running(.sync, dataDirectory: config.dataDirectory) }

    /// What to tell of jobs marked running when no daemon is found. With a live `inlet sync`
    /// holding the lock they are the follow-ups it runs: it gave back, at its start, what a
    /// stopped process had left. Without one, a daemon or sync that stopped (kill -9, a crash)
    /// left them; the next `inlet run` or `inlet sync` gives those back, or quarantines those
    /// out of attempts. (Found by the lock file's pid: a process in another pid namespace is not.)
    static func orphanedNote(running: Int, syncPID: Int32?) -> String {
        if let syncPID {
            return "the \(running) running job(s) are the follow-ups of the `inlet sync` working on this data_dir now (pid \(syncPID))"
        }
        return "no `inlet run` or `inlet sync` found on this data_dir (by inlet.lock): the \(running) running job(s) were left by one that stopped; "
            + "the next `inlet run` or `inlet sync` gives those back (or quarantines those out of attempts)"
    }

    var queue: JobQueue { JobQueue(database: database, maxSize: config.queue.maxSize) }
    var quarantine: QuarantineStore { QuarantineStore(database: database, queue: queue) }
    var audit: AuditLog { AuditLog(database: database) }
    var sourceStatus: SourceStatusStore { SourceStatusStore(database: database) }

    /// The source `name` if what is queued for it would run: in the config and enabled and,
    /// while a daemon runs on this data_dir, neither without a working plugin nor disabled by
    /// its watchdog (the reason the daemon records in `source_status`, which its next start
    /// lifts: with no daemon running, the job waits for that start).
    /// - Throws: ``JobQueueError`` `sourceUnavailable`, saying why.
    func runnableSource(named name: String) throws -> SourceConfig {
        let source = try config.runnableSource(named: name)
        if DaemonLock.runningDaemon(dataDirectory: config.dataDirectory) != nil,
            let why = try sourceStatus.all()[name]?.disabledReason
        {
            throw JobQueueError(.sourceUnavailable, Orchestrator.cannotRunNow(source: name, reason: why))
        }
        return source
    }
}

/// Runs one operator action: an error of the queue or of storage (no such job, a job in the
/// wrong state, a full queue, a locked database) is printed on standard error and exits 1.
func exitingOnFailure<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let exit as ExitCode {
        throw exit
    } catch {
        printError("error: \(error)")
        throw ExitCode(1)
    }
}
