import Foundation
import GRDB

extension JobQueue {
    /// What a rescue did.
    package struct RescueReport: Sendable, Equatable {
        package var requeued: [Int64] = []
        package var quarantined: [Int64] = []
        /// Given back without counting their attempt: another job's plugin crashed the process,
        /// or they were leased ahead and their call had not started.
        package var spared: [Int64] = []
        /// The audit row written for each cut-short attempt (outcome `interrupted`, or `crashed`
        /// for the job whose plugin call crashed the process).
        package var attempts: [AuditLog.Entry] = []
    }

    /// Returns running jobs whose lease expired — or, with `notOwnedBy`, every running job of
    /// another (dead) daemon — to the queue. A job that used its last attempt goes to quarantine:
    /// an attempt cut short by a crash counts, so a poison job cannot crash-loop the daemon.
    /// Each cut-short attempt gets its audit row (outcome `interrupted`) and, for a sync, its
    /// source's last outcome, as a finished attempt does.
    /// - Parameters:
    ///   - crashed: jobs whose plugin call crashed the process that held them (the crash file's,
    ///     with the signal): only their attempt counts, as `crashed`, and they wait out their
    ///     source's backoff (`retry`) so the others run first; the other jobs that process held
    ///     go back without counting theirs. Empty (a kill -9, a power loss, a crash on no plugin
    ///     call): every cut-short attempt counts, since any of them may be the cause.
    ///   - started: without a crash, the jobs whose plugin call (or create) had started in that
    ///     process (the calls file's): only theirs count; the others were leased ahead and go
    ///     back uncounted. Nil: not known, every attempt counts.
    ///   - retry: each source's retry settings, for the backoff of a crashed job.
    package func rescue(
        now: Date, notOwnedBy owner: String? = nil, crashed: [Int64: Int32] = [:], started: Set<Int64>? = nil,
        retry: [String: SourceConfig.Retry] = [:]
    ) throws -> RescueReport {
        try database.pool.write { db in
            let rows: [Row]
            if let owner {
                rows = try Row.fetchAll(db, sql: Self.rescueForeignSQL, arguments: [now.timeIntervalSince1970, owner])
            } else {
                rows = try Row.fetchAll(db, sql: Self.rescueExpiredSQL, arguments: [now.timeIntervalSince1970])
            }
            var report = RescueReport()
            for row in rows {
                let lease = Lease(jobID: row["id"], leaseID: row["lease_id"] ?? 0, attempt: row["attempts"])
                let maxAttempts: Int = row["max_attempts"]
                let signal = crashed[lease.jobID]
                if signal == nil, let culprit = crashed.keys.min() {
                    // Innocent: the process died of job `culprit`'s plugin call.
                    try markRetry(
                        lease, runAt: now, error: "given back: job \(culprit)'s plugin call crashed the process running both",
                        countsAsAttempt: false, now: now, in: db)
                    report.spared.append(lease.jobID)
                    continue
                }
                if signal == nil, let started, !started.contains(lease.jobID) {
                    // Leased ahead of its worker: its call never started, so no attempt was cut short.
                    try markRetry(
                        lease, runAt: now, error: "given back: leased ahead, its plugin call had not started when the process ended",
                        countsAsAttempt: false, now: now, in: db)
                    report.spared.append(lease.jobID)
                    continue
                }
                let cutShort = signal.map { "attempt \(lease.attempt) crashed the process: \(Self.signalName($0)) in its plugin call" }
                    ?? "attempt \(lease.attempt) ended without an answer (the process running it stopped or crashed, or its lease expired)"
                if lease.attempt >= maxAttempts {
                    try markQuarantined(
                        jobID: lease.jobID, leaseID: row["lease_id"],
                        error: signal.map { "out of attempts (\(lease.attempt)/\(maxAttempts)): the attempt crashed the process (\(Self.signalName($0)) in its plugin call)" }
                            ?? "out of attempts (\(lease.attempt)/\(maxAttempts)): the attempt ended without an answer (the process running it stopped or crashed, or its lease expired)",
                        now: now, in: db)
                    report.quarantined.append(lease.jobID)
                } else {
                    var runAt = now
                    if signal != nil {
                        var random = SystemRandomNumberGenerator()
                        let policy = RetryPolicy(retry[row["source"] as String] ?? SourceConfig.Retry())
                        runAt = now.addingTimeInterval(policy.delay(afterAttempt: lease.attempt, random: &random).seconds)
                    }
                    try markRetry(lease, runAt: runAt, error: cutShort, countsAsAttempt: true, now: now, in: db)
                    report.requeued.append(lease.jobID)
                }
                let started = (row["started_at"] as Double?) ?? now.timeIntervalSince1970
                let entry = AuditLog.Entry(
                    jobID: lease.jobID, source: row["source"], kind: row["kind"], attempt: lease.attempt,
                    outcome: signal == nil ? "interrupted" : "crashed",
                    durationMilliseconds: max(0, Int((now.timeIntervalSince1970 - started) * 1000)), error: cutShort, finishedAt: now)
                try AuditLog.append(entry, in: db)
                if SourceStatusRecorder.isSync(kind: entry.kind) {
                    let fate = lease.attempt >= maxAttempts ? "quarantined" : entry.outcome
                    try SourceStatusRecorder.recordSync(source: entry.source, outcome: fate, error: cutShort, at: now, in: db)
                }
                report.attempts.append(entry)
            }
            return report
        }
    }

