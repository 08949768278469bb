import Foundation
import GRDB

extension JobQueue {
    /// Follow-up jobs are the jobs of a source a foreground `inlet sync` runs from the queue:
    /// not its `sync` (the user has just run one: a scheduled sync is left for the daemon) nor a
    /// `webhook` (a stored delivery, the daemon's).
    static let followUpCondition = "j.state = 'queued' AND j.source = ? AND j.kind NOT IN ('sync', 'webhook')"

    /// Leases the next due follow-up job of `source` to a foreground `inlet sync`, highest
    /// priority first. The sync holds data_dir alone (no daemon leases beside it) and runs one
    /// job at a time: after its start-up rescue no job of the same unique key can be running.
    /// - Returns: the leased job, or nil when none is due.
    package func leaseFollowUp(source: String, owner: String, now: Date, leaseFor: Duration) throws -> Job? {
        try database.pool.write { db in
            let time = now.timeIntervalSince1970
            let pick = try db.cachedStatement(sql: """
                SELECT \(Job.selection) FROM jobs AS j
                WHERE \(Self.followUpCondition) AND j.run_at <= ?
                ORDER BY j.priority, j.run_at, j.id
                LIMIT 1
                """)
            guard let row = try Row.fetchOne(pick, arguments: [source, time]) else { return nil }
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
