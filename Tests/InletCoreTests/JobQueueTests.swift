import Foundation
import GRDB
import Testing

@testable import InletCore

@Suite("Durable job queue on SQLite")
struct JobQueueTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    // Each test gets its own suite instance, so its own database file.
    let directory: TemporaryDirectory
    let database: InletDatabase

    init() throws {
        directory = try TemporaryDirectory()
        database = try InletDatabase(path: directory.file("inlet.db"))
    }

    func queue(maxSize: Int = 100) -> JobQueue { JobQueue(database: database, maxSize: maxSize) }

    @Test func coalescesQueuedJobsWithTheSameUniqueKey() throws {
        let queue = queue()
        let first = try queue.enqueue(JobRequest(source: "a", uniqueKey: "sync:a"), now: start)
        let second = try queue.enqueue(
            JobRequest(source: "a", priority: JobPriority.webhook, uniqueKey: "sync:a"), now: start.addingTimeInterval(1))
        #expect(first == .enqueued(1))
        #expect(second == .coalesced(1))
        let job = try #require(try queue.job(id: 1))
        #expect(job.coalesced == 1)
        #expect(job.priority == JobPriority.webhook)  // the more urgent request wins
        #expect(try queue.depth()[.queued] == 1)
    }

    @Test func uniqueKeysAreEachSourcesOwn() throws {
        // Two sources over the same repository ask for `repo:acme/x`: neither merges into, waits
        // for, or folds in the other's job.
        let queue = queue()
        #expect(try queue.enqueue(JobRequest(source: "a", kind: "repo", uniqueKey: "repo:acme/x"), now: start) == .enqueued(1))
        #expect(try queue.enqueue(JobRequest(source: "b", kind: "repo", uniqueKey: "repo:acme/x"), now: start) == .enqueued(2))
        #expect(try queue.enqueue(JobRequest(source: "a", kind: "repo", uniqueKey: "repo:acme/x"), now: start) == .coalesced(1))
        let running = try queue.lease(capacity: ["a": 1], limit: 1, owner: "w", now: start, leaseFor: .seconds(30))
        #expect(running.map(\.id) == [1])
        #expect(try queue.isActive(source: "a", uniqueKey: "repo:acme/x"))
        #expect(try !queue.isActive(source: "c", uniqueKey: "repo:acme/x"))
        // a's job runs: b's queued one is not its twin, and is leased and due.
        #expect(try queue.nextDueTime(sources: ["b"]) == start)
        #expect(try queue.lease(capacity: ["b": 1], limit: 1, owner: "w", now: start, leaseFor: .seconds(30)).map(\.id) == [2])
        _ = try queue.enqueue(JobRequest(source: "b", kind: "repo", uniqueKey: "repo:acme/x"), now: start)  // b's own twin: 3
        try database.pool.write { db in
            try queue.markRetry(running[0].lease!, runAt: start, error: "again", countsAsAttempt: true, now: start, in: db)
        }
        #expect(try queue.job(id: 3)?.state == .queued)  // not folded into a's job
        #expect(try queue.job(id: 1)?.coalesced == 1)
    }

    @Test func aFullSyncMergedWithAPlainOneStaysFullWhicheverCameFirst() throws {
        let queue = queue()
        _ = try queue.enqueue(JobRequest(source: "a", args: "{}", uniqueKey: "sync:a"), now: start)
        #expect(try queue.enqueue(JobRequest(source: "a", args: #"{"full":true}"#, uniqueKey: "sync:a"), now: start) == .coalesced(1))
        #expect(try queue.job(id: 1)?.args == #"{"full":true}"#)
        #expect(try queue.enqueue(JobRequest(source: "a", args: "{}", uniqueKey: "sync:a"), now: start) == .coalesced(1))
        #expect(try queue.job(id: 1)?.args == #"{"full":true}"#)
        // Keys of both requests are kept; where both name one, the later request's value wins.
        _ = try queue.enqueue(JobRequest(source: "b", args: #"{"repo":"x","since":1}"#, uniqueKey: "k"), now: start)
        _ = try queue.enqueue(JobRequest(source: "b", args: #"{"since":2,"full":true}"#, uniqueKey: "k"), now: start)
        let merged = try #require(try queue.job(id: 2)?.args)
        #expect(try JSONSerialization.jsonObject(with: Data(merged.utf8)) as? NSDictionary == ["repo": "x", "since": 2, "full": true])
    }

    @Test func refusesBeyondMaxSizeButStillCoalesces() throws {
        let queue = queue(maxSize: 2)
        #expect(try queue.enqueue(JobRequest(source: "a", uniqueKey: "k1"), now: start) == .enqueued(1))
        #expect(try queue.enqueue(JobRequest(source: "a"), now: start) == .enqueued(2))
        #expect(try queue.enqueue(JobRequest(source: "a"), now: start) == .full)
        #expect(try queue.enqueue(JobRequest(source: "a", uniqueKey: "k1"), now: start) == .coalesced(1))
    }

    @Test func aReloadedMaxSizeBindsEveryCopyOfTheQueue() throws {
        let queue = queue(maxSize: 1)
        let copy = queue  // the scheduler's and the HTTP surface's are copies
        #expect(try copy.enqueue(JobRequest(source: "a"), now: start) == .enqueued(1))
        #expect(try copy.enqueue(JobRequest(source: "a"), now: start) == .full)
        queue.setMaxSize(3)
        #expect(copy.maxSize == 3)
        #expect(try copy.enqueue(JobRequest(source: "a"), now: start) == .enqueued(2))
    }

    @Test func leasesByPriorityThenDueTimeWithinPerSourceCapacity() throws {
        let queue = queue()
        _ = try queue.enqueue(JobRequest(source: "a", kind: "a-late", priority: 5), now: start)
        _ = try queue.enqueue(JobRequest(source: "a", kind: "a-urgent", priority: 1), now: start.addingTimeInterval(1))
        _ = try queue.enqueue(JobRequest(source: "b", kind: "b", priority: 3), now: start)
        _ = try queue.enqueue(JobRequest(source: "b", kind: "b-future", priority: 1, runAt: start.addingTimeInterval(60)), now: start)
        _ = try queue.enqueue(JobRequest(source: "c", kind: "c-unknown", priority: 1), now: start)

        let now = start.addingTimeInterval(2)
        let leased = try queue.lease(capacity: ["a": 1, "b": 5], limit: 10, owner: "w", now: now, leaseFor: .seconds(30))
        #expect(leased.map(\.kind) == ["a-urgent", "b"])
        #expect(leased.allSatisfy { $0.state == .running && $0.attempts == 1 && $0.leaseOwner == "w" })
        #expect(leased.first?.leaseExpiresAt == now.addingTimeInterval(30))
        // Nothing is claimed twice.
        let again = try queue.lease(capacity: ["a": 1, "b": 5], limit: 10, owner: "w", now: now, leaseFor: .seconds(30))
        #expect(again.map(\.kind) == ["a-late"])
    }

    @Test func oneLeaseClaimsMoreJobsThanOneClaimStatementNames() throws {
        let queue = queue(maxSize: 1000)
        let count = JobQueue.claimChunk * 2 + 12
        for index in 0..<count + 10 { _ = try queue.enqueue(JobRequest(source: index % 2 == 0 ? "a" : "b"), now: start) }
        let leased = try queue.lease(capacity: ["a": count, "b": count], limit: count, owner: "w", now: start, leaseFor: .seconds(30))
        #expect(leased.count == count)
        #expect(leased.map(\.id) == Array(1...Int64(count)))  // the oldest, in order
        #expect(leased.allSatisfy { $0.state == .running && $0.attempts == 1 && $0.leaseOwner == "w" })
        let running = try database.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM jobs WHERE state = 'running' AND lease_owner = 'w' AND attempts = 1")
        }
        #expect(running == count)
        #expect(try queue.depth()[.running] == count)
        #expect(try queue.depth()[.queued] == 10)
        // The batch shares a lease id, and each lease still fences its own job only.
        try database.pool.write { db in
            for job in leased { try queue.markSucceeded(job.lease!, now: start, in: db) }
        }
        #expect(try queue.depth()[.succeeded] == count)
        #expect(throws: JobQueueError.self) {
            try database.pool.write { db in try queue.markSucceeded(leased[0].lease!, now: start, in: db) }
        }
    }

    @Test func aQueuedTwinWaitsWhileItsUniqueKeyRuns() throws {
        let queue = queue()
        _ = try queue.enqueue(JobRequest(source: "a", uniqueKey: "repo:x"), now: start)
        let running = try queue.lease(capacity: ["a": 5], limit: 5, owner: "w", now: start, leaseFor: .seconds(30))
        #expect(running.count == 1)
        // A push arrives while it runs: a new job is queued (not merged into the running one)...
        #expect(try queue.enqueue(JobRequest(source: "a", uniqueKey: "repo:x"), now: start) == .enqueued(2))
        // ...and is not leased while its twin runs.
        #expect(try queue.lease(capacity: ["a": 5], limit: 5, owner: "w", now: start, leaseFor: .seconds(30)).isEmpty)
        try queue.database.pool.write { db in
            try queue.verify(running[0].lease!, in: db)
            try queue.markSucceeded(running[0].lease!, now: start, in: db)
        }
        #expect(try queue.lease(capacity: ["a": 5], limit: 5, owner: "w", now: start, leaseFor: .seconds(30)).map(\.id) == [2])
    }

    @Test func aForegroundSyncLeasesItsSourcesFollowUpsAndOnlyTheDiscoveriesAskedForSinceItStarted() throws {
        let queue = queue()
        let lease = { (since: Date?, at: Date) in
            try queue.leaseFollowUp(source: "a", syncsSince: since, owner: "sync", now: at, leaseFor: .seconds(30))
        }
        let earlier = start.addingTimeInterval(-60)
        // Left for the daemon: a scheduled sync queued before the run, a webhook, another
        // source's job, one not due yet.
        let scheduled = try #require(try queue.enqueue(JobRequest(source: "a", uniqueKey: "sync:a"), now: earlier).jobID)
        _ = try queue.enqueue(JobRequest(source: "a", kind: "webhook", priority: JobPriority.webhook), now: earlier)
        _ = try queue.enqueue(JobRequest(source: "b", kind: "repo"), now: earlier)
        let later = try #require(try queue.enqueue(JobRequest(source: "a", kind: "repo", runAt: start.addingTimeInterval(60)), now: earlier).jobID)
        // Follow-ups, most urgent first; one whose unique key is running waits.
        let low = try #require(try queue.enqueue(JobRequest(source: "a", kind: "repo", priority: 7, uniqueKey: "repo:x"), now: earlier).jobID)
        let high = try #require(try queue.enqueue(JobRequest(source: "a", kind: "repo", priority: 3), now: start).jobID)

        let first = try #require(try lease(start, start))
        #expect(first.id == high && first.state == .running && first.attempts == 1 && first.leaseOwner == "sync")
        let second = try #require(try lease(start, start))
        #expect(second.id == low)
        let twin = try #require(try queue.enqueue(JobRequest(source: "a", kind: "repo", uniqueKey: "repo:x"), now: start).jobID)
        #expect(try lease(start, start) == nil)
        #expect(try queue.waitingFollowUps(source: "a") == 2)  // the twin and the one due later
        try queue.database.pool.write { db in try queue.markSucceeded(second.lease!, now: start, in: db) }
        #expect(try lease(start, start)?.id == twin)

        // A discovery asked for during the run merges into the scheduled sync: that one runs now.
        #expect(try queue.enqueue(JobRequest(source: "a", uniqueKey: "sync:a"), now: start.addingTimeInterval(1)) == .coalesced(scheduled))
        let discovery = try #require(try lease(start, start.addingTimeInterval(1)))
        #expect(discovery.id == scheduled)
        try queue.database.pool.write { db in try queue.markSucceeded(discovery.lease!, now: start.addingTimeInterval(2), in: db) }
        // Once one has run (no `syncsSince`), a discovery that discovery asked for waits for the daemon.
        let another = try #require(try queue.enqueue(JobRequest(source: "a", uniqueKey: "sync:a"), now: start.addingTimeInterval(2)).jobID)
        #expect(try lease(nil, start.addingTimeInterval(2)) == nil)
        #expect(try queue.waitingFollowUps(source: "a") == 1)  // syncs are not counted: the daemon's
        #expect(try lease(nil, start.addingTimeInterval(61))?.id == later)
        #expect(try lease(start, start.addingTimeInterval(61))?.id == another)  // as it would be with a `syncsSince`
    }

    @Test func fencingRefusesACompletionAfterTheLeaseMovedOn() throws {
        let queue = queue()
        _ = try queue.enqueue(JobRequest(source: "a"), now: start)
        let first = try queue.lease(capacity: ["a": 1], limit: 1, owner: "slow", now: start, leaseFor: .seconds(30))[0]
        // The slow worker's lease expires; the job is rescued and leased again.
        let rescued = try queue.rescue(now: start.addingTimeInterval(31))
        #expect(rescued.requeued == [first.id])
        let second = try queue.lease(capacity: ["a": 1], limit: 1, owner: "fast", now: start.addingTimeInterval(31), leaseFor: .seconds(30))[0]
        #expect(second.attempts == 2)
        #expect(throws: JobQueueError.self) {
            try queue.database.pool.write { db in try queue.verify(first.lease!, in: db) }
        }
        // The completion fences by itself: the slow worker's success is refused and changes nothing.
        let refusal = #expect(throws: JobQueueError.self) {
            try queue.database.pool.write { db in try queue.markSucceeded(first.lease!, now: start.addingTimeInterval(32), in: db) }
        }
        #expect(refusal?.code == .leaseLost)
        let stillRunning = try #require(try queue.job(id: first.id))
        #expect(stillRunning.state == .running)
        #expect(stillRunning.lease?.leaseID == second.lease?.leaseID)
        #expect(try queue.heartbeat([first.lease!, second.lease!], now: start.addingTimeInterval(32), leaseFor: .seconds(30)) == [first.lease!])
    }

    @Test func aCrashTracedToOneJobChargesItAloneAfterItsBackoffAndSparesTheOthers() throws {
        let queue = queue()
        let culprit = try #require(try queue.enqueue(JobRequest(source: "a", maxAttempts: 3), now: start).jobID)
        let bystander = try #require(try queue.enqueue(JobRequest(source: "b", maxAttempts: 1), now: start).jobID)
        #expect(try queue.lease(capacity: ["a": 1, "b": 1], limit: 2, owner: "dead", now: start, leaseFor: .seconds(30)).count == 2)
        let report = try queue.rescue(
            now: start.addingTimeInterval(1), notOwnedBy: "new", crashed: [culprit: SIGSEGV],
            retry: ["a": SourceConfig.Retry(maxAttempts: 3, backoff: .seconds(8), maxBackoff: .seconds(8))])
        #expect(report.requeued == [culprit] && report.spared == [bystander] && report.quarantined.isEmpty)
        let charged = try #require(try queue.job(id: culprit))
        #expect(charged.attempts == 1 && charged.lastError == "attempt 1 crashed the process: SIGSEGV in its plugin call")
        // It waits out its backoff (full jitter: up to 8 s); the bystander runs at once.
        #expect(charged.runAt > start.addingTimeInterval(1) - 0.001 && charged.runAt <= start.addingTimeInterval(9))
        let spared = try #require(try queue.job(id: bystander))
        #expect(spared.state == .queued && spared.attempts == 0 && spared.runAt == start.addingTimeInterval(1))
        #expect(try AuditLog(database: database).entries(jobID: culprit).map(\.outcome) == ["crashed"])
        #expect(try AuditLog(database: database).entries(jobID: bystander).isEmpty)
    }

    /// A kill -9 (no crash line): the job whose call had started is charged; the ones leased
    /// ahead of their workers, whose calls never started, go back uncounted, even at one attempt.
    @Test func afterAKillOnlyJobsWhoseCallStartedAreCharged() throws {
        let queue = queue()
        let running = try #require(try queue.enqueue(JobRequest(source: "a", maxAttempts: 3), now: start).jobID)
        let ahead = try #require(try queue.enqueue(JobRequest(source: "a", maxAttempts: 1), now: start).jobID)
        #expect(try queue.lease(capacity: ["a": 2], limit: 2, owner: "dead", now: start, leaseFor: .seconds(30)).count == 2)
        let report = try queue.rescue(now: start.addingTimeInterval(1), notOwnedBy: "new", started: [running, 999])
        #expect(report.requeued == [running] && report.spared == [ahead] && report.quarantined.isEmpty)
        #expect(try queue.job(id: running)?.attempts == 1)
        let spared = try #require(try queue.job(id: ahead))
        #expect(spared.state == .queued && spared.attempts == 0)
        #expect(spared.lastError?.contains("leased ahead") == true)
        #expect(try AuditLog(database: database).entries(jobID: running).map(\.outcome) == ["interrupted"])
        #expect(try AuditLog(database: database).entries(jobID: ahead).isEmpty)
    }

    @Test func aCrashedAttemptCountsAndTheLastOneQuarantines() throws {
        let queue = queue()
        _ = try queue.enqueue(JobRequest(source: "a", maxAttempts: 2), now: start)
        for round in 0..<2 {
            let time = start.addingTimeInterval(Double(round) * 100)
            #expect(try queue.lease(capacity: ["a": 1], limit: 1, owner: "dead-\(round)", now: time, leaseFor: .seconds(30)).count == 1)
            // The daemon dies; a new one starts and rescues everything a dead owner held.
            let report = try queue.rescue(now: time.addingTimeInterval(1), notOwnedBy: "new")
            #expect(round == 0 ? report.requeued == [1] : report.quarantined == [1])
        }
        let job = try #require(try queue.job(id: 1))
        #expect(job.state == .quarantined)
        #expect(job.lastError?.contains("out of attempts (2/2)") == true)
        let quarantine = QuarantineStore(database: queue.database, queue: queue)
        let entries = try quarantine.list()
        #expect(entries.map(\.jobID) == [1])
        #expect(entries.first?.kind == "job")
        // Each cut-short attempt has its audit row, and the source's last outcome says so.
        let attempts = try AuditLog(database: database).entries(jobID: 1)
        #expect(attempts.map(\.outcome) == ["interrupted", "interrupted"])
        #expect(attempts.map(\.attempt) == [1, 2])
        #expect(attempts.map(\.durationMilliseconds) == [1000, 1000])
        #expect(attempts.last?.error?.contains("ended without an answer") == true)
        let status = try database.pool.read { db in
            try Row.fetchOne(db, sql: "SELECT last_outcome, last_sync_at FROM source_status WHERE source = 'a'")
        }
        #expect(status?["last_outcome"] as String? == "quarantined")  // its last attempt's fate
        #expect(status?["last_sync_at"] as Double? == start.addingTimeInterval(101).timeIntervalSince1970)

        // Round trip: a retried quarantined job starts with fresh attempts and leaves the quarantine.
        #expect(try quarantine.retry(id: entries[0].id, now: start.addingTimeInterval(500)) == .jobRequeued(1))
        let retried = try #require(try queue.job(id: 1))
        #expect(retried.state == .queued)
        #expect(retried.attempts == 0)
        #expect(try quarantine.list().isEmpty)
    }

    @Test func retryGivesBackTheAttemptOfARateLimitAndFoldsInAQueuedTwin() throws {
        let queue = queue()
        _ = try queue.enqueue(JobRequest(source: "a", uniqueKey: "k"), now: start)
        let job = try queue.lease(capacity: ["a": 1], limit: 1, owner: "w", now: start, leaseFor: .seconds(30))[0]
        let twin = try queue.enqueue(JobRequest(source: "a", args: #"{"full":true}"#, priority: 2, uniqueKey: "k"), now: start)
        try queue.database.pool.write { db in
            try queue.verify(job.lease!, in: db)
            try queue.markRetry(job.lease!, runAt: start.addingTimeInterval(42), error: "rate limited", countsAsAttempt: false, now: start, in: db)
        }
        let after = try #require(try queue.job(id: job.id))
        #expect(after.state == .queued)
        #expect(after.attempts == 0)
        #expect(after.priority == 2)
        #expect(after.coalesced == 1)
        #expect(after.runAt == start)  // the twin's request wanted it now
        #expect(after.args == #"{"full":true}"#)  // and it asked for a full sync
        #expect(try queue.depth()[.queued] == 1)
        // Whoever was told the twin's id still finds it, pointing at the job that carries it on.
        let twinID = try #require(twin.jobID)
        let folded = try #require(try queue.job(id: twinID))
        #expect(folded.state == .cancelled)
        #expect(folded.lastError?.contains("merged into job \(job.id)") == true)
    }

    @Test func cancelRetryAndPrune() throws {
        let queue = queue()
        _ = try queue.enqueue(JobRequest(source: "a"), now: start)
        _ = try queue.enqueue(JobRequest(source: "a"), now: start)
        #expect(try queue.cancel(id: 1, now: start).state == .cancelled)
        #expect(throws: JobQueueError.self) { try queue.cancel(id: 1, now: start) }
        #expect(throws: JobQueueError.self) { try queue.retry(id: 2, now: start) }
        let retried = try queue.retry(id: 1, now: start)
        #expect(retried.state == .queued)
        #expect(retried.lastError == nil)  // the cancelled attempt's error is not the retry's
        _ = try queue.cancel(id: 1, now: start)
        #expect(try queue.prune(finishedBefore: start.addingTimeInterval(1), batchSize: 1) == 1)
        #expect(try queue.job(id: 1) == nil)
        #expect(try queue.job(id: 2) != nil)
    }

    @Test func deferMovesOnlyEarlierQueuedJobs() throws {
        let queue = queue()
        _ = try queue.enqueue(JobRequest(source: "a"), now: start)
        _ = try queue.enqueue(JobRequest(source: "a", runAt: start.addingTimeInterval(600)), now: start)
        _ = try queue.enqueue(JobRequest(source: "b"), now: start)
        #expect(try queue.deferJobs(of: "a", until: start.addingTimeInterval(60), now: start) == 1)
        #expect(try queue.job(id: 1)?.runAt == start.addingTimeInterval(60))
        #expect(try queue.nextDueTime(sources: ["a"]) == start.addingTimeInterval(60))
        #expect(try queue.nextDueTime(sources: ["a", "b"]) == start)
    }

    @Test func aQueuedJobWhoseTwinRunsIsNotDueUntilTheTwinEnds() throws {
        let queue = queue()
        _ = try queue.enqueue(JobRequest(source: "a", uniqueKey: "k"), now: start)
        let running = try queue.lease(capacity: ["a": 1], limit: 1, owner: "w", now: start, leaseFor: .seconds(30))[0]
        _ = try queue.enqueue(JobRequest(source: "a", uniqueKey: "k"), now: start)  // its twin, due now
        // Nothing a lease could take: an idle pool must sleep, not lease in a loop.
        #expect(try queue.nextDueTime(sources: ["a"]) == nil)
        #expect(try queue.lease(capacity: ["a": 1], limit: 1, owner: "w", now: start, leaseFor: .seconds(30)).isEmpty)
        _ = try queue.enqueue(JobRequest(source: "a", runAt: start.addingTimeInterval(5)), now: start)
        #expect(try queue.nextDueTime(sources: ["a"]) == start.addingTimeInterval(5))
        try database.pool.write { db in try queue.markSucceeded(running.lease!, now: start, in: db) }
        #expect(try queue.nextDueTime(sources: ["a"]) == start)
    }

    /// What `depth` and `activeCount` must say: a count over the jobs themselves.
    private func counted(source: String? = nil) throws -> [JobState: Int] {
        try database.pool.read { db in
            var out: [JobState: Int] = [:]
            for row in try Row.fetchAll(
                db, sql: "SELECT state, count(*) AS n FROM jobs WHERE (? IS NULL OR source = ?) GROUP BY state", arguments: [source, source])
            {
                out[JobState(rawValue: row["state"])!] = row["n"]
            }
            return out
        }
    }

    @Test func theCountsTheTriggersKeepFollowEveryTransition() throws {
        let queue = queue()
        func check(_ step: String) throws {
            for source in [nil, "a", "b"] {
                #expect(try queue.depth(source: source) == counted(source: source), "after \(step), source \(source ?? "all")")
            }
            let active = try counted()
            #expect(try queue.activeCount() == active[.queued, default: 0] + active[.running, default: 0], "after \(step)")
        }
        for source in ["a", "a", "a", "b", "b"] { _ = try queue.enqueue(JobRequest(source: source, maxAttempts: 1), now: start) }
        _ = try queue.enqueue(JobRequest(source: "a", uniqueKey: "k"), now: start)
        _ = try queue.enqueue(JobRequest(source: "a", uniqueKey: "k"), now: start)  // coalesced: no new row
        try check("enqueue")
        let leased = try queue.lease(capacity: ["a": 3, "b": 2], limit: 5, owner: "w", now: start, leaseFor: .seconds(30))
        try check("lease")
        try database.pool.write { db in
            try queue.markSucceeded(leased[0].lease!, now: start, in: db)
            try queue.markRetry(leased[1].lease!, runAt: start, error: "again", countsAsAttempt: false, now: start, in: db)
            try queue.markQuarantined(jobID: leased[2].id, leaseID: leased[2].lease!.leaseID, error: "no", now: start, in: db)
        }
        try check("succeeded, retry, quarantine")
        _ = try queue.cancel(id: leased[3].id, now: start)
        try check("cancel")
        #expect(try queue.rescue(now: start.addingTimeInterval(60)).quarantined.count == 1)  // out of its one attempt
        try check("rescue")
        _ = try queue.retry(id: leased[3].id, now: start)
        try check("retry")
        _ = try queue.cancel(id: leased[3].id, now: start)
        #expect(try queue.prune(finishedBefore: start.addingTimeInterval(1)) == 2)
        try check("prune")
        #expect(try queue.depth()[.succeeded] == nil)
        // The bound reads the same counts.
        let small = JobQueue(database: database, maxSize: try queue.activeCount())
        #expect(try small.enqueue(JobRequest(source: "c"), now: start) == .full)
    }

    @Test func aDatabaseOfTheEarlierSchemaGetsItsCountsWhenMigrated() throws {
        let path = directory.file("old.db")
        do {
            let pool = try DatabasePool(path: path)
            try InletDatabase.migrator.migrate(pool, upTo: "v5-http-cache")
            try pool.write { db in
                for (source, state) in [("a", "queued"), ("a", "queued"), ("a", "running"), ("b", "succeeded"), ("b", "queued")] {
                    try db.execute(sql: """
                        INSERT INTO jobs (source, kind, run_at, state, max_attempts, created_at, updated_at)
                        VALUES (?, 'sync', 0, ?, 3, 0, 0)
                        """, arguments: [source, state])
                }
            }
        }
        let migrated = JobQueue(database: try InletDatabase(path: path))
        #expect(try migrated.depth() == [.queued: 3, .running: 1, .succeeded: 1])
        #expect(try migrated.depth(source: "a") == [.queued: 2, .running: 1])
        #expect(try migrated.activeCount() == 4)
    }

    @Test func itemsAnEarlierBuildQuarantinedOverAndOverFoldIntoOneEntryEach() throws {
        let path = directory.file("v10.db")
        do {
            let pool = try DatabasePool(path: path)
            try InletDatabase.migrator.migrate(pool, upTo: "v10-unique-keys-per-source")
            try pool.write { db in
                for (source, kind, key, error, at) in [
                    ("a", "item", "bad.txt", "first", "2026-01-01"), ("a", "item", "ok.txt", "once", "2026-01-01"),
                    ("a", "item", "bad.txt", "second", "2026-01-02"), ("b", "item", "bad.txt", "other source", "2026-01-02"),
                    ("a", "job", "bad.txt", "a job", "2026-01-02"), ("a", "item", "bad.txt", "third", "2026-01-03"),
                ] {
                    try db.execute(
                        sql: "INSERT INTO quarantine (source, kind, key, error, bytes, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                        arguments: [source, kind, key, error, Data(error.utf8), at])
                }
            }
        }
        let database = try InletDatabase(path: path)
        let entries = try QuarantineStore(database: database, queue: JobQueue(database: database)).list().sorted { $0.id < $1.id }
        #expect(entries.map(\.id) == [1, 2, 4, 5])
        // The first entry stays, with the newest error and bytes, and how often it was seen.
        #expect(entries[0].error == "third" && entries[0].bytes == Array("third".utf8))
        #expect(entries[0].seen == 3 && entries[0].createdAt == "2026-01-01" && entries[0].lastSeenAt == "2026-01-03")
        #expect(entries[1...].allSatisfy { $0.seen == 1 && $0.lastSeenAt == $0.createdAt })
        // From now on the same item updates its entry.
        try database.pool.write { db in
            var batch = StagedBatch()
            batch.quarantine(.init(key: "bad.txt", error: "fourth", bytes: nil))
            _ = try BatchCommitter(database: database).apply(batch, source: "a", now: Date(), in: db)
        }
        let again = try #require(try QuarantineStore(database: database, queue: JobQueue(database: database)).entry(id: 1))
        #expect(again.seen == 4 && again.error == "fourth" && again.bytes == nil)
    }

    @Test func theAuditRebuiltByJobKeepsEachJobsRowsInOrderAndCountsOnFromThem() throws {
        let path = directory.file("v8.db")
        do {
            let pool = try DatabasePool(path: path)
            try InletDatabase.migrator.migrate(pool, upTo: "v8-jobs-running-and-done-indexes")
            try pool.write { db in
                // Two jobs' attempts interleaved, as a retried job's are with others'.
                for (job, attempt, outcome) in [(7, 1, "retry"), (9, 1, "succeeded"), (7, 2, "timed_out"), (7, 3, "succeeded")] {
                    try db.execute(sql: """
                        INSERT INTO audit (job_id, source, kind, attempt, outcome, duration_ms, finished_at)
                        VALUES (?, 'a', 'sync', ?, ?, 5, ?)
                        """, arguments: [job, attempt, outcome, Double(attempt)])
                }
            }
        }
        let database = try InletDatabase(path: path)
        let audit = AuditLog(database: database)
        #expect(try audit.entries(jobID: 7).map(\.outcome) == ["retry", "timed_out", "succeeded"])
        #expect(try audit.entries(jobID: 9).map(\.attempt) == [1])
        // A job retried from quarantine starts its attempts at 1 again: its rows still append.
        try database.pool.write { db in
            try AuditLog.append(
                AuditLog.Entry(jobID: 7, source: "a", kind: "sync", attempt: 1, outcome: "failed", durationMilliseconds: 1,
                               finishedAt: start), in: db)
        }
        #expect(try audit.entries(jobID: 7).map(\.outcome) == ["retry", "timed_out", "succeeded", "failed"])
        let leftovers = try database.pool.read { db in
            try Int.fetchOne(db, sql: """
                SELECT (SELECT count(*) FROM sqlite_sequence WHERE name = 'audit')
                    + (SELECT count(*) FROM sqlite_master WHERE name = 'audit_by_job')
                """)
        }
        #expect(leftovers == 0)
    }

    @Test func theJobsTableRebuiltForItsStateCheckKeepsJobsIdsSequenceAndCounts() throws {
        let path = directory.file("v6.db")
        var ids: [Int64] = []
        do {
            let pool = try DatabasePool(path: path)
            try InletDatabase.migrator.migrate(pool, upTo: "v6-job-counts")
            try pool.write { db in
                for (source, state, key) in [("a", "queued", "sync:a"), ("a", "running", nil), ("b", "succeeded", nil), ("b", "queued", nil)] {
                    try db.execute(sql: """
                        INSERT INTO jobs (source, kind, run_at, state, max_attempts, unique_key, lease_id, created_at, updated_at)
                        VALUES (?, 'sync', 0, ?, 3, ?, ?, 0, 0)
                        """, arguments: [source, state, key, state == "running" ? 7 : nil])
                    ids.append(db.lastInsertedRowID)
                }
                // The newest job was pruned: its id must never come back.
                try db.execute(sql: "INSERT INTO jobs (source, kind, run_at, state, max_attempts, created_at, updated_at) VALUES ('b', 'sync', 0, 'cancelled', 3, 0, 0)")
                try db.execute(sql: "DELETE FROM jobs WHERE id = ?", arguments: [db.lastInsertedRowID])
            }
        }
        let migrated = JobQueue(database: try InletDatabase(path: path))
        let kept = try migrated.list(limit: 10).sorted { $0.id < $1.id }
        #expect(kept.map(\.id) == ids)
        #expect(kept.map(\.state) == [.queued, .running, .succeeded, .queued])
        #expect(kept[0].uniqueKey == "sync:a")
        #expect(try migrated.depth() == [.queued: 2, .running: 1, .succeeded: 1])
        // The indexes and triggers are back: coalescing, leasing and counting work as before.
        #expect(try migrated.enqueue(JobRequest(source: "a", uniqueKey: "sync:a"), now: start) == .coalesced(ids[0]))
        #expect(try migrated.enqueue(JobRequest(source: "c"), now: start) == .enqueued(ids[3] + 2))
        let leased = try migrated.lease(capacity: ["c": 1], limit: 1, owner: "w", now: start, leaseFor: .seconds(30))
        #expect(leased.map(\.id) == [ids[3] + 2])
        #expect(try migrated.depth(source: "c") == [.running: 1])
        // The check still refuses a state that does not exist.
        #expect(throws: (any Error).self) {
            try migrated.database.pool.write { db in
                try db.execute(sql: "UPDATE jobs SET state = 'lost' WHERE id = ?", arguments: [ids[0]])
            }
        }
    }

    @Test func writingAJobsStateBuildsNoEphemeralTable() throws {
        // An IN list in a CHECK made SQLite build and free a b-tree for every row written. On the
        // writer: a read-only connection compiles no CHECK code at all.
        let statements = [
            "INSERT INTO jobs (source, kind, run_at, state, max_attempts, created_at, updated_at) VALUES ('a', 'sync', 0, 'queued', 3, 0, 0)",
            "UPDATE jobs SET state = 'running', attempts = attempts + 1 WHERE id = 1 AND state = 'queued'",
            "UPDATE jobs SET state = 'succeeded', finished_at = 0 WHERE id = 1",
        ]
        try database.pool.write { db in
            for sql in statements {
                let opcodes = try Row.fetchAll(db, sql: "EXPLAIN \(sql)").map { $0["opcode"] as String }
                #expect(!opcodes.isEmpty)
                #expect(!opcodes.contains("OpenEphemeral"), "\(sql)")
            }
        }
    }

    @Test func rescueAndPruningFindTheirJobsInTheirPartialIndexes() throws {
        // Without them both would read every retained job, on every maintenance round.
        let plans: [(sql: String, index: String)] = [
            (JobQueue.rescueForeignSQL, "jobs_running"), (JobQueue.rescueExpiredSQL, "jobs_running"), (JobQueue.pruneSQL, "jobs_done"),
        ]
        try database.pool.read { db in
            for (sql, index) in plans {
                let plan = try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN \(sql)", arguments: StatementArguments(Array(repeating: 0, count: sql.filter { $0 == "?" }.count)))
                    .map { $0["detail"] as String }.joined(separator: "; ")
                #expect(plan.contains("USING INDEX \(index)"), "\(sql): \(plan)")
            }
        }
    }

    @Test func pruningAFinishedWebhookJobDeletesItsStoredDeliveryAndKeepsTheOthers() throws {
        let queue = queue()
        func store(_ id: String) throws -> (delivery: Int64, job: Int64) {
            let outcome = try database.pool.write { db in
                try WebhookDelivery.store(
                    source: "gh", deliveryID: id, event: "push", headers: "{}", body: Array("{}".utf8), maxAttempts: 3,
                    queue: queue, now: start, in: db)
            }
            guard case .queued(let delivery, let job) = outcome else { throw JobQueueError(.leaseLost, "not stored") }
            return (delivery, job)
        }
        let done = try store("d-1")
        let quarantined = try store("d-2")
        let queued = try store("d-3")
        _ = try queue.enqueue(JobRequest(source: "gh"), now: start)  // a sync job: no delivery
        let leased = try queue.lease(capacity: ["gh": 2], limit: 2, owner: "w", now: start, leaseFor: .seconds(30))
        try #require(leased.map(\.id) == [done.job, quarantined.job])
        try database.pool.write { db in
            try queue.markSucceeded(leased[0].lease!, now: start, in: db)
            try queue.markQuarantined(jobID: quarantined.job, leaseID: leased[1].lease!.leaseID, error: "no", now: start, in: db)
        }
        #expect(try queue.prune(finishedBefore: start.addingTimeInterval(1)) == 1)
        let left = try database.pool.read { db in try Int64.fetchAll(db, sql: "SELECT id FROM webhook_deliveries ORDER BY id") }
        #expect(left == [quarantined.delivery, queued.delivery])
        // Its delivery id is free again (a redelivery after the retention is taken as new).
        #expect(try store("d-1").delivery > queued.delivery)
    }
}
