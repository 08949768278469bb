import Foundation
import GRDB
import Testing

/// `inlet jobs`, `inlet quarantine` and `inlet status` run as an operator runs them, on a database
/// the test fills with SQL (as the daemon would have), checked by their output and by the rows.
@Suite("Operator commands: jobs, quarantine, status")
struct OperatorCommandsTests {
    let now = Date().timeIntervalSince1970

    static let config = """
        data_dir: ./var
        plugins: [./plugins]
        queue:
          max_size: 200
        sources:
          - name: files
            connector: folder
            schedule: every 5m
            retry: { max_attempts: 7 }
            config: { path: ./tree }
          - name: web
            connector: folder
            enabled: false
            config: { path: ./web }
        """

    /// A world with the config and an empty, migrated database: an empty file (an empty SQLite
    /// database) that `inlet status` opens and migrates, as it would the daemon's.
    func world() throws -> InletWorld {
        let world = try InletWorld()
        try world.write("inlet.yaml", Self.config)
        try world.write("var/inlet.db", Data())
        let migrated = try world.inlet(["status", "-c", "inlet.yaml"])
        guard migrated.status == 0 else { throw TestFailure("could not migrate the database: \(migrated.stderr)") }
        return world
    }

    func writable(_ world: InletWorld) throws -> DatabaseQueue {
        try DatabaseQueue(path: world.path("var/inlet.db"))
    }

