import Foundation
import GRDB

extension JobQueue {
    /// Claims the next due follow-up job of `source` for a foreground `inlet sync`, which holds
    /// data_dir alone (no daemon leases beside it): queued, due, not the source's `sync` (a
    /// scheduled sync left for the daemon: the user has just run one) nor a `webhook` (a stored
    /// delivery, the daemon's), highest priority first.
    /// - Returns: the leased job, or nil when none is due.
    package func leaseFollowUp(source: String, owner: String, now: Date, leaseFor: Duration) throws -> Job? {
        try database.pool.write { db in
            let time = now.timeIntervalSince1970
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT \(Job.selection) FROM jobs AS j
                        WHERE j.state = 'queued' AND j.source = ? AND j.run_at <= ? AND j.kind NOT IN ('sync', 'webhook')
                        ORDER BY j.priority, j.run_at, j.id
                        LIMIT 1
                        """,
                    arguments: [source, time])
            else { return nil }
            var job = Job(selected: row)
            let leaseID = LeaseIDs.take()
            let expires = time + leaseFor.seconds
            try db.execute(
                sql: """
                    UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_id = ?, lease_owner = ?,
                        lease_expires_at = ?, started_at = ?, updated_at = ?
                    WHERE state = 'queued' AND id = ?
                    """,
                arguments: [leaseID, owner, expires, time, time, job.id])
            job.state = .running
            job.attempts += 1
            job.leaseID = leaseID
            job.leaseOwner = owner
            job.leaseExpiresAt = Date(timeIntervalSince1970: expires)
            job.startedAt = now
            job.updatedAt = now
            return job
        }
    }

    /// Follow-up jobs of `source` still queued (due later, after a failed attempt): what a
    /// foreground sync leaves for the daemon or the next sync.
    package func waitingFollowUps(source: String) throws -> Int {
        try database.pool.read { db in
            try Int.fetchOne(
                db, sql: "SELECT count(*) FROM jobs WHERE state = 'queued' AND source = ? AND kind NOT IN ('sync', 'webhook')",
                arguments: [source]) ?? 0
        }
    }
}
