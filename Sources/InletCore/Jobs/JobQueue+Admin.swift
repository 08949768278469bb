import Foundation
import GRDB

extension JobQueue {
    /// Jobs, newest first, optionally of one state and one source.
    package func list(state: JobState? = nil, source: String? = nil, limit: Int = 100) throws -> [Job] {
        try database.pool.read { db in
            try Job.fetchAll(
                db,
                sql: """
                    SELECT * FROM jobs WHERE (? IS NULL OR state = ?) AND (? IS NULL OR source = ?)
                    ORDER BY id DESC LIMIT ?
                    """,
                arguments: [state?.rawValue, state?.rawValue, source, source, limit])
        }
    }

    /// One job, or nil.
    package func job(id: Int64) throws -> Job? {
        try database.pool.read { db in try Job.fetchOne(db, sql: "SELECT * FROM jobs WHERE id = ?", arguments: [id]) }
    }

    /// Runs a finished (succeeded, quarantined or cancelled) job again, with fresh attempts.
    /// - Throws: ``JobQueueError`` when the job does not exist or is queued or running.
    package func retry(id: Int64, now: Date = Date()) throws -> Job {
        try database.pool.write { db in
            guard let job = try Job.fetchOne(db, sql: "SELECT * FROM jobs WHERE id = ?", arguments: [id]) else {
                throw JobQueueError(.notFound, "no job \(id)")
            }
            guard job.state != .queued && job.state != .running else {
                throw JobQueueError(.invalidState, "job \(id) is \(job.state.rawValue); only finished jobs can be retried")
            }
            if let key = job.uniqueKey,
                let twin = try Int64.fetchOne(
                    db, sql: "SELECT id FROM jobs WHERE source = ? AND unique_key = ? AND state = 'queued'", arguments: [job.source, key])
            {
                throw JobQueueError(.invalidState, "job \(twin) with the same unique key '\(key)' is already queued")
            }
            _ = try requeue(id: id, now: now, bounded: false, in: db)
            return try Job.fetchOne(db, sql: "SELECT * FROM jobs WHERE id = ?", arguments: [id])!
        }
    }

    /// Puts finished job `id` back in the queue with its attempts reset, and removes its
    /// quarantine entries, in the caller's transaction.
    /// - Parameter bounded: true for new input (a webhook's redelivery), which `max_size` refuses.
    /// - Returns: false when the queue is full (nothing changed).
    package func requeue(id: Int64, now: Date, bounded: Bool, in db: Database) throws -> Bool {
        if bounded, try Int.fetchOne(db.cachedStatement(sql: JobQueue.activeCountSQL)) ?? 0 >= maxSize { return false }
        try db.execute(
            sql: """
                UPDATE jobs SET state = 'queued', attempts = 0, run_at = ?, last_error = NULL, finished_at = NULL, updated_at = ?
                WHERE id = ?
                """,
            arguments: [now.timeIntervalSince1970, now.timeIntervalSince1970, id])
        try db.execute(sql: "DELETE FROM quarantine WHERE job_id = ?", arguments: [id])
        return true
    }

    /// Cancels a queued or running job. A running job's lease is revoked at once: its worker sees
    /// the lease lost at its next heartbeat, asks the plugin to stop, and commits nothing.
    /// - Throws: ``JobQueueError`` when the job does not exist or already finished.
    package func cancel(id: Int64, now: Date = Date()) throws -> Job {
        try database.pool.write { db in
            guard let job = try Job.fetchOne(db, sql: "SELECT * FROM jobs WHERE id = ?", arguments: [id]) else {
                throw JobQueueError(.notFound, "no job \(id)")
            }
            guard job.state == .queued || job.state == .running else {
                throw JobQueueError(.invalidState, "job \(id) is \(job.state.rawValue); only queued or running jobs can be cancelled")
            }
            try db.execute(
                sql: """
                    UPDATE jobs SET state = 'cancelled', lease_id = NULL, lease_owner = NULL, lease_expires_at = NULL,
                        last_error = coalesce(last_error, 'cancelled'), finished_at = ?, updated_at = ? WHERE id = ?
                    """,
                arguments: [now.timeIntervalSince1970, now.timeIntervalSince1970, id])
            if job.state == .running {
                // Its worker's outcome will not commit (the lease is gone): the attempt's row in
                // the history is written here, as rescue writes one for an attempt cut short.
                let started = job.startedAt ?? now
                try AuditLog.append(
                    AuditLog.Entry(
                        jobID: id, source: job.source, kind: job.kind, attempt: job.attempts, outcome: "cancelled",
                        durationMilliseconds: max(0, Int(now.timeIntervalSince(started) * 1000)),
                        error: "cancelled while running", finishedAt: now),
                    in: db)
            }
            return try Job.fetchOne(db, sql: "SELECT * FROM jobs WHERE id = ?", arguments: [id])!
        }
    }
}

extension InletConfig {
    /// The source that would run a job queued for `name` now: the daemon leases no job of a
    /// source gone from the config or disabled, so a retry or sync queued for one waits for good.
    /// - Throws: ``JobQueueError`` `sourceUnavailable`, saying which.
    package func runnableSource(named name: String) throws -> SourceConfig {
        guard let source = source(named: name) else {
            throw JobQueueError(.sourceUnavailable, "source '\(name)' is no longer in the config (\(file)): its jobs would not run")
        }
        guard source.isEnabled else {
            throw JobQueueError(
                .sourceUnavailable, "source '\(name)' is disabled (enabled: false at \(source.location(of: "enabled"))): its jobs would not run")
        }
        return source
    }
}
