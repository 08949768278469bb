import Foundation
import GRDB

/// Reads the `source_status` table: what the daemon knows of each source (circuit breaker,
/// last sync, next run, why it disabled the source), for `inlet status` in another process.
///
/// Read-only: the daemon writes these rows through its own code.
package struct SourceStatusStore: Sendable {
    /// One `source_status` row, column for column.
    package struct Row: Sendable, Equatable, FetchableRecord {
        package var source: String
        /// `closed` unless the daemon opened the circuit (`open`, or its trial state).
        package var breakerState: String
        package var consecutiveFailures: Int
        /// When an open circuit lets a trial job through.
        package var openUntil: Date?
        /// Set when the daemon disabled the source (say, too many stuck plugin calls).
        package var disabledReason: String?
        package var stuckCalls: Int
        package var lastSyncAt: Date?
        package var lastOutcome: String?
        package var lastError: String?
        package var lastScheduledAt: Date?
        package var nextRunAt: Date?
        package var updatedAt: Date

        package init(
            source: String, breakerState: String = "closed", consecutiveFailures: Int = 0, openUntil: Date? = nil,
            disabledReason: String? = nil, stuckCalls: Int = 0, lastSyncAt: Date? = nil, lastOutcome: String? = nil,
            lastError: String? = nil, lastScheduledAt: Date? = nil, nextRunAt: Date? = nil, updatedAt: Date
        ) {
            self.source = source
            self.breakerState = breakerState
            self.consecutiveFailures = consecutiveFailures
            self.openUntil = openUntil
            self.disabledReason = disabledReason
            self.stuckCalls = stuckCalls
            self.lastSyncAt = lastSyncAt
            self.lastOutcome = lastOutcome
            self.lastError = lastError
            self.lastScheduledAt = lastScheduledAt
            self.nextRunAt = nextRunAt
            self.updatedAt = updatedAt
        }

        package init(row: GRDB.Row) {
            source = row["source"]
            breakerState = row["breaker_state"]
            consecutiveFailures = row["consecutive_failures"]
            openUntil = Self.date(row["open_until"])
            disabledReason = row["disabled_reason"]
            stuckCalls = row["stuck_calls"]
            lastSyncAt = Self.date(row["last_sync_at"])
            lastOutcome = row["last_outcome"]
            lastError = row["last_error"]
            lastScheduledAt = Self.date(row["last_scheduled_at"])
            nextRunAt = Self.date(row["next_run_at"])
            updatedAt = Date(timeIntervalSince1970: row["updated_at"])
        }

        /// Times are Unix seconds (REAL), as in the jobs table.
        private static func date(_ seconds: Double?) -> Date? {
            seconds.map(Date.init(timeIntervalSince1970:))
        }
    }

    package let database: InletDatabase

    package init(database: InletDatabase) {
        self.database = database
    }

    /// Every row, by source name.
    package func all() throws -> [String: Row] {
        try database.pool.read { db in
            var out: [String: Row] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT * FROM source_status") { out[row.source] = row }
            return out
        }
    }

    /// The row of one source, or nil when the daemon has not written one yet.
    package func status(of source: String) throws -> Row? {
        try database.pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM source_status WHERE source = ?", arguments: [source])
        }
    }

    /// Every source name the database holds runtime data for (status, jobs, quarantine, audit,
    /// checkpoints), so a source removed from the config can still be shown.
    ///
    /// Documents are left out on purpose: naming their sources scans the whole table.
    package func knownSources() throws -> Set<String> {
        try database.pool.read { db in
            Set(try String.fetchAll(db, sql: """
                SELECT source FROM source_status
                UNION SELECT source FROM job_counts WHERE n > 0
                UNION SELECT source FROM quarantine
                UNION SELECT source FROM audit
                UNION SELECT source FROM state
                """))
        }
    }
}
