import Foundation
import GRDB

extension JobQueue {
    /// Follow-up jobs are the jobs of a source a foreground `inlet sync` runs from the queue:
    /// not its `sync` (the user has just run one: a scheduled sync is left for the daemon) nor a
    /// `webhook` (a stored delivery, the daemon's).
    static let followUpCondition = "j.state = 'queued' AND j.source = ? AND j.kind NOT IN ('sync', 'webhook')"

    /// Leases the next due follow-up job of `source` to a foreground `inlet sync`, highest
    /// priority first; with `syncsSince`, a `sync` job queued (or merged into) since then too (a
    /// discovery the connector asked for during this run, as GitHub's when a repository is gone). The sync
    /// holds data_dir alone (no daemon leases beside it); a job whose unique key is running
    /// waits, as in the daemon's lease.
    /// - Returns: the leased job, or nil when none is due.
    package func leaseFollowUp(source: String, syncsSince: Date?, owner: String, now: Date, leaseFor: Duration) throws -> Job? {
        try database.pool.write { db in
            let time = now.timeIntervalSince1970
            let pick = try db.cachedStatement(sql: """
                SELECT \(Job.selection) FROM jobs AS j
                WHERE j.state = 'queued' AND j.source = ? AND j.run_at <= ?
                  AND (j.kind NOT IN ('sync', 'webhook') OR (j.kind = 'sync' AND (j.created_at >= ?3 OR j.updated_at >= ?3)))
                  AND (j.unique_key IS NULL OR NOT EXISTS (
                      SELECT 1 FROM jobs AS r WHERE r.state = 'running' AND r.source = j.source AND r.unique_key = j.unique_key))
                ORDER BY j.priority, j.run_at, j.id
                LIMIT 1
                """)
            // Without `syncsSince`, no sync job: none was created after the largest time.
            let since = syncsSince?.timeIntervalSince1970 ?? Double.greatestFiniteMagnitude
            guard let row = try Row.fetchOne(pick, arguments: [source, time, since]) else { return nil }
            return try claim([Job(selected: row)], owner: owner, at: time, expires: time + leaseFor.seconds, in: db).first
        }
    }

    /// Follow-up jobs of `source` still queued (due later, after a failed attempt or a rate
    /// limit): what a foreground sync leaves for the daemon or the next sync.
    package func waitingFollowUps(source: String) throws -> Int {
        try database.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM jobs AS j WHERE \(Self.followUpCondition)", arguments: [source]) ?? 0
        }
    }
}