    /// `SIGSEGV`, `SIGABRT` …, or `signal N`.
    package static func signalName(_ number: Int32) -> String {
        let names: [Int32: String] = [
            SIGSEGV: "SIGSEGV", SIGBUS: "SIGBUS", SIGILL: "SIGILL", SIGFPE: "SIGFPE", SIGABRT: "SIGABRT", SIGTRAP: "SIGTRAP",
            SIGSYS: "SIGSYS", SIGKILL: "SIGKILL", SIGTERM: "SIGTERM", SIGINT: "SIGINT", SIGHUP: "SIGHUP",
        ]
        return names[number] ?? "signal \(number)"
    }

    /// Running jobs of another daemon, or whose lease expired (the partial index `jobs_running`).
    static let rescueForeignSQL = """
        SELECT id, lease_id, attempts, max_attempts, source, kind, started_at FROM jobs
        WHERE state = 'running' AND (lease_expires_at < ? OR lease_owner IS NOT ?)
        """
    /// Running jobs whose lease expired (the partial index `jobs_running`).
    static let rescueExpiredSQL = """
        SELECT id, lease_id, attempts, max_attempts, source, kind, started_at FROM jobs WHERE state = 'running' AND lease_expires_at < ?
        """
    /// Finished jobs old enough to prune (the partial index `jobs_done`: its condition, word for word).
    static let pruneSQL = "SELECT id FROM jobs WHERE state IN ('succeeded', 'cancelled') AND finished_at < ? LIMIT ?"

    /// Deletes succeeded and cancelled jobs (with their audit rows and, for webhook jobs, their
    /// stored deliveries) finished before `before`, in small batches so no long write transaction
    /// blocks enqueues. A delivery whose job is kept (queued, running, quarantined) stays.
    /// - Returns: the number of jobs deleted.
    @discardableResult
    package func prune(finishedBefore before: Date, batchSize: Int = 500) throws -> Int {
        var total = 0
        while true {
            let deleted = try database.pool.write { db -> Int in
                let ids = try Int64.fetchAll(db, sql: Self.pruneSQL, arguments: [before.timeIntervalSince1970, batchSize])
                guard !ids.isEmpty else { return 0 }
                let list = ids.map(String.init).joined(separator: ",")
                try db.execute(sql: "DELETE FROM audit WHERE job_id IN (\(list))")
                // By the delivery's id in the job's args (its primary key): no index on job_id. A
                // delivery sent again after its job was cancelled belongs to the new job: it stays.
                try db.execute(sql: """
                    DELETE FROM webhook_deliveries WHERE id IN (
                        SELECT json_extract(args, '$.delivery') FROM jobs WHERE id IN (\(list)) AND kind = 'webhook')
                        AND job_id IN (\(list))
                    """)
                try db.execute(sql: "DELETE FROM jobs WHERE id IN (\(list))")
                return ids.count
            }
            total += deleted
            if deleted < batchSize { return total }
        }
    }

