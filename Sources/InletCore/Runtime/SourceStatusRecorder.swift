import Foundation
import GRDB

/// Writes what the daemon knows of each source to `source_status`, where `inlet status` and
/// `/health` (other readers, other processes) find it, and where it survives restarts.
package struct SourceStatusRecorder: Sendable {
    package let database: InletDatabase

    package init(database: InletDatabase) {
        self.database = database
    }

    /// The breaker fields as stored, to restore a breaker after a restart.
    package func breaker(of source: String) throws -> CircuitBreakerStateMachine.Persisted? {
        try database.pool.read { db in
            try Row.fetchOne(
                db, sql: "SELECT breaker_state, consecutive_failures, open_until FROM source_status WHERE source = ?",
                arguments: [source]
            ).map { row in
                (name: row["breaker_state"], consecutiveFailures: row["consecutive_failures"],
                 openUntil: (row["open_until"] as Double?).map(Date.init(timeIntervalSince1970:)))
            }
        }
    }

    /// The last time the scheduler fired for each source.
    package func lastScheduled() throws -> [String: Date] {
        try database.pool.read { db in
            var out: [String: Date] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT source, last_scheduled_at FROM source_status WHERE last_scheduled_at IS NOT NULL") {
                out[row["source"]] = Date(timeIntervalSince1970: row["last_scheduled_at"])
            }
            return out
        }
    }

    /// Records the breaker's state and the watchdog's verdict.
    package func recordHealth(
        source: String, breaker: CircuitBreakerStateMachine, stuckCalls: Int, disabledReason: String?, now: Date
    ) throws {
        let persisted = breaker.persisted
        try upsert(source: source, now: now, columns: [
            "breaker_state": persisted.name, "consecutive_failures": persisted.consecutiveFailures,
            "open_until": persisted.openUntil?.timeIntervalSince1970, "stuck_calls": stuckCalls,
            "disabled_reason": disabledReason,
        ])
    }

    /// Whether a job of `kind` is the source's sync, whose end `recordSync` records: a webhook
    /// job's or a follow-up's outcome is not the source's last sync (a failed delivery must not
    /// make `/health` say the last sync failed).
    package static func isSync(kind: String) -> Bool { kind == "sync" }

    /// Records how a sync of the source ended, inside the transaction that finishes the job.
    package static func recordSync(source: String, outcome: String, error: String?, at time: Date, in db: Database) throws {
        // Once per finished job: a fixed statement, not one assembled from a dictionary each time.
        try db.cachedStatement(sql: """
                INSERT INTO source_status (source, updated_at, last_error, last_outcome, last_sync_at) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (source) DO UPDATE SET last_error = excluded.last_error, last_outcome = excluded.last_outcome,
                    last_sync_at = excluded.last_sync_at, updated_at = excluded.updated_at
                """).execute(arguments: [source, time.timeIntervalSince1970, error, outcome, time.timeIntervalSince1970])
    }

    /// Records a scheduler tick and the next one.
    package func recordSchedule(source: String, firedAt: Date?, nextRun: Date?, now: Date) throws {
        var columns: [String: (any DatabaseValueConvertible)?] = ["next_run_at": nextRun?.timeIntervalSince1970]
        if let firedAt { columns["last_scheduled_at"] = firedAt.timeIntervalSince1970 }
        try upsert(source: source, now: now, columns: columns)
    }

    private func upsert(source: String, now: Date, columns: [String: (any DatabaseValueConvertible)?]) throws {
        try database.pool.write { db in try Self.upsert(source: source, now: now, columns: columns, in: db) }
    }

    private static func upsert(source: String, now: Date, columns: [String: (any DatabaseValueConvertible)?], in db: Database) throws {
        let names = columns.keys.sorted()
        let values = names.map { columns[$0]! }
        let insertColumns = (["source", "updated_at"] + names).joined(separator: ", ")
        let placeholders = Array(repeating: "?", count: names.count + 2).joined(separator: ", ")
        let updates = (names + ["updated_at"]).map { "\($0) = excluded.\($0)" }.joined(separator: ", ")
        try db.cachedStatement(sql: "INSERT INTO source_status (\(insertColumns)) VALUES (\(placeholders)) ON CONFLICT (source) DO UPDATE SET \(updates)").execute(arguments: StatementArguments([source, now.timeIntervalSince1970] + values))
    }
}
