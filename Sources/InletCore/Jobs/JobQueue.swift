import Foundation
import GRDB
import Synchronization

/// The durable job queue, in the daemon's SQLite database.
///
/// Every transition is one short `BEGIN IMMEDIATE` transaction (or a step inside the caller's):
/// leasing takes the write lock up front, so two claimers never see the same queued row.
package struct JobQueue: Sendable {
    package let database: InletDatabase
    /// Shared by every copy of the queue, so that a reload's new `queue.max_size` binds them all.
    private let limit: Limit

    /// `queue.max_size`: queued + running jobs beyond which enqueues are refused.
    package var maxSize: Int { limit.value.load(ordering: .relaxed) }

    package init(database: InletDatabase, maxSize: Int = 10_000) {
        self.database = database
        self.limit = Limit(maxSize)
    }

    /// Applies a reloaded `queue.max_size` to this queue and every copy of it (the scheduler's,
    /// the HTTP surface's): enqueues check it from their next transaction on.
    package func setMaxSize(_ size: Int) {
        limit.value.store(size, ordering: .relaxed)
    }

    private final class Limit: Sendable {
        let value: Atomic<Int>
        init(_ value: Int) { self.value = Atomic(value) }
    }

    // MARK: - Enqueue

    /// Adds a job, or merges it into a queued job with the same unique key.
    package func enqueue(_ request: JobRequest, now: Date = Date()) throws -> EnqueueOutcome {
        // GRDB's `write` is one IMMEDIATE transaction on a writable connection.
        try database.pool.write { db in try enqueue(request, now: now, in: db) }
    }

    /// Adds a job inside the caller's transaction (follow-up jobs commit with the records that
    /// asked for them; a webhook's job commits with its delivery).
    /// - Parameter bounded: false for work already accepted (a follow-up of committed records),
    ///   which must not be lost to `max_size`; the bound pushes back on new input only.
    package func enqueue(_ request: JobRequest, now: Date, bounded: Bool = true, in db: Database) throws -> EnqueueOutcome {
        let time = now.timeIntervalSince1970
        let runAt = (request.runAt ?? now).timeIntervalSince1970
        if let key = request.uniqueKey,
            let existing = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT id, priority, run_at FROM jobs WHERE source = ? AND unique_key = ? AND state = 'queued'"),
                arguments: [request.source, key])
        {
            // Merge: the queued job runs as early and as urgently as the most pressing request,
            // with the arguments of both (a `--full` sync merged into a queued plain one stays full).
            let id: Int64 = existing["id"]
            try db.cachedStatement(sql: """
                    UPDATE jobs SET coalesced = coalesced + 1, priority = min(priority, ?1), run_at = min(run_at, ?2),
                        args = \(Self.mergedArgsSQL(into: "args", from: "?3")), updated_at = ?4 WHERE id = ?5
                    """).execute(arguments: [request.priority, runAt, request.args, time, id])
            return .coalesced(id)
        }
        let active = bounded ? try Int.fetchOne(db.cachedStatement(sql: JobQueue.activeCountSQL)) ?? 0 : 0
        if bounded && active >= maxSize { return .full }
        try db.cachedStatement(sql: """
                INSERT INTO jobs (source, kind, args, priority, run_at, state, attempts, max_attempts, unique_key,
                    created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, 'queued', 0, ?, ?, ?, ?)
                """).execute(arguments: [request.source, request.kind, request.args, request.priority, runAt, max(1, request.maxAttempts),
                        request.uniqueKey, time, time])
        return .enqueued(db.lastInsertedRowID)
    }
}

extension JobQueue {
    /// SQL for the arguments of two merged requests for one unique key: `from`'s keys over
    /// `into`'s (JSON merge patch, RFC 7396), so `{"full":true}` merged with `{}` either way
    /// stays a full sync. (The table's CHECK keeps every job's args valid JSON.)
    static func mergedArgsSQL(into: String, from: String) -> String {
        "json_patch(\(into), \(from))"
    }

    // MARK: - Lease

