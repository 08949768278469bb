import Foundation
import GRDB

/// One row per finished attempt of a job: outcome, records written and deleted, duration, error.
package struct AuditLog: Sendable {
    /// One audit row.
    package struct Entry: Sendable, Equatable, FetchableRecord, Codable {
        package var jobID: Int64
        package var source: String
        package var kind: String
        package var attempt: Int
        package var outcome: String
        package var recordsWritten: Int
        package var recordsDeleted: Int
        package var itemsQuarantined: Int
        package var durationMilliseconds: Int
        package var error: String?
        package var finishedAt: Date

        package init(
            jobID: Int64, source: String, kind: String, attempt: Int, outcome: String, recordsWritten: Int = 0,
            recordsDeleted: Int = 0, itemsQuarantined: Int = 0, durationMilliseconds: Int, error: String? = nil,
            finishedAt: Date
        ) {
            self.jobID = jobID
            self.source = source
            self.kind = kind
            self.attempt = attempt
            self.outcome = outcome
            self.recordsWritten = recordsWritten
            self.recordsDeleted = recordsDeleted
            self.itemsQuarantined = itemsQuarantined
            self.durationMilliseconds = durationMilliseconds
            self.error = error
            self.finishedAt = finishedAt
        }

        package init(row: Row) {
            jobID = row["job_id"]
            source = row["source"]
            kind = row["kind"]
            attempt = row["attempt"]
            outcome = row["outcome"]
            recordsWritten = row["records_written"]
            recordsDeleted = row["records_deleted"]
            itemsQuarantined = row["items_quarantined"]
            durationMilliseconds = row["duration_ms"]
            error = row["error"]
            finishedAt = Date(timeIntervalSince1970: row["finished_at"])
        }
    }

    package let database: InletDatabase

    package init(database: InletDatabase) {
        self.database = database
    }

    /// Appends an entry inside the caller's transaction.
    package static func append(_ entry: Entry, in db: Database) throws {
        try db.cachedStatement(sql: """
                INSERT INTO audit (job_id, seq, source, kind, attempt, outcome, records_written, records_deleted,
                    items_quarantined, duration_ms, error, finished_at)
                VALUES (?1, (SELECT coalesce(max(seq), 0) + 1 FROM audit WHERE job_id = ?1), ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                """).execute(arguments: [entry.jobID, entry.source, entry.kind, entry.attempt, entry.outcome, entry.recordsWritten,
                        entry.recordsDeleted, entry.itemsQuarantined, entry.durationMilliseconds, entry.error,
                        entry.finishedAt.timeIntervalSince1970])
    }

    /// The attempts of one job, oldest first.
    package func entries(jobID: Int64) throws -> [Entry] {
        try database.pool.read { db in
            try Entry.fetchAll(db, sql: "SELECT * FROM audit WHERE job_id = ? ORDER BY seq", arguments: [jobID])
        }
    }
}

extension AuditLog {
    /// Records a finished attempt of `job` inside the transaction that settles it: its audit
    /// row and, when `asLastSync` and the job is a sync, its source's last sync.
    package static func recordAttempt(
        of job: Job, outcome: String, counts: CommitCounts = CommitCounts(), duration: Duration, error: String?,
        asLastSync: Bool = true, quarantined: Bool = false, at now: Date, in db: Database
    ) throws {
        if asLastSync && SourceStatusRecorder.isSync(kind: job.kind) {
            // The sync's fate, not the call's answer: a `retry` at the last attempt is never
            // retried (`failed` says it already).
            let fate = quarantined && outcome != "failed" ? "quarantined" : outcome
            try SourceStatusRecorder.recordSync(source: job.source, outcome: fate, error: error, at: now, in: db)
        }
        try append(
            Entry(
                jobID: job.id, source: job.source, kind: job.kind, attempt: job.attempts, outcome: outcome,
                recordsWritten: counts.written, recordsDeleted: counts.deleted, itemsQuarantined: counts.quarantined,
                durationMilliseconds: Int(duration.seconds * 1000), error: error, finishedAt: now),
            in: db)
    }
}
