import Foundation
import Testing

@testable import InletCore

@Suite("Jobs leased ahead wait for their source's slot")
struct LeaseBufferTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)
    let directory: TemporaryDirectory
    let queue: JobQueue

    init() throws {
        directory = try TemporaryDirectory()
        queue = JobQueue(database: try InletDatabase(path: directory.file("inlet.db")))
    }

    /// Enqueues (source, kind, priority) and leases them all in one batch, as a worker pool does.
    private func lease(_ jobs: [(String, String, Int)]) throws -> [Job] {
        for (source, kind, priority) in jobs {
            _ = try queue.enqueue(JobRequest(source: source, kind: kind, priority: priority), now: start)
        }
        let capacity = Dictionary(jobs.map { ($0.0, 100) }, uniquingKeysWith: +)
        return try queue.lease(capacity: capacity, limit: 100, owner: "w", now: start, leaseFor: .seconds(30))
    }

    @Test func aSourceRunsNoMoreThanItsConcurrencyWhateverIsLeasedAhead() throws {
        var buffer = LeaseBuffer()
        buffer.concurrency = ["a": 1, "b": 2]
        buffer.add(try lease([("a", "a1", 5), ("a", "a2", 5), ("a", "a3", 5), ("b", "b1", 5), ("b", "b2", 5), ("b", "b3", 5)]))

        // Four free workers: one job of `a`, two of `b`; the rest wait for a slot of their source.
        #expect(buffer.take(upTo: 4).map(\.kind) == ["a1", "b1", "b2"])
        #expect(buffer.take(upTo: 4).isEmpty)
        buffer.ended(source: "b")
        #expect(buffer.take(upTo: 4).map(\.kind) == ["b3"])
        buffer.ended(source: "a")
        #expect(buffer.take(upTo: 4).map(\.kind) == ["a2"])
        #expect(buffer.ready.map(\.kind) == ["a3"])
        #expect(buffer.executing == ["a": 1, "b": 2])
    }

    @Test func anUrgentJobLeasedLaterStartsBeforeTheJobsLeasedAheadOfIt() throws {
        var buffer = LeaseBuffer()
        buffer.concurrency = ["a": 1, "b": 1]
        buffer.add(try lease([("a", "sync-1", 5), ("a", "sync-2", 5)]))
        buffer.add(try lease([("a", "webhook", 1)]))
        #expect(buffer.take(upTo: 1).map(\.kind) == ["webhook"])
        // A free worker skips a busy source's jobs for another source's.
        buffer.add(try lease([("b", "other", 9)]))
        #expect(buffer.take(upTo: 1).map(\.kind) == ["other"])
    }

    @Test func givingBackASourcesJobsLeavesTheOthers() throws {
        var buffer = LeaseBuffer()
        buffer.add(try lease([("a", "a1", 5), ("b", "b1", 5), ("a", "a2", 5)]))
        #expect(buffer.removeReady(of: "a").map(\.kind) == ["a1", "a2"])
        #expect(buffer.ready.map(\.kind) == ["b1"])
        let b1 = try #require(buffer.ready.first)
        #expect(buffer.remove(jobID: b1.id)?.kind == "b1")
        #expect(buffer.removeReady(of: nil).isEmpty)
    }
}