    /// Claims up to `limit` due jobs, at most `capacity[source]` per source (sources absent from
    /// `capacity` are not claimed: unknown, disabled, or with an open circuit breaker), by
    /// priority then due time. Each claim counts an attempt and sets a fresh lease.
    ///
    /// One IMMEDIATE transaction: the write lock is taken before the read, so no row is claimed twice.
    package func lease(
        capacity: [String: Int], limit: Int, owner: String, now: Date, leaseFor: Duration
    ) throws -> [Job] {
        guard limit > 0, capacity.values.contains(where: { $0 > 0 }) else { return [] }
        return try database.pool.write { db in
            try lease(capacity: capacity, limit: limit, owner: owner, now: now, leaseFor: leaseFor, in: db)
        }
    }

    /// Claims jobs as ``lease(capacity:limit:owner:now:leaseFor:)`` does, inside the caller's
    /// IMMEDIATE transaction (a worker pool leases in the group commit that completes jobs). The
    /// leases hold only once that transaction has committed.
    package func lease(
        capacity: [String: Int], limit: Int, owner: String, now: Date, leaseFor: Duration, in db: Database
    ) throws -> [Job] {
        guard limit > 0, capacity.values.contains(where: { $0 > 0 }) else { return [] }
        let time = now.timeIntervalSince1970
        let expires = time + leaseFor.seconds
        // Per source, the index (source, priority, run_at, id) over queued rows answers this directly.
        // A queued job whose unique key is running waits: two syncs of one repository never overlap.
        // The whole row comes with the pick: the claim below is a plain UPDATE (a RETURNING
        // clause runs as a trigger program per row: half the claim's cost in a C replica).
        let pick = try db.cachedStatement(sql: """
            SELECT \(Job.selection) FROM jobs AS j
            WHERE j.state = 'queued' AND j.source = ? AND j.run_at <= ?
              AND (j.unique_key IS NULL OR NOT EXISTS (
                  SELECT 1 FROM jobs AS r WHERE r.state = 'running' AND r.source = j.source AND r.unique_key = j.unique_key))
            ORDER BY j.priority, j.run_at, j.id
            LIMIT ?
            """)
        var candidates: [Job] = []
        for (source, free) in capacity where free > 0 {
            // A cursor decodes each row straight from the statement (no copied row per job).
            let rows = try Row.fetchCursor(pick, arguments: [source, time, min(free, limit)])
            while let row = try rows.next() { candidates.append(Job(selected: row)) }
        }
        candidates.sort { ($0.priority, $0.runAt, $0.id) < ($1.priority, $1.runAt, $1.id) }
        guard !candidates.isEmpty else { return [] }
        return try claim(Array(candidates.prefix(limit)), owner: owner, at: time, expires: expires, in: db)
    }

    /// Leases `jobs`, picked as queued in this write transaction, to `owner`.
    func claim(_ picked: [Job], owner: String, at time: Double, expires: Double, in db: Database) throws -> [Job] {
        var jobs = picked
        // One lease id for the batch: a lease is (job id, lease id, attempt), and every check of
        // it names the job. One UPDATE claims the batch (one statement per job cost as much as
        // the rest of the lease), in chunks within SQLite's limit on parameters.
        let leaseID = LeaseIDs.take()
        for start in stride(from: 0, to: jobs.count, by: Self.claimChunk) {
            let chunk = jobs[start..<min(start + Self.claimChunk, jobs.count)]
            let update = try db.cachedStatement(sql: """
                UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_id = ?, lease_owner = ?,
                    lease_expires_at = ?, started_at = ?, updated_at = ?
                WHERE state = 'queued' AND id IN (\(Array(repeating: "?", count: chunk.count).joined(separator: ", ")))
                """)
            var arguments: StatementArguments = [leaseID, owner, expires, time, time]
            arguments += StatementArguments(chunk.map(\.id))
            try update.execute(arguments: arguments)
            // Picked as queued in this transaction, which holds the write lock: all claimed.
            guard db.changesCount == chunk.count else {
                throw JobQueueError(.invalidState, "claimed \(db.changesCount) of \(chunk.count) jobs picked as queued")
            }
        }
        for index in jobs.indices {
            jobs[index].state = .running
            jobs[index].attempts += 1
            jobs[index].leaseID = leaseID
            jobs[index].leaseOwner = owner
            jobs[index].leaseExpiresAt = Date(timeIntervalSince1970: expires)
            jobs[index].startedAt = Date(timeIntervalSince1970: time)
            jobs[index].updatedAt = Date(timeIntervalSince1970: time)
        }
        return jobs
    }