    /// Moves the due time of a source's queued jobs to `until` (an open circuit breaker defers
    /// them; it never fails or drops them).
    @discardableResult
    package func deferJobs(of source: String, until: Date, now: Date) throws -> Int {
        try database.pool.write { db in
            try db.execute(
                sql: "UPDATE jobs INDEXED BY jobs_claim SET run_at = ?, updated_at = ? WHERE source = ? AND state = 'queued' AND run_at < ?",
                arguments: [until.timeIntervalSince1970, now.timeIntervalSince1970, source, until.timeIntervalSince1970])
            return db.changesCount
        }
    }

    /// The earliest due time among queued jobs of `sources` that a lease could take (nil when
    /// none is queued): a job whose unique key is running waits for that job's end, which wakes
    /// the workers, not for its due time (counted, it made an idle worker pool lease in a busy
    /// loop while its twin ran). Named index: without statistics SQLite would rather walk every
    /// queued job by state.
    package func nextDueTime(sources: Set<String>) throws -> Date? {
        guard !sources.isEmpty else { return nil }
        return try database.pool.read { db in
            let placeholders = Array(repeating: "?", count: sources.count).joined(separator: ",")
            return try Double.fetchOne(
                db, sql: """
                    SELECT min(j.run_at) FROM jobs AS j INDEXED BY jobs_claim
                    WHERE j.state = 'queued' AND j.source IN (\(placeholders))
                      AND (j.unique_key IS NULL OR NOT EXISTS (
                          SELECT 1 FROM jobs AS r WHERE r.state = 'running' AND r.source = j.source AND r.unique_key = j.unique_key))
                    """,
                arguments: StatementArguments(Array(sources)))
        }.map(Date.init(timeIntervalSince1970:))
    }

    /// Jobs queued or running, from the counts the triggers keep (a few rows read).
    package func activeCount() throws -> Int {
        try database.pool.read { db in try Int.fetchOne(db, sql: Self.activeCountSQL) ?? 0 }
    }

    /// Queued and running jobs of every source, from `job_counts`.
    static let activeCountSQL = "SELECT coalesce(sum(n), 0) FROM job_counts WHERE state IN ('queued', 'running')"

    /// Jobs per state (all of them, or of one source), from the counts the triggers keep.
    package func depth(source: String? = nil) throws -> [JobState: Int] {
        try database.pool.read { db in
            let rows = try Row.fetchAll(
                db,
                sql: "SELECT state, sum(n) AS n FROM job_counts WHERE (? IS NULL OR source = ?) GROUP BY state HAVING sum(n) > 0",
                arguments: [source, source])
            var out: [JobState: Int] = [:]
            for row in rows {
                if let state = JobState(rawValue: row["state"]) { out[state] = row["n"] }
            }
            return out
        }
    }

    /// Whether a job of `source` with `uniqueKey` (its sync's) is queued or running. Two
    /// lookups, each in the partial index of its state (`state IN (…)` would walk every queued
    /// and running job).
    package func isActive(source: String, uniqueKey: String) throws -> Bool {
        try database.pool.read { db in
            try Bool.fetchOne(
                db, sql: """
                    SELECT EXISTS (SELECT 1 FROM jobs WHERE source = ?1 AND unique_key = ?2 AND state = 'queued')
                        OR EXISTS (SELECT 1 FROM jobs WHERE source = ?1 AND unique_key = ?2 AND state = 'running')
                    """,
                arguments: [source, uniqueKey]) ?? false
        }
    }
}