    @discardableResult
    func insertJob(
        _ db: Database, source: String = "files", kind: String = "sync", args: String = "{}", state: String,
        priority: Int = 5, runAt: Double? = nil, attempts: Int = 0, maxAttempts: Int = 5, uniqueKey: String? = nil,
        lastError: String? = nil, leaseID: Int64? = nil, finishedAt: Double? = nil
    ) throws -> Int64 {
        let running = state == "running"
        try db.execute(
            sql: """
                INSERT INTO jobs (source, kind, args, priority, run_at, state, attempts, max_attempts, unique_key, last_error,
                    lease_id, lease_owner, lease_expires_at, created_at, updated_at, started_at, finished_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [source, kind, args, priority, runAt ?? now, state, attempts, maxAttempts, uniqueKey, lastError,
                        running ? (leaseID ?? 42) : nil, running ? "test-daemon" : nil, running ? now + 60 : nil,
                        now - 600, now - 10, running || finishedAt != nil ? now - 30 : nil, finishedAt])
        return db.lastInsertedRowID
    }

    @discardableResult
    func insertQuarantine(
        _ db: Database, source: String = "files", kind: String = "item", key: String, error: String = "cannot read",
        bytes: Data? = nil, jobID: Int64? = nil
    ) throws -> Int64 {
        try db.execute(
            sql: "INSERT INTO quarantine (source, kind, key, error, bytes, created_at, job_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
            arguments: [source, kind, key, error, bytes, "2025-01-01T10:00:00.000Z", jobID])
        return db.lastInsertedRowID
    }

    func insertAudit(
        _ db: Database, jobID: Int64, source: String = "files", attempt: Int, outcome: String, written: Int = 0,
        deleted: Int = 0, quarantined: Int = 0, durationMilliseconds: Int = 1, error: String? = nil, finishedAt: Double
    ) throws {
        // As the daemon appends one: `seq` counts the job's rows.
        try db.execute(
            sql: """
                INSERT INTO audit (job_id, seq, source, kind, attempt, outcome, records_written, records_deleted, items_quarantined,
                    duration_ms, error, finished_at)
                VALUES (?1, (SELECT coalesce(max(seq), 0) + 1 FROM audit WHERE job_id = ?1), ?2, 'sync', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                """,
            arguments: [jobID, source, attempt, outcome, written, deleted, quarantined, durationMilliseconds, error, finishedAt])
    }

    func row(_ world: InletWorld, _ sql: String, _ arguments: StatementArguments = []) throws -> Row? {
        try world.database().read { db in try Row.fetchOne(db, sql: sql, arguments: arguments) }
    }

    func count(_ world: InletWorld, _ sql: String) throws -> Int {
        try world.database().read { db in try Int.fetchOne(db, sql: sql) ?? -1 }
    }

    func object(_ result: ProcessResult) throws -> [String: Any] {
        guard result.status == 0, let object = try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] else {
            throw TestFailure("not a JSON object (status \(result.status)): \(result.stdout) \(result.stderr)")
        }
        return object
    }

    func array(_ result: ProcessResult) throws -> [[String: Any]] {
        guard let array = try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]] else {
            throw TestFailure("not a JSON array (status \(result.status)): \(result.stdout) \(result.stderr)")
        }
        return array
    }

    func isoTime(_ value: Any?) -> Double? {
        guard let text = value as? String,
            let date = try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))
        else { return nil }
        return date.timeIntervalSince1970
    }

    // MARK: - No database yet

    @Test func withoutADatabaseStatusSaysSoAndTheOthersFail() throws {
        let world = try InletWorld()
        try world.write("inlet.yaml", Self.config)
        let status = try world.inlet(["status", "-c", "inlet.yaml"])
        #expect(status.status == 0, "\(status.stderr)")
        #expect(status.stdout.contains("no database at \(world.path("var/inlet.db")): run `inlet sync` or `inlet run` first"))
        #expect(status.stdout.contains("files"))
        let json = try object(try world.inlet(["status", "-c", "inlet.yaml", "--json"]))
        #expect((json["database"] as? [String: Any])?["exists"] as? Bool == false)
        #expect((json["daemon"] as? [String: Any])?["running"] as? Bool == false)
        #expect((json["sync"] as? [String: Any])?["running"] as? Bool == false)
        #expect((json["sources"] as? [[String: Any]])?.map { $0["name"] as? String } == ["files", "web"])

        for command in [["jobs", "list"], ["jobs", "show", "1"], ["jobs", "retry", "1"], ["quarantine", "list"], ["quarantine", "drop", "1"], ["export"]] {
            let result = try world.inlet(command + ["-c", "inlet.yaml"])
            #expect(result.status == 1, "\(command)")
            #expect(result.stderr.contains("no database at"), "\(command): \(result.stderr)")
        }
        // Looking must not create an empty database.
        #expect(!FileManager.default.fileExists(atPath: world.path("var/inlet.db")))
    }

    @Test func besideADaemonOfAnEarlierBuildNoCommandChangesTheSchema() throws {
        let world = try world()
        try world.buildFolderPlugin()
        // The database as an earlier build left it: this build's last migration not applied.
        let last = "v11-quarantined-items-once"
        try writable(world).write { db in try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = ?", arguments: [last]) }
        // A daemon holds data_dir: this test takes the lock, its file naming a live pid (the
        // test's own) as `inlet run`.
        let lockPath = try world.write("var/inlet.lock", "\(getpid())\nrun\n")
        let lock = open(lockPath, O_RDWR)
        defer { close(lock) }
        #expect(flock(lock, LOCK_EX | LOCK_NB) == 0)
        for command in [["status"], ["jobs", "list"], ["quarantine", "list"], ["export"], ["sync", "files"]] {
            let result = try world.inlet(command + ["-c", "inlet.yaml"])
            #expect(result.status == 1, "\(command)")
            #expect(result.stderr.contains("the running `inlet run` (pid \(getpid())) is an earlier build"), "\(command): \(result.stderr)")
            #expect(result.stderr.contains(last) && result.stderr.contains("restart the daemon with this build first"))
        }
        let applied = try writable(world).read { db in
            try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM grdb_migrations WHERE identifier = ?)", arguments: [last])
        }
        #expect(applied == false)
    }

    // MARK: - jobs

    @Test func jobsListShowsTheColumnsAndFilters() throws {
        let world = try world()
        try writable(world).write { db in
            try insertJob(db, state: "queued", runAt: now + 240, uniqueKey: "sync:files")
            try insertJob(db, kind: "webhook", state: "running", priority: 2, runAt: now - 3, attempts: 1)
            try insertJob(db, source: "web", state: "quarantined", attempts: 5, lastError: "connection refused\nby the peer " + String(repeating: "x", count: 100), finishedAt: now - 5)
        }
        let list = try world.inlet(["jobs", "list", "-c", "inlet.yaml"])
        #expect(list.status == 0, "\(list.stderr)")
        let lines = list.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 5)
        #expect(lines.first?.hasPrefix("ID  SOURCE  KIND     STATE        PRI  ATTEMPTS  RUN AT") == true)
        // No daemon holds data_dir: the job marked running is one a stopped daemon left.
        #expect(lines.last == Self.leftBehind)
        // Newest first; relative due times; errors on one truncated line.
        #expect(lines[1].contains("web") && lines[1].contains("quarantined") && lines[1].contains("5/5")
                && lines[1].contains("connection refused by the peer") && lines[1].hasSuffix("…"))
        #expect(lines[2].contains("webhook") && lines[2].contains("running") && lines[2].contains("1/5") && lines[2].contains("s ago"))
        #expect(lines[3].contains("queued") && lines[3].contains("0/5") && lines[3].contains("in 4m"))
        // Columns are aligned: every row's state starts where the header's does.
        let column = lines[0].range(of: "STATE")!.lowerBound.utf16Offset(in: lines[0])
        for line in lines[1..<4] {
            let state = line.range(of: #"(queued|running|quarantined)"#, options: .regularExpression)!.lowerBound.utf16Offset(in: line)
            #expect(state == column, "\(line)")
        }

        let quarantined = try array(try world.inlet(["jobs", "list", "-c", "inlet.yaml", "--state", "quarantined", "--json"]))
        #expect(quarantined.map { $0["id"] as? Int } == [3])
        let ofFiles = try array(try world.inlet(["jobs", "list", "-c", "inlet.yaml", "--source", "files", "--json"]))
        #expect(ofFiles.map { $0["id"] as? Int } == [2, 1])
        let newestRun = try world.inlet(["jobs", "list", "-c", "inlet.yaml", "--limit", "1", "--json"])
        let newest = try array(newestRun)
        #expect(newest.map { $0["id"] as? Int } == [3])
        // A cut JSON list says so on standard error; a whole one says nothing.
        #expect(newestRun.stderr == "… and more (the first 1 shown; --limit N for more)\n")
        #expect(try world.inlet(["jobs", "list", "-c", "inlet.yaml", "--limit", "3", "--json"]).stderr == "")
        // A list cut at --limit says so.
        let cut = try world.inlet(["jobs", "list", "-c", "inlet.yaml", "--limit", "2"]).stdout.split(separator: "\n")
        #expect(cut.count == 5 && cut[3] == "… and more (the first 2 shown; --limit N for more)")
        let whole = try world.inlet(["jobs", "list", "-c", "inlet.yaml", "--limit", "3"]).stdout
        #expect(!whole.contains("and more"))

        let all = try array(try world.inlet(["jobs", "list", "-c", "inlet.yaml", "--json"]))
        let queued = try #require(all.first { $0["id"] as? Int == 1 })
        #expect(abs((isoTime(queued["run_at"]) ?? 0) - (now + 240)) < 0.01)
        #expect(queued["unique_key"] as? String == "sync:files")
        #expect(queued["max_attempts"] as? Int == 5)
        #expect(queued["last_error"] is NSNull)
        #expect((queued["args"] as? [String: Any])?.isEmpty == true)

        let none = try world.inlet(["jobs", "list", "-c", "inlet.yaml", "--state", "cancelled"])
        #expect(none.status == 0)
        #expect(none.stdout.contains("No jobs (cancelled)."))
    }

    @Test func jobsShowPrintsEveryFieldTheArgsAndTheAuditHistory() throws {
        let world = try world()
        try writable(world).write { db in
            let id = try insertJob(db, args: #"{"full":true,"paths":["a","b"]}"#, state: "quarantined", attempts: 2, maxAttempts: 2,
                                   uniqueKey: "sync:files", lastError: "HTTP 503", finishedAt: now - 60)
            try insertAudit(db, jobID: id, attempt: 1, outcome: "failed", written: 3, deleted: 1, durationMilliseconds: 1200,
                            error: "timeout", finishedAt: now - 120)
            try insertAudit(db, jobID: id, attempt: 2, outcome: "quarantined", quarantined: 4, durationMilliseconds: 250,
                            error: "HTTP 503", finishedAt: now - 60)
        }
        let show = try world.inlet(["jobs", "show", "1", "-c", "inlet.yaml"])
        #expect(show.status == 0, "\(show.stderr)")
        for expected in ["job 1", "source       files", "state        quarantined", "attempts     2/2", "unique key   sync:files",
                         "last error   HTTP 503", "finished at  ", "(1m ago)", "  args", #"      "full" : true,"#, #"      "paths" : ["#,
                         "history (2 attempts)", "ATTEMPT  OUTCOME"] {
            #expect(show.stdout.contains(expected), "missing \(expected) in\n\(show.stdout)")
        }
        let history = show.stdout.components(separatedBy: "history (2 attempts)\n").last!.split(separator: "\n").map(String.init)
        #expect(history.count == 3)
        #expect(history[1].contains("failed") && history[1].contains("1.2s") && history[1].contains("timeout")
                && history[1].split(separator: " ").prefix(5) == ["1", "failed", "3", "1", "0"])
        #expect(history[2].contains("quarantined") && history[2].contains("250ms")
                && history[2].split(separator: " ").prefix(5) == ["2", "quarantined", "0", "0", "4"])

        let json = try object(try world.inlet(["jobs", "show", "1", "-c", "inlet.yaml", "--json"]))
        #expect(json["state"] as? String == "quarantined")
        #expect((json["args"] as? [String: Any])?["full"] as? Bool == true)
        let entries = try #require(json["history"] as? [[String: Any]])
        #expect(entries.map { $0["attempt"] as? Int } == [1, 2])
        #expect(entries[0]["records_written"] as? Int == 3)
        #expect(entries[0]["records_deleted"] as? Int == 1)
        #expect(entries[1]["items_quarantined"] as? Int == 4)
        #expect(entries[0]["duration_ms"] as? Int == 1200)
        #expect(entries[1]["error"] as? String == "HTTP 503")
        #expect(abs((isoTime(entries[1]["finished_at"]) ?? 0) - (now - 60)) < 0.01)

        // Queued again, the job counts its attempts from 1: the history marks where (a rate
        // limit, not counted, repeats a number without a mark).
        try writable(world).write { db in
            try insertAudit(db, jobID: 1, attempt: 1, outcome: "rate_limited", finishedAt: now - 30)
            try insertAudit(db, jobID: 1, attempt: 1, outcome: "succeeded", finishedAt: now - 20)
        }
        let again = try world.inlet(["jobs", "show", "1", "-c", "inlet.yaml"]).stdout
        let rows = again.components(separatedBy: "history (4 attempts)\n").last!.split(separator: "\n").map(String.init)
        #expect(rows.count == 6, "\(again)")
        #expect(rows[3].hasPrefix("  -- queued again") && rows[4].contains("rate_limited") && rows[5].contains("succeeded"), "\(again)")

        let missing = try world.inlet(["jobs", "show", "99", "-c", "inlet.yaml"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("no job 99"))
        #expect(try world.inlet(["jobs", "show", "abc", "-c", "inlet.yaml"]).status == 2)
    }

    @Test func jobsRetryGivesFreshAttemptsAndCancelStopsPendingJobs() throws {
        let world = try world()
        try writable(world).write { db in
            let quarantined = try insertJob(db, state: "quarantined", runAt: now - 3600, attempts: 5, lastError: "boom", finishedAt: now - 100)
            try insertQuarantine(db, kind: "job", key: "sync #1", error: "out of attempts", bytes: Data("{}".utf8), jobID: quarantined)
            try insertJob(db, state: "queued", runAt: now + 60)
            try insertJob(db, kind: "webhook", state: "running", attempts: 1)
        }
        let retry = try world.inlet(["jobs", "retry", "1", "-c", "inlet.yaml"])
        #expect(retry.status == 0, "\(retry.stderr)")
        #expect(retry.stdout.contains("job 1 (files sync) queued again (was quarantined)"))
        let job = try #require(try row(world, "SELECT * FROM jobs WHERE id = 1"))
        #expect(job["state"] as String == "queued")
        #expect(job["attempts"] as Int == 0)
        #expect(job["finished_at"] as Double? == nil)
        #expect(abs((job["run_at"] as Double) - Date().timeIntervalSince1970) < 30)
        #expect(try count(world, "SELECT count(*) FROM quarantine") == 0)

        // A finished job of a disabled source is not queued again: the daemon would never run it.
        let disabled = try writable(world).write { db in
            try insertJob(db, source: "web", state: "cancelled", lastError: "cancelled", finishedAt: now - 10)
        }
        let refused = try world.inlet(["jobs", "retry", "\(disabled)", "-c", "inlet.yaml"])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("source 'web' is disabled"), "\(refused.stderr)")
        #expect(try row(world, "SELECT state FROM jobs WHERE id = ?", [disabled])?["state"] as String? == "cancelled")

        let again = try world.inlet(["jobs", "retry", "2", "-c", "inlet.yaml"])
        #expect(again.status == 1)
        #expect(again.stderr.contains("job 2 is queued"))
        #expect(try row(world, "SELECT state FROM jobs WHERE id = 2")?["state"] as String? == "queued")

        let cancelQueued = try world.inlet(["jobs", "cancel", "2", "-c", "inlet.yaml", "--json"])
        #expect(try object(cancelQueued)["state"] as? String == "cancelled")
        #expect(try row(world, "SELECT state FROM jobs WHERE id = 2")?["state"] as String? == "cancelled")

        let cancelRunning = try world.inlet(["jobs", "cancel", "3", "-c", "inlet.yaml"])
        #expect(cancelRunning.status == 0, "\(cancelRunning.stderr)")
        // No daemon runs: there is no worker to stop.
        #expect(cancelRunning.stdout == "job 3 (files webhook) cancelled\n")
        let running = try #require(try row(world, "SELECT state, lease_id, finished_at FROM jobs WHERE id = 3"))
        #expect(running["state"] as String == "cancelled")
        #expect(running["lease_id"] as Int64? == nil)
        #expect(running["finished_at"] as Double? != nil)
        // Its worker commits nothing: the attempt's row in the history is written by the cancel.
        let shown = try world.inlet(["jobs", "show", "3", "-c", "inlet.yaml"]).stdout
        #expect(shown.contains("history (1 attempt)") && shown.contains("cancelled while running"), "\(shown)")

        let twice = try world.inlet(["jobs", "cancel", "3", "-c", "inlet.yaml"])
        #expect(twice.status == 1)
        #expect(twice.stderr.contains("job 3 is cancelled"))
        let missing = try world.inlet(["jobs", "retry", "77", "-c", "inlet.yaml"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("no job 77"))
    }

    // MARK: - quarantine

    @Test func quarantineListAndShowPrintTextOrAHexDump() throws {
        let world = try world()
        let png = Data([0x89, 0x50, 0x4E, 0x47, 0x00, 0x01, 0x02])
        try writable(world).write { db in
            try insertQuarantine(db, key: "notes.txt", error: "rejected: too long", bytes: Data("hello\nworld\n".utf8))
            try insertQuarantine(db, key: "image.png", error: "cannot decode", bytes: png)
            try insertQuarantine(db, source: "web", key: "big.bin", bytes: Data((0..<300).map { UInt8(($0 * 7) % 256) } + [0xFF]))
            try insertQuarantine(db, source: "web", key: "nothing", error: "gone")
        }
        let list = try world.inlet(["quarantine", "list", "-c", "inlet.yaml"])
        #expect(list.status == 0, "\(list.stderr)")
        let lines = list.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 5)
        #expect(lines[0].hasPrefix("ID  SOURCE  KIND  KEY"))
        #expect(lines[1].contains("nothing") && lines[1].contains("gone"))
        #expect(lines[3].contains("image.png") && lines[3].contains("    7  ") && lines[3].contains("cannot decode"))
        let ofFiles = try array(try world.inlet(["quarantine", "list", "-c", "inlet.yaml", "--source", "files", "--json"]))
        #expect(ofFiles.map { $0["key"] as? String } == ["image.png", "notes.txt"])
        #expect(ofFiles.map { $0["size"] as? Int } == [7, 12])

        let text = try world.inlet(["quarantine", "show", "1", "-c", "inlet.yaml"])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("error       rejected: too long"))
        #expect(text.stdout.contains("12 bytes, text:\nhello\nworld\n"))

        let binary = try world.inlet(["quarantine", "show", "2", "-c", "inlet.yaml"])
        #expect(binary.stdout.contains("7 bytes, binary:"))
        #expect(binary.stdout.contains("00000000  89 50 4e 47 00 01 02"))
        #expect(binary.stdout.contains("|.PNG...|"))

        let big = try world.inlet(["quarantine", "show", "3", "-c", "inlet.yaml"])
        #expect(big.stdout.contains("301 bytes, binary; the first 256:"))
        let dump = big.stdout.split(separator: "\n").filter { $0.range(of: #"^[0-9a-f]{8}  "#, options: .regularExpression) != nil }
        #expect(dump.count == 16)
        #expect(dump.first == "00000000  00 07 0e 15 1c 23 2a 31  38 3f 46 4d 54 5b 62 69  |.....#*18?FMT[bi|")
        #expect(dump.last == "000000f0  90 97 9e a5 ac b3 ba c1  c8 cf d6 dd e4 eb f2 f9  |................|")

        #expect(try world.inlet(["quarantine", "show", "4", "-c", "inlet.yaml"]).stdout.contains("bytes       none"))

        let json = try object(try world.inlet(["quarantine", "show", "2", "-c", "inlet.yaml", "--json"]))
        #expect(json["bytes_encoding"] as? String == "base64")
        #expect(json["bytes"] as? String == png.base64EncodedString())
        #expect(json["size"] as? Int == 7)
        #expect(json["error"] as? String == "cannot decode")

        let missing = try world.inlet(["quarantine", "show", "9", "-c", "inlet.yaml"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("no quarantine entry 9"))
    }

    @Test func quarantineRetryOfAJobRequeuesItAndOfAnItemQueuesASyncOfItsSource() throws {
        let world = try world()
        try writable(world).write { db in
            let job = try insertJob(db, state: "quarantined", attempts: 5, lastError: "out of attempts", finishedAt: now - 10)
            try insertQuarantine(db, kind: "job", key: "sync #1", error: "out of attempts", bytes: Data("{}".utf8), jobID: job)
            try insertQuarantine(db, key: "a.txt")
            try insertQuarantine(db, key: "b.txt")
        }
        let job = try world.inlet(["quarantine", "retry", "1", "-c", "inlet.yaml"])
        #expect(job.status == 0, "\(job.stderr)")
        #expect(job.stdout.contains("job 1 queued again with fresh attempts"))
        let requeued = try #require(try row(world, "SELECT state, attempts FROM jobs WHERE id = 1"))
        #expect(requeued["state"] as String == "queued")
        #expect(requeued["attempts"] as Int == 0)
        #expect(try row(world, "SELECT id FROM quarantine WHERE id = 1") == nil)

        let item = try object(try world.inlet(["quarantine", "retry", "2", "-c", "inlet.yaml", "--json"]))
        #expect(item["result"] as? String == "sync_enqueued")
        let syncID = try #require(item["job_id"] as? Int)
        let sync = try #require(try row(world, "SELECT * FROM jobs WHERE id = ?", [syncID]))
        #expect(sync["unique_key"] as String? == "sync:files")
        #expect(sync["kind"] as String == "sync")
        #expect(sync["state"] as String == "queued")
        #expect(sync["max_attempts"] as Int == 7)  // the source's retry.max_attempts
        #expect(try row(world, "SELECT id FROM quarantine WHERE id = 2") == nil)

        // A second item of the same source rides on the sync already queued.
        let merged = try world.inlet(["quarantine", "retry", "3", "-c", "inlet.yaml"])
        #expect(merged.stdout.contains("merged into the sync of 'files' already queued as job \(syncID)"))
        #expect(try count(world, "SELECT count(*) FROM jobs WHERE unique_key = 'sync:files'") == 1)
        #expect(try count(world, "SELECT count(*) FROM quarantine") == 0)

        let missing = try world.inlet(["quarantine", "retry", "3", "-c", "inlet.yaml"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("no quarantine entry 3"))
    }

    @Test func quarantineRetryAllReportsEveryEntryAndFailsWhenOneFails() throws {
        let world = try world()
        try writable(world).write { db in
            let job = try insertJob(db, state: "quarantined", attempts: 5, finishedAt: now - 10)
            try insertQuarantine(db, kind: "job", key: "sync #1", bytes: Data("{}".utf8), jobID: job)
            try insertQuarantine(db, kind: "job", key: "sync #1 again", bytes: Data("{}".utf8), jobID: job)
            try insertQuarantine(db, key: "a.txt")
            // A quarantined job whose unique key is queued again cannot be retried.
            let stuck = try insertJob(db, kind: "fetch", state: "quarantined", uniqueKey: "fetch:x", finishedAt: now - 10)
            try insertJob(db, kind: "fetch", state: "queued", uniqueKey: "fetch:x")
            try insertQuarantine(db, kind: "job", key: "fetch #2", jobID: stuck)
            // Nor can an entry of a disabled source, or of one gone from the config: the daemon
            // would never run what the retry queued.
            try insertQuarantine(db, source: "web", key: "w.txt")
            try insertQuarantine(db, source: "old", key: "o.txt")
        }
        let result = try world.inlet(["quarantine", "retry", "--all", "-c", "inlet.yaml"])
        #expect(result.status == 1)
        #expect(result.stdout.contains("quarantine entry 1 (files job sync #1): job 1 queued again with fresh attempts"))
        #expect(result.stdout.contains("quarantine entry 2 (files job sync #1 again): removed with the retry of job 1"))
        #expect(result.stdout.contains("quarantine entry 3 (files item a.txt): sync of 'files' queued as job"))
        #expect(result.stderr.contains("error: quarantine entry 4 (files job fetch #2): job 3 with the same unique key 'fetch:x' is already queued"))
        #expect(result.stderr.contains("error: quarantine entry 5 (web item w.txt): source 'web' is disabled (enabled: false at inlet.yaml:"))
        #expect(result.stderr.contains("error: quarantine entry 6 (old item o.txt): source 'old' is no longer in the config (inlet.yaml)"))
        #expect(result.stdout.contains("3 of 6 entries retried, 3 failed"))
        #expect(try row(world, "SELECT state FROM jobs WHERE id = 1")?["state"] as String? == "queued")
        #expect(try world.database().read { db in try Int64.fetchAll(db, sql: "SELECT id FROM quarantine ORDER BY id") } == [4, 5, 6])
        #expect(try count(world, "SELECT count(*) FROM jobs WHERE source IN ('web', 'old')") == 0)

        _ = try writable(world).write { db in try insertQuarantine(db, key: "b.txt") }
        let json = try array(try world.inlet(["quarantine", "retry", "--all", "-c", "inlet.yaml", "--json"]))
        #expect(json.map { $0["id"] as? Int } == [4, 5, 6, 7])
        #expect(json.map { $0["result"] as? String } == ["failed", "failed", "failed", "sync_coalesced"])
        #expect((json[0]["error"] as? String)?.contains("already queued") == true)

        // One entry at a time, the same refusal.
        let one = try world.inlet(["quarantine", "retry", "5", "-c", "inlet.yaml"])
        #expect(one.status == 1)
        #expect(one.stderr.contains("source 'web' is disabled"), "\(one.stderr)")

        #expect(try world.inlet(["quarantine", "retry", "-c", "inlet.yaml"]).status == 2)
        #expect(try world.inlet(["quarantine", "retry", "4", "--all", "-c", "inlet.yaml"]).status == 2)
    }

    @Test func quarantineDropCancelsAJobWhoseLastEntryItWasSoRetentionPrunesIt() throws {
        let world = try world()
        try writable(world).write { db in
            let job = try insertJob(db, state: "quarantined", attempts: 5, lastError: "out of attempts", finishedAt: now - 10)
            try insertQuarantine(db, kind: "job", key: "sync #1", jobID: job)
            try insertQuarantine(db, kind: "job", key: "sync #1 again", jobID: job)
        }
        let first = try world.inlet(["quarantine", "drop", "1", "-c", "inlet.yaml"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("quarantine entry 1 dropped; job 1 has other entries and stays quarantined"))
        #expect(try row(world, "SELECT state FROM jobs WHERE id = 1")?["state"] as String? == "quarantined")
        let last = try object(try world.inlet(["quarantine", "drop", "2", "-c", "inlet.yaml", "--json"]))
        #expect(last["job_cancelled"] as? Bool == true)
        #expect(try count(world, "SELECT count(*) FROM quarantine") == 0)
        let job = try #require(try row(world, "SELECT state, last_error, finished_at FROM jobs WHERE id = 1"))
        #expect(job["state"] as String == "cancelled")
        #expect(job["last_error"] as String? == "out of attempts")
        #expect((job["finished_at"] as Double?).map { $0 > now - 5 } == true)
        let again = try world.inlet(["quarantine", "drop", "1", "-c", "inlet.yaml"])
        #expect(again.status == 1)
        #expect(again.stderr.contains("no quarantine entry 1"))
    }

    // MARK: - status

    @Test func statusShowsEachSourceTheQueueAndSourcesNoLongerConfigured() throws {
        // A real sync creates the database (a checkpoint, the source's last sync) as a user's first
        // run would; then the rows a daemon would have written replace its record.
        let world = try InletWorld()
        try world.write("inlet.yaml", Self.config)
        try world.buildFolderPlugin()
        try world.write("tree/README.md", "# Hello\n")
        let sync = try world.inlet(["sync", "files", "-c", "inlet.yaml"])
        #expect(sync.status == 0, "\(sync.stderr)")

        // Building the plugin and syncing took a while: times relative to now, not to the test's start.
        let now = Date().timeIntervalSince1970
        try writable(world).write { db in
            try insertJob(db, state: "queued", uniqueKey: "sync:files")
            try insertJob(db, kind: "webhook", state: "queued")
            try insertJob(db, kind: "webhook", state: "running", attempts: 1)
            try insertJob(db, state: "succeeded", finishedAt: now - 500)
            try insertJob(db, source: "gone", state: "queued")
            try insertQuarantine(db, key: "a.txt")
            try insertQuarantine(db, key: "b.txt")
            try insertQuarantine(db, source: "gone", key: "c.txt")
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO source_status (source, breaker_state, consecutive_failures, open_until, disabled_reason,
                        last_sync_at, last_outcome, last_error, next_run_at, updated_at)
                    VALUES ('files', 'open', 5, ?, '3 stuck plugin calls', ?, 'failed', 'HTTP 503 from upstream', ?, ?)
                    """,
                arguments: [now + 40, now - 90, now + 300, now])
            // A source gone from the config keeps the next run the daemon had planned for it.
            try db.execute(
                sql: "INSERT INTO source_status (source, next_run_at, updated_at) VALUES ('gone', ?, ?)", arguments: [now + 300, now])
            // No status row for `web`: its last sync comes from its newest audit row.
            try insertAudit(db, jobID: 50, source: "web", attempt: 1, outcome: "failed", error: "old", finishedAt: now - 7200)
            try insertAudit(db, jobID: 51, source: "web", attempt: 1, outcome: "succeeded", finishedAt: now - 3600)
        }

        let json = try object(try world.inlet(["status", "-c", "inlet.yaml", "--json"]))
        let sources = try #require(json["sources"] as? [[String: Any]])
        #expect(sources.map { $0["name"] as? String } == ["files", "web", "gone"])
        let files = sources[0], web = sources[1], gone = sources[2]
        #expect(files["in_config"] as? Bool == true)
        #expect(files["enabled"] as? Bool == true)
        #expect(files["disabled_reason"] as? String == "3 stuck plugin calls")
        #expect(files["connector"] as? String == "folder")
        #expect(files["schedule"] as? String == "every 5m")
        #expect(files["queue_depth"] as? Int == 3)
        #expect(files["queued"] as? Int == 2)
        #expect(files["running"] as? Int == 1)
        #expect(files["quarantined"] as? Int == 2)
        #expect(files["breaker_state"] as? String == "open")
        #expect(abs((isoTime(files["breaker_open_until"]) ?? 0) - (now + 40)) < 0.01)
        #expect(files["consecutive_failures"] as? Int == 5)
        #expect(files["last_outcome"] as? String == "failed")
        #expect(files["last_error"] as? String == "HTTP 503 from upstream")
        #expect(files["last_sync_from"] as? String == "status")
        #expect(abs((isoTime(files["last_sync_at"]) ?? 0) - (now - 90)) < 0.01)
        // Disabled by the daemon: its stored next run will not come.
        #expect(files["next_run_at"] is NSNull)

        #expect(web["enabled"] as? Bool == false)
        #expect(web["breaker_state"] as? String == "closed")
        #expect(web["last_outcome"] as? String == "succeeded")
        #expect(web["last_sync_from"] as? String == "audit")
        #expect(web["last_error"] is NSNull)
        #expect(web["queue_depth"] as? Int == 0)
        #expect(web["quarantined"] as? Int == 0)
        #expect(web["next_run_at"] is NSNull)

        #expect(gone["in_config"] as? Bool == false)
        #expect(gone["enabled"] is NSNull)
        #expect(gone["queue_depth"] as? Int == 1)
        #expect(gone["quarantined"] as? Int == 1)
        #expect(gone["next_run_at"] is NSNull)  // no run will come

        let queue = try #require(json["queue"] as? [String: Any])
        #expect(queue["size"] as? Int == 4)
        #expect(queue["queued"] as? Int == 3)
        #expect(queue["running"] as? Int == 1)
        #expect(queue["max_size"] as? Int == 200)
        #expect(queue["usage_percent"] as? Double == 2)

        let text = try world.inlet(["status", "-c", "inlet.yaml"])
        #expect(text.status == 0, "\(text.stderr)")
        let lines = text.stdout.split(separator: "\n").map(String.init)
        // Columns are two spaces apart or more; cells hold single spaces.
        let cells = lines.prefix(4).map { $0.components(separatedBy: "  ").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
        #expect(cells[0] == ["SOURCE", "STATE", "CONNECTOR", "SCHEDULE", "LAST SYNC", "NEXT RUN", "BREAKER", "QUEUE", "RUNNING", "QUARANTINE"])
        #expect(cells[1].count == 10 && cells[1].prefix(6) == ["files", "disabled (daemon)", "folder", "every 5m", "failed, 2m ago", "-"])
        #expect(cells[1].suffix(3) == ["3", "1", "2"])
        #expect(cells[1].count == 10 && cells[1][6].range(of: #"^open \(until in (3[0-9]|40)s\)$"#, options: .regularExpression) != nil)
        #expect(cells[2] == ["web", "disabled", "folder", "on demand", "succeeded, 1h ago", "-", "closed", "0", "0", "0"])
        #expect(cells[3] == ["gone (not in config)", "-", "-", "-", "never", "-", "closed", "1", "0", "1"])
        // The header, the columns and the last column line up.
        #expect(Set(lines.prefix(4).map(\.count)).count == 1)
        #expect(text.stdout.contains("files: disabled by the daemon: 3 stuck plugin calls"))
        #expect(text.stdout.contains("files: last error: HTTP 503 from upstream"))
        #expect(lines.suffix(3) == [
            "queue: 4 of 200 (2.0%): 3 queued, 1 running",
            "daemon: not running (no live pid in inlet.lock; schedules and queued jobs wait for `inlet run`)",
            Self.leftBehind,
        ])