    /// Most jobs one claim statement names (SQLite allows 32,766 parameters; a statement is
    /// cached per size, so at most this many).
    static let claimChunk = 64

    /// Extends the leases still held; returns the ones that were lost (the job was rescued,
    /// cancelled or completed elsewhere), whose work must stop and never commit.
    package func heartbeat(_ leases: [Lease], now: Date, leaseFor: Duration) throws -> Set<Lease> {
        guard !leases.isEmpty else { return [] }
        let expires = now.timeIntervalSince1970 + leaseFor.seconds
        return try database.pool.write { db in
            var lost = Set<Lease>()
            for lease in leases {
                try db.cachedStatement(sql: """
                        UPDATE jobs SET lease_expires_at = ?, updated_at = ?
                        WHERE id = ? AND state = 'running' AND lease_id = ? AND attempts = ?
                        """).execute(arguments: [expires, now.timeIntervalSince1970, lease.jobID, lease.leaseID, lease.attempt])
                if db.changesCount == 0 { lost.insert(lease) }
            }
            return lost
        }
    }

    /// Throws `leaseLost` unless `lease` still holds its job (call inside a transaction before
    /// committing a job's work: the fencing check).
    package func verify(_ lease: Lease, in db: Database) throws {
        let held = try Bool.fetchOne(
            db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM jobs WHERE id = ? AND state = 'running' AND lease_id = ? AND attempts = ?)"),
            arguments: [lease.jobID, lease.leaseID, lease.attempt]) ?? false
        if !held { throw JobQueueError(.leaseLost, "\(lease) was lost: the job was rescued, cancelled or completed elsewhere") }
    }

    // MARK: - Finish (inside the caller's transaction, after `verify`; markSucceeded fences itself)

    /// Marks a leased job succeeded. The fencing check is part of the UPDATE (the same condition
    /// as `verify`), so a completion needs no `verify` of its own: one statement less per job.
    /// - Throws: `leaseLost` when `lease` no longer holds its job (nothing changed); inside the
    ///   caller's transaction, that rolls back whatever the job wrote before.
    package func markSucceeded(_ lease: Lease, now: Date, in db: Database) throws {
        try db.cachedStatement(sql: """
                UPDATE jobs SET state = 'succeeded', lease_id = NULL, lease_owner = NULL, lease_expires_at = NULL,
                    last_error = NULL, finished_at = ?, updated_at = ?
                WHERE id = ? AND state = 'running' AND lease_id = ? AND attempts = ?
                """).execute(arguments: [now.timeIntervalSince1970, now.timeIntervalSince1970, lease.jobID, lease.leaseID, lease.attempt])
        if db.changesCount == 0 { throw JobQueueError(.leaseLost, "\(lease) was lost: the job was rescued, cancelled or completed elsewhere") }
    }

    /// Puts a leased job back in the queue to run at `runAt`. With `countsAsAttempt` false (a rate
    /// limit, a graceful shutdown) the attempt it used is given back.
    package func markRetry(_ lease: Lease, runAt: Date, error: String?, countsAsAttempt: Bool, now: Date, in db: Database) throws {
        // A twin queued while this job ran (same unique key) is folded in first: the unique index
        // allows one queued job per key, and the twin's request wants it no later than its own time.
        // The twin is not deleted: whoever was told its id (`inlet sync`, the admin API) finds it
        // cancelled, saying which job carries its request on; its arguments merge into this job's.
        var runAt = runAt.timeIntervalSince1970
        var priority: Int?
        var absorbed = 0
        if let job = try Row.fetchOne(db.cachedStatement(sql: "SELECT source, unique_key FROM jobs WHERE id = ?"), arguments: [lease.jobID]),
            let key = job["unique_key"] as String?
        {
            for twin in try Row.fetchAll(
                db, sql: "SELECT id, priority, run_at, coalesced FROM jobs WHERE source = ? AND unique_key = ? AND state = 'queued'",
                arguments: [job["source"] as String, key])
            {
                let twinID: Int64 = twin["id"]
                runAt = min(runAt, twin["run_at"])
                priority = min(priority ?? Int.max, twin["priority"])
                absorbed += 1 + (twin["coalesced"] as Int)
                try db.execute(
                    sql: """
                        UPDATE jobs SET args = \(Self.mergedArgsSQL(into: "args", from: "(SELECT args FROM jobs WHERE id = ?2)")),
                            updated_at = ?3 WHERE id = ?1
                        """,
                    arguments: [lease.jobID, twinID, now.timeIntervalSince1970])
                try db.execute(
                    sql: """
                        UPDATE jobs SET state = 'cancelled', last_error = ?, finished_at = ?, updated_at = ? WHERE id = ?
                        """,
                    arguments: ["merged into job \(lease.jobID) (the same unique key '\(key)', which was running and retries)",
                                now.timeIntervalSince1970, now.timeIntervalSince1970, twinID])
            }
        }
        try db.cachedStatement(sql: """
                UPDATE jobs SET state = 'queued', run_at = ?, attempts = attempts - ?, priority = min(priority, ?),
                    coalesced = coalesced + ?, lease_id = NULL, lease_owner = NULL, lease_expires_at = NULL,
                    last_error = coalesce(?, last_error), updated_at = ?
                WHERE id = ? AND lease_id = ?
                """).execute(arguments: [runAt, countsAsAttempt ? 0 : 1, priority ?? 10, absorbed, error, now.timeIntervalSince1970,
                        lease.jobID, lease.leaseID])
    }

    /// Carries out a retry policy's verdict on a failed attempt: back to the queue after its
    /// delay, or to quarantine. (`complete` is the caller's business: it commits work first.)
    package func markFailedAttempt(_ lease: Lease, decision: RetryDecision, lastError: String?, now: Date, in db: Database) throws {
        switch decision {
        case .complete:
            preconditionFailure("a completed job is marked succeeded, not failed")
        case .retryAfter(let delay, let countsAsAttempt):
            try markRetry(lease, runAt: now.addingTimeInterval(delay.seconds), error: lastError, countsAsAttempt: countsAsAttempt, now: now, in: db)
        case .quarantine(let reason):
            try markQuarantined(jobID: lease.jobID, leaseID: lease.leaseID, error: reason, now: now, in: db)
        }
    }

    /// Moves a job to quarantine, with a quarantine row that says why.
    package func markQuarantined(jobID: Int64, leaseID: Int64?, error: String, now: Date, in db: Database) throws {
        let time = now.timeIntervalSince1970
        try db.cachedStatement(sql: """
                UPDATE jobs SET state = 'quarantined', lease_id = NULL, lease_owner = NULL, lease_expires_at = NULL,
                    last_error = ?, finished_at = ?, updated_at = ?
                WHERE id = ? AND (? IS NULL OR lease_id = ?)
                """).execute(arguments: [error, time, time, jobID, leaseID, leaseID])
        guard db.changesCount > 0 else { return }
        try db.cachedStatement(sql: """
                INSERT INTO quarantine (source, kind, key, error, bytes, created_at, job_id)
                SELECT source, 'job', kind || ' #' || id, ?, CAST(args AS BLOB), ?, id FROM jobs WHERE id = ?
                """).execute(arguments: [error, StorageClock.format(now), jobID])
    }
}

/// Lease ids: a random start per process, counted up from there, one per lease transaction (the
/// jobs it claims share it; a lease is told apart by its job id and attempt too). Unique among
/// the lease transactions of a process, and two processes' ranges meet with odds of about one in
/// 2^62; one `getrandom` syscall per process rather than one per lease (7% of a no-op job's time
/// in a profile).
enum LeaseIDs {
    private static let next = Atomic<Int64>(Int64.random(in: 1...(Int64.max / 2)))

    static func take() -> Int64 { next.wrappingAdd(1, ordering: .relaxed).newValue }
}
