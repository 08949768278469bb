import Foundation
import GRDB

/// Quarantined jobs (out of attempts, or failed permanently) and items a connector put aside.
package struct QuarantineStore: Sendable {
    /// One quarantine row.
    package struct Entry: Sendable, Equatable, FetchableRecord {
        package var id: Int64
        package var source: String
        /// `job` or `item`.
        package var kind: String
        package var key: String
        package var error: String
        package var bytes: [UInt8]?
        package var jobID: Int64?
        package var createdAt: String
        /// How many times an item was put aside (1 for a job).
        package var seen: Int
        /// When the entry was last put aside (`createdAt` until an item is seen again).
        package var lastSeenAt: String

        package init(row: Row) {
            id = row["id"]
            source = row["source"]
            kind = row["kind"]
            key = row["key"]
            error = row["error"]
            bytes = (row["bytes"] as Data?).map { Array($0) }
            jobID = row["job_id"]
            createdAt = row["created_at"]
            seen = row["seen"]
            lastSeenAt = row["last_seen_at"] ?? createdAt
        }
    }

    package let database: InletDatabase
    package let queue: JobQueue

    package init(database: InletDatabase, queue: JobQueue) {
        self.database = database
        self.queue = queue
    }

    package func list(source: String? = nil, limit: Int = 1000) throws -> [Entry] {
        try database.pool.read { db in
            try Entry.fetchAll(
                // Newest first by when last seen: an item failing at every sync stays on top.
                db, sql: """
                    SELECT * FROM quarantine WHERE (? IS NULL OR source = ?)
                    ORDER BY coalesce(last_seen_at, created_at) DESC, id DESC LIMIT ?
                    """,
                arguments: [source, source, limit])
        }
    }

    package func entry(id: Int64) throws -> Entry? {
        try database.pool.read { db in try Entry.fetchOne(db, sql: "SELECT * FROM quarantine WHERE id = ?", arguments: [id]) }
    }

    /// Items and jobs per source.
    package func counts() throws -> [String: Int] {
        try database.pool.read { db in
            var out: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT source, count(*) AS n FROM quarantine GROUP BY source") {
                out[row["source"]] = row["n"]
            }
            return out
        }
    }

    /// What a retry did.
    package enum RetryOutcome: Sendable, Equatable {
        /// The quarantined job is queued again, with fresh attempts.
        case jobRequeued(Int64)
        /// An item: a sync of its source is queued (or an already queued one absorbed it).
        case syncEnqueued(EnqueueOutcome)
    }

    /// Retries an entry: a job runs again with fresh attempts; an item's source syncs again
    /// (connectors re-read items they could not process). The entry leaves the quarantine.
    /// - Throws: ``JobQueueError`` when there is no such entry or its job cannot be retried.
    package func retry(id: Int64, maxAttempts: Int = 5, now: Date = Date()) throws -> RetryOutcome {
        guard let entry = try entry(id: id) else { throw JobQueueError(.notFound, "no quarantine entry \(id)") }
        if let jobID = entry.jobID {
            if try queue.job(id: jobID) == nil {
                try drop(id: id)
                throw JobQueueError(.notFound, "job \(jobID) of quarantine entry \(id) no longer exists; entry dropped")
            }
            _ = try queue.retry(id: jobID, now: now)  // also removes the job's quarantine entries
            return .jobRequeued(jobID)
        }
        let outcome = try database.pool.write { db -> EnqueueOutcome in
            let outcome = try queue.enqueue(
                JobRequest(source: entry.source, priority: JobPriority.manual, uniqueKey: JobRequest.syncKey(source: entry.source),
                           maxAttempts: maxAttempts),
                now: now, in: db)
            if outcome != .full { try db.execute(sql: "DELETE FROM quarantine WHERE id = ?", arguments: [id]) }
            return outcome
        }
        if outcome == .full { throw JobQueueError(.full, "the queue is full; entry \(id) stays in quarantine") }
        return .syncEnqueued(outcome)
    }

    /// Removes an entry. A quarantined job whose last entry this was is cancelled (it keeps its
    /// error): as a finished job it is pruned after `queue.retention`, with a webhook job's
    /// stored delivery, instead of staying quarantined, unlisted, for good. `inlet jobs retry`
    /// still runs it again.
    /// - Returns: the id of the job it cancelled, if any.
    /// - Throws: ``JobQueueError`` when there is no such entry.
    @discardableResult
    package func drop(id: Int64, now: Date = Date()) throws -> Int64? {
        try database.pool.write { db in
            let jobID = try Int64?.fetchOne(db, sql: "SELECT job_id FROM quarantine WHERE id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM quarantine WHERE id = ?", arguments: [id])
            guard db.changesCount > 0 else { throw JobQueueError(.notFound, "no quarantine entry \(id)") }
            guard let jobID = jobID ?? nil,
                try Int.fetchOne(db, sql: "SELECT count(*) FROM quarantine WHERE job_id = ?", arguments: [jobID]) == 0
            else { return nil }
            try db.execute(
                sql: "UPDATE jobs SET state = 'cancelled', finished_at = ?, updated_at = ? WHERE id = ? AND state = 'quarantined'",
                arguments: [now.timeIntervalSince1970, now.timeIntervalSince1970, jobID])
            return db.changesCount > 0 ? jobID : nil
        }
    }
}