        // A live foreground `inlet sync` holds the lock (here: a lock file naming this test's
        // own live pid): the running job is its follow-up, not one left behind.
        _ = try world.write("var/inlet.lock", "\(getpid())\nsync\n")
        let during = try world.inlet(["status", "-c", "inlet.yaml"]).stdout.split(separator: "\n").map(String.init)
        #expect(during.suffix(3) == [
            "daemon: not running (no live pid in inlet.lock; schedules and queued jobs wait for `inlet run`)",
            "sync: an `inlet sync` is running (pid \(getpid()))",
            "the 1 running job(s) are the follow-ups of the `inlet sync` working on this data_dir now (pid \(getpid()))",
        ])
        let duringJSON = try #require(try JSONSerialization.jsonObject(with: Data(try world.inlet(["status", "-c", "inlet.yaml", "--json"]).stdout.utf8)) as? [String: Any])
        #expect((duringJSON["sync"] as? [String: Any])?["pid"] as? Int == Int(getpid()))
        #expect((duringJSON["daemon"] as? [String: Any])?["running"] as? Bool == false)
        let jobs = try world.inlet(["jobs", "list", "-c", "inlet.yaml"]).stdout.split(separator: "\n").map(String.init)
        #expect(jobs.last == "the 1 running job(s) are the follow-ups of the `inlet sync` working on this data_dir now (pid \(getpid()))")

        // A daemon's supervisor between two starts of its daemon (after a crash) says so.
        let restarting = "restarting: it died of SIGSEGV at 2026-12-04T22:00:00Z; next start at 2026-12-04T22:00:02Z"
        _ = try world.write("var/inlet.lock", "\(getpid())\nrun\n\(restarting)\n")
        let down = try world.inlet(["status", "-c", "inlet.yaml"]).stdout.split(separator: "\n").map(String.init)
        #expect(down.last == "daemon: running (pid \(getpid())), \(restarting)", "\(down)")
        let downJSON = try #require(try JSONSerialization.jsonObject(with: Data(try world.inlet(["status", "-c", "inlet.yaml", "--json"]).stdout.utf8)) as? [String: Any])
        #expect((downJSON["daemon"] as? [String: Any])?["restarting"] as? String == restarting)
    }

    /// What `status` and `jobs list` say of running jobs with no daemon or sync on the data_dir.
    static let leftBehind = "no `inlet run` or `inlet sync` found on this data_dir (by inlet.lock): the 1 running job(s) were left by one that stopped; the next `inlet run` or `inlet sync` gives those back (or quarantines those out of attempts)"

    // MARK: - The command line itself

    @Test func pluginsInspectSaysWhatAFileIsOrWhyItDoesNotLoad() throws {
        let world = try InletWorld()
        let plugin = Paths.binDirectory + "/libInletTestPlugin.so"
        let inspected = try world.inlet(["plugins", "inspect", plugin, "--json"])
        #expect(inspected.status == 0, "\(inspected.stderr)")
        let object = try object(inspected)
        #expect(object["loads"] as? Bool == true && object["name"] as? String == "swift-echo")
        // The schema is JSON in the JSON, not a string holding it.
        let schema = try #require(object["config_schema"] as? [String: Any], "\(inspected.stdout)")
        #expect(schema["type"] as? String == "object")
        #expect((schema["properties"] as? [String: Any])?["sleep_ms"] != nil)

        try world.write("not-a-plugin.so", "text")
        let refused = try world.inlet(["plugins", "inspect", world.path("not-a-plugin.so")])
        #expect(refused.status == 1)
        #expect((refused.stdout + refused.stderr).contains("not-a-plugin.so"))
    }

    @Test func usageErrorsExitTwo() throws {
        let world = try world()
        for arguments in [["jobs", "list", "--state", "bogus"], ["jobs", "list", "--limit", "0"], ["jobs", "cancel"],
                          ["quarantine", "show", "x"], ["sync"], ["no-such-command"], ["status", "--log-level", "loud"]] {
            let result = try world.inlet(arguments + ["-c", "inlet.yaml"])
            #expect(result.status == 2, "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains("Usage:"), "\(arguments)")
        }
        #expect(try world.inlet(["--help"]).status == 0)
        #expect(try world.inlet(["jobs", "--help"]).status == 0)
    }

    @Test func helpAndTheReadmeListTheSameCommands() throws {
        let help = try InletWorld().inlet(["--help"])
        let readme = try String(contentsOfFile: Paths.repositoryRoot + "/README.md", encoding: .utf8)
        let section = try #require(readme.components(separatedBy: "## The command line").dropFirst().first?
            .components(separatedBy: "\n## ").first)
        let block = try #require(section.components(separatedBy: "```").dropFirst().first)
        for (command, subcommands) in [("status", [String]()), ("jobs", ["list", "show", "retry", "cancel"]),
                                       ("quarantine", ["list", "show", "retry", "drop"])] {
            #expect(help.stdout.contains("\n  \(command) "), "inlet --help lacks \(command)")
            let sub = try InletWorld().inlet([command, "--help"])
            for name in subcommands {
                #expect(sub.stdout.contains("\n  \(name) "), "inlet \(command) --help lacks \(name)")
                #expect(block.contains("inlet \(command) \(name)"), "README lacks inlet \(command) \(name)")
            }
            if subcommands.isEmpty { #expect(block.contains("inlet \(command)"), "README lacks inlet \(command)") }
        }
    }
}
