import Foundation
import GRDB
import Testing

@testable import InletCore

@Suite("Group commit of job transitions")
struct GroupCommitterTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)
    let directory: TemporaryDirectory
    let database: InletDatabase

    init() throws {
        directory = try TemporaryDirectory()
        database = try InletDatabase(path: directory.file("inlet.db"))
    }

    /// Holds the writer on a thread of its own until the returned semaphore is signalled, so that
    /// the writes sent meanwhile wait for one shared transaction.
    private func holdWriter() async -> DispatchSemaphore {
        let holding = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        Thread { [database] in try? database.pool.write { _ in holding.signal(); release.wait() } }.start()
        await withCheckedContinuation { continuation in
            Thread { holding.wait(); continuation.resume() }.start()
        }
        return release
    }

    @Test func aLeaseAndCompletionsWaitingForTheWriterShareOneCommitAndALostLeaseRollsBackAlone() async throws {
        let queue = JobQueue(database: database)
        for source in ["a", "a", "b"] { _ = try queue.enqueue(JobRequest(source: source), now: start) }
        let held = try queue.lease(capacity: ["a": 2], limit: 2, owner: "w", now: start, leaseFor: .seconds(30))
        try #require(held.count == 2)
        let kept = try #require(held[0].lease)
        let lost = try #require(held[1].lease)
        // The second job's lease moves on (rescued and leased elsewhere): its completion must not commit.
        try await database.pool.write { db in
            try db.execute(sql: "UPDATE jobs SET lease_id = lease_id + 1 WHERE id = ?", arguments: [lost.jobID])
        }

        // Another transaction holds the writer while a completion, a refused completion and a lease arrive.
        let group = GroupCommitter(database: database)
        let release = await holdWriter()
        let before = group.transactions
        let start = self.start
        async let completed: Void = group.write { db in
            try queue.verify(kept, in: db)
            try queue.markSucceeded(kept, now: start, in: db)
            try AuditLog.append(.init(jobID: kept.jobID, source: "a", kind: "sync", attempt: 1, outcome: "succeeded",
                                      durationMilliseconds: 0, finishedAt: start), in: db)
        }
        async let refused: Void = group.write { db in
            // Written before the fencing check fails: rolled back with the rest of this job's savepoint.
            try AuditLog.append(.init(jobID: lost.jobID, source: "a", kind: "sync", attempt: 1, outcome: "succeeded",
                                      durationMilliseconds: 0, finishedAt: start), in: db)
            try queue.verify(lost, in: db)
            try queue.markSucceeded(lost, now: start, in: db)
        }
        async let leased = group.write { db in
            try queue.lease(capacity: ["b": 1], limit: 1, owner: "w", now: start, leaseFor: .seconds(30), in: db)
        }
        // Waits (no timing asserted) until all three queue behind the writer, then lets it go.
        while group.pendingCount < 3 { try await Task.sleep(for: .milliseconds(1)) }
        release.signal()

        try await completed
        var refusal: (any Error)?
        do { try await refused } catch { refusal = error }
        let newLeases = try await leased
        #expect((refusal as? JobQueueError)?.code == .leaseLost)
        #expect(group.transactions == before + 1)

        #expect(try queue.job(id: kept.jobID)?.state == .succeeded)
        let other = try #require(try queue.job(id: lost.jobID))
        #expect(other.state == .running && other.leaseID == lost.leaseID + 1)
        let audit = AuditLog(database: database)
        #expect(try audit.entries(jobID: kept.jobID).count == 1)
        #expect(try audit.entries(jobID: lost.jobID).isEmpty)
        #expect(newLeases.map(\.source) == ["b"])
        #expect(try queue.job(id: newLeases[0].id)?.state == .running)
    }

    @Test func aLoneFailingWriteRollsBackAllItWroteAndTheNextCommits() async throws {
        let queue = JobQueue(database: database)
        _ = try queue.enqueue(JobRequest(source: "a"), now: start)
        let job = try #require(try queue.lease(capacity: ["a": 1], limit: 1, owner: "w", now: start, leaseFor: .seconds(30)).first)
        let lease = try #require(job.lease)
        let stale = Lease(jobID: lease.jobID, leaseID: lease.leaseID + 1, attempt: lease.attempt)
        let group = GroupCommitter(database: database, leaderCommits: true)
        let start = self.start
        let entry = AuditLog.Entry(jobID: lease.jobID, source: "a", kind: "sync", attempt: 1, outcome: "succeeded",
                                   durationMilliseconds: 0, finishedAt: start)
        var refusal: (any Error)?
        do {
            // Alone in its transaction: written, then refused by the fencing check.
            try await group.write { db in
                try AuditLog.append(entry, in: db)
                try queue.verify(stale, in: db)
            }
        } catch {
            refusal = error
        }
        #expect((refusal as? JobQueueError)?.code == .leaseLost)
        #expect(try AuditLog(database: database).entries(jobID: lease.jobID).isEmpty)

        try await group.write { db in
            try queue.verify(lease, in: db)
            try queue.markSucceeded(lease, now: start, in: db)
            try AuditLog.append(entry, in: db)
        }
        #expect(try queue.job(id: lease.jobID)?.state == .succeeded)
        #expect(try AuditLog(database: database).entries(jobID: lease.jobID).count == 1)
    }

    @Test func aSavepointWhoseJournalOutgrowsTheSpillSizeRollsBackAloneFromMemory() async throws {
        // 100 rows of 4 KB: the second item rewrites 100 pages the first made dirty, so its
        // savepoint journal holds ~400 KB (SQLite spilled past 64 KB to a temp file before).
        try await database.pool.write { db in
            #expect(try Int.fetchOne(db, sql: "PRAGMA temp_store") == 2)  // MEMORY
            try db.execute(sql: "CREATE TABLE scratch (id INTEGER PRIMARY KEY, tag TEXT, body BLOB)")
            for id in 0..<100 { try db.execute(sql: "INSERT INTO scratch VALUES (?, 'start', zeroblob(4000))", arguments: [id]) }
        }
        struct Refused: Error {}
        let group = GroupCommitter(database: database)
        let release = await holdWriter()
        async let first: Void = group.write { db in try db.execute(sql: "UPDATE scratch SET tag = 'first', body = randomblob(4000)") }
        while group.pendingCount < 1 { try await Task.sleep(for: .milliseconds(1)) }
        async let second: Void = group.write { db in
            try db.execute(sql: "UPDATE scratch SET tag = 'second', body = randomblob(4000)")
            throw Refused()
        }
        while group.pendingCount < 2 { try await Task.sleep(for: .milliseconds(1)) }
        async let third: Void = group.write { db in try db.execute(sql: "INSERT INTO scratch VALUES (100, 'third', NULL)") }
        while group.pendingCount < 3 { try await Task.sleep(for: .milliseconds(1)) }
        let before = group.transactions
        release.signal()

        try await first
        var refusal: (any Error)?
        do { try await second } catch { refusal = error }
        #expect(refusal is Refused)
        try await third
        #expect(group.transactions == before + 1)
        let tags = try await database.pool.read { db in try String.fetchAll(db, sql: "SELECT DISTINCT tag FROM scratch ORDER BY tag") }
        #expect(tags == ["first", "third"])
    }
}
