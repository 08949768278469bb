import Foundation
import GRDB
import Testing

@testable import InletCore

@Suite("Reading source_status and the newest audit row per source")
struct SourceStatusStoreTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)
    let directory: TemporaryDirectory
    let database: InletDatabase

    init() throws {
        directory = try TemporaryDirectory()
        database = try InletDatabase(path: directory.file("inlet.db"))
    }

    @Test func readsEveryColumnAndNullsAsNil() throws {
        try database.pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO source_status (source, breaker_state, consecutive_failures, open_until, disabled_reason,
                        stuck_calls, last_sync_at, last_outcome, last_error, last_scheduled_at, next_run_at, updated_at)
                    VALUES ('a', 'open', 4, ?, 'stuck calls', 3, ?, 'failed', 'HTTP 503', ?, ?, ?)
                    """,
                arguments: [start.timeIntervalSince1970 + 60, start.timeIntervalSince1970 - 5, start.timeIntervalSince1970 - 300,
                            start.timeIntervalSince1970 + 120, start.timeIntervalSince1970])
            try db.execute(sql: "INSERT INTO source_status (source, updated_at) VALUES ('b', ?)", arguments: [start.timeIntervalSince1970])
        }
        let store = SourceStatusStore(database: database)
        let all = try store.all()
        #expect(Set(all.keys) == ["a", "b"])
        #expect(all["a"] == SourceStatusStore.Row(
            source: "a", breakerState: "open", consecutiveFailures: 4, openUntil: start.addingTimeInterval(60),
            disabledReason: "stuck calls", stuckCalls: 3, lastSyncAt: start.addingTimeInterval(-5), lastOutcome: "failed",
            lastError: "HTTP 503", lastScheduledAt: start.addingTimeInterval(-300), nextRunAt: start.addingTimeInterval(120),
            updatedAt: start))
        #expect(try store.status(of: "b") == SourceStatusStore.Row(source: "b", updatedAt: start))
        #expect(try store.status(of: "missing") == nil)
    }

    @Test func knownSourcesSpanStatusJobsQuarantineAuditAndCheckpoints() throws {
        _ = try JobQueue(database: database).enqueue(JobRequest(source: "queued"), now: start)
        try database.pool.write { db in
            try db.execute(sql: "INSERT INTO source_status (source, updated_at) VALUES ('status', 0)")
            try db.execute(sql: "INSERT INTO quarantine (source, kind, key, error, created_at) VALUES ('parked', 'item', 'k', 'e', 'now')")
            try db.execute(sql: "INSERT INTO state (source, key, value, updated_at) VALUES ('synced', 'cursor', x'00', 'now')")
            try AuditLog.append(.init(jobID: 9, source: "audited", kind: "sync", attempt: 1, outcome: "ok", durationMilliseconds: 1,
                                      finishedAt: start), in: db)
        }
        #expect(try SourceStatusStore(database: database).knownSources() == ["queued", "status", "parked", "synced", "audited"])
    }

    @Test func latestPerSourceIsTheNewestFinishedAttempt() throws {
        try database.pool.write { db in
            for (job, source, outcome, offset) in [(1, "a", "failed", 10.0), (2, "a", "ok", 30.0), (3, "a", "retry", 20.0), (4, "b", "ok", 5.0)] {
                try AuditLog.append(.init(jobID: Int64(job), source: source, kind: "sync", attempt: 1, outcome: outcome,
                                          durationMilliseconds: 1, finishedAt: start.addingTimeInterval(offset)), in: db)
            }
        }
        let latest = try AuditLog(database: database).latestPerSource()
        #expect(latest.mapValues(\.outcome) == ["a": "ok", "b": "ok"])
        #expect(latest["a"]?.jobID == 2)
        #expect(latest["a"]?.finishedAt == start.addingTimeInterval(30))
    }
}
