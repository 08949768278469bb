import Foundation
import GRDB
import Testing

/// `inlet run` as a real subprocess: killed with SIGKILL, stopped with SIGTERM, reloaded with SIGHUP.
@Suite("inlet run, the daemon", .serialized)
struct DaemonTests {
    static var echoPlugin: String { Paths.binDirectory + "/libInletTestPlugin.so" }

    /// Starts `inlet run` in the world; standard error goes to a file for the test to read.
    func start(_ world: InletWorld, config: String = "inlet.yaml") throws -> Process {
        try world.launch(["run", "--config", config], stdout: "daemon.log")
    }

    /// Polls `condition` every 50 ms until it holds; fails the test after `limit` (a deadline
    /// against hanging, not a timing assertion).
    func waitUntil(_ what: String, limit: Duration = .seconds(60), _ condition: () throws -> Bool) throws {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if (try? condition()) == true { return }
            usleep(50_000)
        }
        throw TestFailure("timed out waiting for: \(what)")
    }

    /// Waits until nothing holds data_dir's lock (a killed supervisor's daemon has died too).
    func waitUntilTheLockIsFree(_ world: InletWorld) throws {
        try waitUntil("the daemon's lock is released") {
            let descriptor = open(world.path("var/inlet.lock"), O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { return true }
            defer { close(descriptor) }
            return flock(descriptor, LOCK_EX | LOCK_NB) == 0
        }
    }

    /// Waits until the daemon holds data_dir: it opens the database after taking the lock.
    func waitForTheLock(_ world: InletWorld) throws {
        try waitUntil("the daemon holds the lock") { FileManager.default.fileExists(atPath: world.path("var/inlet.db")) }
    }

    /// Runs `body` while `inlet run` runs in the world, from the moment it holds data_dir; then
    /// stops it (SIGTERM) and waits for it to exit.
    func withDaemon<T>(_ world: InletWorld, _ body: (Process) throws -> T) throws -> T {
        let daemon = try start(world)
        defer {
            daemon.terminate()
            daemon.waitUntilExit()
        }
        try waitForTheLock(world)
        return try body(daemon)
    }

    /// The jobs whose plugin call the daemon on the world's data_dir has started (the calls
    /// file, which each start empties).
    func startedCalls(_ world: InletWorld) -> Set<Int64> {
        guard let data = FileManager.default.contents(atPath: world.path("var/started-calls")) else { return [] }
        return Set(data.withUnsafeBytes { $0.bindMemory(to: Int64.self).dropFirst().filter { $0 > 0 } })
    }

    func read<T>(_ world: InletWorld, _ body: (Database) throws -> T) throws -> T {
        try world.database().read(body)
    }

    @Test func survivesTwentyKillNineAndLosesOrDuplicatesNothing() throws {
        let world = try InletWorld()
        let count = 3000
        try world.write("inlet.yaml", """
            data_dir: ./var
            listen: 127.0.0.1:0
            workers: 2
            sources:
              - name: seq
                connector: swift-echo
                plugin: \(Self.echoPlugin)
                retry: { max_attempts: 100, backoff: 10ms, max_backoff: 50ms }
                config: { sequence: { count: \(count), chunk: 20 }, sleep_ms: 25 }
            """)
        // The job is queued through the running daemon (a foreground sync hands it over).
        var daemon = try start(world)
        try waitForTheLock(world)
        let handOver = try world.inlet(["sync", "seq", "-c", "inlet.yaml"])
        #expect(handOver.status == 0, "\(handOver.stderr)")
        var generator = SystemRandomNumberGenerator()
        let job = try read(world) { db in try Int64.fetchOne(db, sql: "SELECT id FROM jobs WHERE source = 'seq'") ?? 0 }
        for round in 0..<20 {
            // Every other round first waits for this daemon to start the job's call (each start
            // empties the calls file), so that at least half the kills land while it runs however
            // slowly the daemon starts (on a loaded machine purely random kills could all land
            // before it); the others may also land before it, and then cost no attempt. Then a
            // random while: mid-chunk, mid-commit.
            if round.isMultiple(of: 2) {
                try waitUntil("the daemon starts the job's call") { startedCalls(world).contains(job) }
            }
            usleep(UInt32.random(in: 30_000...350_000, using: &generator))
            kill(daemon.processIdentifier, SIGKILL)
            daemon.waitUntilExit()
            #expect(daemon.terminationReason == .uncaughtSignal)
            // The supervisor's death takes the daemon, its child, a moment later.
            try waitUntilTheLockIsFree(world)
            daemon = try start(world)
        }
        let killedMidJob = try read(world) { db in
            try Int.fetchOne(db, sql: "SELECT attempts FROM jobs WHERE source = 'seq'") ?? 0
        }
        #expect(killedMidJob >= 10, "most kills should land while the job runs")
        defer {
            daemon.terminate()
            daemon.waitUntilExit()
        }
        // The last start runs what is left to the end; nothing stays "running".
        try waitUntil("the sequence job succeeds") {
            try read(world) { db in try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM jobs WHERE state = 'succeeded')") ?? false }
        }
        try read(world) { db in
            let documents = try Row.fetchAll(db, sql: "SELECT key, version FROM documents WHERE source = 'seq' ORDER BY key")
            #expect(documents.count == count)
            #expect(Set(documents.map { $0["key"] as String }).count == count)
            // Every record committed exactly once, with the checkpoint that describes it: a
            // record committed without its checkpoint would have been re-emitted with another
            // start and got version 2.
            let reEmitted = documents.filter { ($0["version"] as Int) != 1 }.map { $0["key"] as String }
            #expect(reEmitted.isEmpty, "re-emitted: \(reEmitted.prefix(5))")
            let next = try Data.fetchOne(db, sql: "SELECT value FROM state WHERE source = 'seq' AND key = 'next'")
            #expect(next.map { String(decoding: $0, as: UTF8.self) } == "\(count)")
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM jobs WHERE state = 'running'") == 0)
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM jobs WHERE state = 'quarantined'") == 0)
        }
    }

    @Test func aPluginThatCrashesTheDaemonIsChargedAloneAndTheSupervisorStartsItAgain() throws {
        let world = try InletWorld()
        try world.write("inlet.yaml", echoDaemonConfig([
            ("crashy", "{ max_attempts: 2, backoff: 10ms, max_backoff: 10ms }", "{ crash: true }"),
            ("slow", nil, "{ records: [{ key: a }, { key: b }, { key: c }], sleep_ms: 1000 }"),
        ]))
        try withDaemon(world) { daemon in
            #expect(try world.inlet(["sync", "slow", "-c", "inlet.yaml"]).status == 0)
            try waitUntil("the slow job runs") { try read(world) { db in try String.fetchOne(db, sql: "SELECT state FROM jobs WHERE source = 'slow'") } == "running" }
            #expect(try world.inlet(["sync", "crashy", "-c", "inlet.yaml"]).status == 0)
            // Between two starts the supervisor says so in the lock file, for `inlet status`.
            try waitUntil("the supervisor says it is restarting the daemon") {
                (try? String(contentsOfFile: world.path("var/inlet.lock"), encoding: .utf8))?.contains("\nrestarting: it died of SIGSEGV at ") == true
            }
            // Each crash ends the daemon's process; the supervisor starts it again (1 s, then 2 s).
            try waitUntil("the crashing job is quarantined", limit: .seconds(90)) {
                try read(world) { db in try String.fetchOne(db, sql: "SELECT state FROM jobs WHERE source = 'crashy'") } == "quarantined"
            }
            try waitUntil("the slow job succeeds", limit: .seconds(90)) {
                try read(world) { db in try String.fetchOne(db, sql: "SELECT state FROM jobs WHERE source = 'slow'") } == "succeeded"
            }
            #expect(daemon.isRunning)
            try read(world) { db throws in
                // The crashing job is charged its two attempts, as crashes; the other job none of its restarts.
                let crashy = try #require(try Row.fetchOne(db, sql: "SELECT id, attempts, last_error FROM jobs WHERE source = 'crashy'"))
                #expect(crashy["attempts"] as Int == 2)
                #expect((crashy["last_error"] as String?)?.contains("crashed the process (SIGSEGV in its plugin call)") == true, "\(crashy)")
                #expect(try String.fetchAll(db, sql: "SELECT outcome FROM audit WHERE job_id = ? ORDER BY attempt", arguments: [crashy["id"] as Int64]) == ["crashed", "crashed"])
                #expect(try Int.fetchOne(db, sql: "SELECT attempts FROM jobs WHERE source = 'slow'") == 1)
                #expect(try String.fetchAll(db, sql: "SELECT a.outcome FROM audit a JOIN jobs j ON j.id = a.job_id WHERE j.source = 'slow'") == ["succeeded"])
                #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM documents WHERE source = 'slow'") == 3)
            }
            let log = world.contents("daemon.log")
            #expect(log.contains("died of SIGSEGV (a job whose plugin call crashed it is charged the attempt; the others go back uncounted): starting it again in 1s"), "\(log)")
            #expect(log.contains("plugin call crashed the previous process (SIGSEGV)"), "\(log)")
            // The operator commands see one daemon throughout: the supervisor's pid.
            #expect(try world.inlet(["status", "-c", "inlet.yaml"]).stdout.contains("daemon: running (pid \(daemon.processIdentifier))"))
        }
    }

    /// After a kill -9 the calls file names the job whose call was running: the next start
    /// charges it (one attempt: quarantined). Jobs leased ahead, not in the file, would go back
    /// uncounted (`JobQueueTests.afterAKillOnlyJobsWhoseCallStartedAreCharged`).
    @Test func aKillChargesTheJobWhoseCallRanWhichTheCallsFileNames() throws {
        let world = try InletWorld()
        try world.write("inlet.yaml", """
            data_dir: ./var
            listen: 127.0.0.1:0
            sources:
              - name: slow
                connector: swift-echo
                plugin: \(Self.echoPlugin)
                retry: { max_attempts: 1 }
                config: { hang: until_cancelled }
            """)
        var daemon = try world.launch(["run", "--config", "inlet.yaml", "--no-supervisor"], stdout: "daemon.log")
        defer { if daemon.isRunning { kill(daemon.processIdentifier, SIGKILL) } }
        try waitForTheLock(world)
        #expect(try world.inlet(["sync", "slow", "-c", "inlet.yaml"]).status == 0)
        try waitUntil("the job runs") {
            try read(world) { db in try String.fetchOne(db, sql: "SELECT state FROM jobs WHERE source = 'slow'") } == "running"
        }
        let job = try read(world) { db in try Int64.fetchOne(db, sql: "SELECT id FROM jobs WHERE source = 'slow'") }
        // The call starts a moment after the lease commits: wait for the file to say so.
        try waitUntil("the calls file names the job") { startedCalls(world) == Set([job].compactMap { $0 }) }
        kill(daemon.processIdentifier, SIGKILL)
        daemon.waitUntilExit()
        #expect(startedCalls(world) == Set([job].compactMap { $0 }))
        daemon = try world.launch(["run", "--config", "inlet.yaml", "--no-supervisor"], stdout: "daemon2.log")
        try waitUntil("the cut-short attempt is charged") {
            try read(world) { db in try String.fetchOne(db, sql: "SELECT state FROM jobs WHERE source = 'slow'") } == "quarantined"
        }
        kill(daemon.processIdentifier, SIGTERM)
        daemon.waitUntilExit()
    }

    @Test func withoutTheSupervisorTheDaemonRunsInTheProcessItself() throws {
        let world = try InletWorld()
        try world.write("inlet.yaml", "data_dir: ./var\nlisten: 127.0.0.1:0\nsources: []\n")
        let daemon = try world.launch(["run", "--config", "inlet.yaml", "--no-supervisor"], stdout: "daemon.log")
        defer { if daemon.isRunning { kill(daemon.processIdentifier, SIGKILL) } }
        try waitUntil("the daemon serves HTTP") { world.contents("daemon.log").contains("HTTP server listening") }
        // No child: the process that holds the lock is the one that serves.
        #expect(try world.inlet(["status", "-c", "inlet.yaml"]).stdout.contains("daemon: running (pid \(daemon.processIdentifier))"))
        // (Each thread lists the children it started: the supervisor starts its daemon from a thread of its own.)
        let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(daemon.processIdentifier)/task")
        let children = tasks.map { (try? String(contentsOfFile: "/proc/\(daemon.processIdentifier)/task/\($0)/children", encoding: .utf8)) ?? "" }
            .joined().trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(children.isEmpty, "children: \(children)")
        kill(daemon.processIdentifier, SIGTERM)
        try waitUntil("the daemon stops") { !daemon.isRunning }
        #expect(daemon.terminationStatus == 0)
    }

    @Test func aCreateThatCrashesTheDaemonStopsItsSourceInsteadOfCrashingItAgain() throws {
        let world = try InletWorld()
        try world.write("inlet.yaml", echoDaemonConfig([
            ("broken", "{ max_attempts: 5, backoff: 10ms, max_backoff: 10ms }", "{ crash_create: true }"),
            ("fine", nil, "{ records: [{ key: a }] }"),
        ]))
        try withDaemon(world) { daemon in
            #expect(try world.inlet(["sync", "broken", "-c", "inlet.yaml"]).status == 0)
            try waitUntil("the source is stopped") {
                try read(world) { db in try String.fetchOne(db, sql: "SELECT disabled_reason FROM source_status WHERE source = 'broken'") }?
                    .contains("its plugin's create crashed the daemon (SIGSEGV") == true
            }
            // One crash: its job is charged once and waits, with the source, for a reload.
            #expect(try world.inlet(["sync", "fine", "-c", "inlet.yaml"]).status == 0)
            try waitUntil("the other source runs") {
                try read(world) { db in try String.fetchOne(db, sql: "SELECT state FROM jobs WHERE source = 'fine'") } == "succeeded"
            }
            try read(world) { db throws in
                let job = try #require(try Row.fetchOne(db, sql: "SELECT id, state, attempts FROM jobs WHERE source = 'broken'"))
                #expect(job["state"] as String == "queued" && job["attempts"] as Int == 1)
                #expect(try String.fetchAll(db, sql: "SELECT outcome FROM audit WHERE job_id = ?", arguments: [job["id"] as Int64]) == ["crashed"])
            }
            #expect(world.contents("daemon.log").components(separatedBy: "died of SIGSEGV").count == 2, "one crash only")
            #expect(daemon.isRunning)
            let status = try world.inlet(["status", "-c", "inlet.yaml"]).stdout
            #expect(status.contains("broken: disabled by the daemon: cannot run: its plugin's create crashed the daemon"), "\(status)")
        }
    }

    @Test func sigtermLetsRunningJobsFinishWithinGraceThenGivesTheRestBack() throws {
        let world = try InletWorld()
        try world.write("inlet.yaml", """
            data_dir: ./var
            listen: 127.0.0.1:0
            shutdown_grace: 300ms
            sources:
              - name: slow
                connector: swift-echo
                plugin: \(Self.echoPlugin)
                schedule: every 1h
                config: { hang: until_cancelled }
            """)
        let daemon = try start(world)
        try waitUntil("the job runs") {
            try read(world) { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM jobs WHERE state = 'running'") == 1 }
        }
        kill(daemon.processIdentifier, SIGTERM)
        daemon.waitUntilExit()
        #expect(daemon.terminationStatus == 0)
        #expect(daemon.terminationReason == .exit)
        try read(world) { db in
            let job = try Row.fetchOne(db, sql: "SELECT state, attempts, last_error FROM jobs")
            #expect(job?["state"] as String? == "queued")
            // Released at shutdown: the attempt is given back.
            #expect(job?["attempts"] as Int? == 0)
            #expect((job?["last_error"] as String?)?.contains("shut down") == true)
        }
        let log = try String(contentsOfFile: world.path("daemon.log"), encoding: .utf8)
        #expect(log.contains("inlet stopped"))
    }

    @Test func sighupAppliesAGoodConfigAndRefusesABadOne() throws {
        let world = try InletWorld()
        let source = { (name: String) in
            """
              - name: \(name)
                connector: swift-echo
                plugin: \(Self.echoPlugin)
                schedule: every 1h
                config: { records: [{ key: "\(name)-1", content: "x" }] }
            """
        }
        try world.write("inlet.yaml", "data_dir: ./var\nlisten: 127.0.0.1:0\nsources:\n" + source("first"))
        try withDaemon(world) { daemon in
            try waitUntil("first syncs") {
                try read(world) { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM documents WHERE source = 'first'") == 1 }
            }
            // A bad config is refused with its errors; the old one keeps running.
            try world.write("inlet.yaml", "data_dir: ./var\nlisten: 127.0.0.1:0\nworkers: many\nsources:\n" + source("first"))
            kill(daemon.processIdentifier, SIGHUP)
            try waitUntil("the reload is refused") {
                try String(contentsOfFile: world.path("daemon.log"), encoding: .utf8).contains("the running config stays in force")
            }
            let log = try String(contentsOfFile: world.path("daemon.log"), encoding: .utf8)
            #expect(log.contains("inlet.yaml:3:10"))
            #expect(daemon.isRunning)

            // A good config adds a source without a restart.
            try world.write("inlet.yaml", "data_dir: ./var\nlisten: 127.0.0.1:0\nsources:\n" + source("first") + "\n" + source("second"))
            kill(daemon.processIdentifier, SIGHUP)
            try waitUntil("second syncs") {
                try read(world) { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM documents WHERE source = 'second'") == 1 }
            }
            #expect(daemon.isRunning)
        }
    }

    @Test func aSecondDaemonOnTheSameDataDirIsRefused() throws {
        let world = try InletWorld()
        try world.write("inlet.yaml", "data_dir: ./var\nlisten: 127.0.0.1:0\n")
        try withDaemon(world) { first in
            let second = try world.inlet(["run", "--config", "inlet.yaml"])
            #expect(second.status == 1)
            #expect(second.stderr.contains("`inlet run` (pid \(first.processIdentifier)) is using"), "\(second.stderr)")
        }
    }

    @Test func aDataDirThatCannotBeCreatedIsAnErrorInPlainWords() throws {
        let world = try InletWorld()
        try world.write("afile", "not a folder")
        try world.write("inlet.yaml", "data_dir: ./afile/var\nlisten: 127.0.0.1:0\n")
        for command in [["run"], ["sync", "--all"]] {
            let result = try world.inlet(command + ["--config", "inlet.yaml"])
            #expect(result.status == 1)
            // Foundation's own text named NSCocoaErrorDomain error 512.
            #expect(result.stderr.contains("data_dir: cannot create \(world.path("afile/var")): Not a directory"), "\(result.stderr)")
        }
    }

    @Test func aPortAlreadyTakenStopsTheDaemonWithAnErrorThatNamesIt() throws {
        // The port is held by this test: the daemon cannot listen on it.
        let holder = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(holder) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(holder, $0, length) == 0 && getsockname(holder, $0, &length) == 0 }
        }
        #expect(bound && listen(holder, 1) == 0)
        let port = Int(UInt16(bigEndian: address.sin_port))
        let world = try InletWorld()
        try world.write("inlet.yaml", """
            data_dir: ./var
            listen: 127.0.0.1:\(port)
            shutdown_grace: 300ms
            sources:
              - name: slow
                connector: swift-echo
                plugin: \(Self.echoPlugin)
                schedule: every 1h
                config: { hang: until_cancelled }
            """)
        let daemon = try start(world)
        // It used to stay up, deaf to SIGTERM, holding data_dir.
        defer { if daemon.isRunning { kill(daemon.processIdentifier, SIGKILL) } }
        try waitUntil("the daemon exits") { !daemon.isRunning }
        #expect(daemon.terminationReason == .exit)
        #expect(daemon.terminationStatus == 1)
        let log = try String(contentsOfFile: world.path("daemon.log"), encoding: .utf8)
        #expect(log.contains("cannot listen on 127.0.0.1:\(port) (`listen` in the config): Address already in use"), "\(log)")
        // Stopped the way SIGTERM stops it: whatever it had leased went back to the queue.
        let running = try read(world) { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM jobs WHERE state = 'running'") }
        #expect(running == 0)
    }

    @Test func ctrlCStopsAForegroundSyncAtItsLastCheckpointAndTheSummarySaysSo() throws {
        let world = try InletWorld()
        try world.write("inlet.yaml", """
            data_dir: ./var
            sources:
              - name: seq
                connector: swift-echo
                plugin: \(Self.echoPlugin)
                config: { sequence: { count: 3000, chunk: 20 }, sleep_ms: 25 }
            """)
        let sync = try world.launch(["sync", "seq", "-c", "inlet.yaml", "--json"], stdout: "summary.json", stderr: "sync.log")
        defer { if sync.isRunning { kill(sync.processIdentifier, SIGKILL) } }
        try waitUntil("the sync commits a few chunks") {
            try read(world) { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM documents") ?? 0 } >= 100
        }
        kill(sync.processIdentifier, SIGINT)
        try waitUntil("the sync exits") { !sync.isRunning }
        let printed = Data(world.contents("summary.json").utf8)
        #expect(sync.terminationStatus == 130)
        let summary = try #require(try JSONSerialization.jsonObject(with: printed) as? [String: Any], "\(String(decoding: printed, as: UTF8.self))")
        let (written, stored) = (summary["written"] as? Int ?? -1, try read(world) { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM documents") })
        #expect(summary["status"] as? String == "INTERRUPTED")
        #expect(summary["interrupted"] as? Bool == true)
        #expect(written == stored && written >= 100 && written < 3000)
        #expect(summary["total"] as? Int == 3000)
        #expect(summary["processed"] as? Int == written)
        // The items it never reached are not "unchanged" (it had said 3000 minus those written).
        #expect(summary["unchanged"] as? Int == 0)
    }

    /// A daemon's config (HTTP on a free port) whose sources each run the echo connector: a
    /// name, its `retry` block if any, its `config` block.
    func echoDaemonConfig(_ sources: [(name: String, retry: String?, config: String)]) -> String {
        let entries = sources.map { source in
            """
              - name: \(source.name)
                connector: swift-echo
                plugin: \(Self.echoPlugin)
            \(source.retry.map { "    retry: \($0)\n" } ?? "")    config: \(source.config)
            """
        }
        return "data_dir: ./var\nlisten: 127.0.0.1:0\nsources:\n" + entries.joined(separator: "\n") + "\n"
    }

    /// A config whose source `items` runs the echo connector with `settings` (its `follow_ups`
    /// ask for `item` jobs, run after the sync), with the watchdog's `cancelGrace` and the
    /// source's `timeout` when given.
    func itemsConfig(_ settings: String, retry: String = "{ max_attempts: 3 }", cancelGrace: String? = nil, timeout: String? = nil) -> String {
        """
        data_dir: ./var
        \(cancelGrace.map { "watchdog: { cancel_grace: \($0) }" } ?? "")
        sources:
          - name: items
            connector: swift-echo
            plugin: \(Self.echoPlugin)
            \(timeout.map { "timeout: \($0)" } ?? "")
            retry: \(retry)
            config: { \(settings) }
        """
    }

    /// Runs `inlet sync items --json` in the world: its result and the summary it printed.
    func syncJSON(_ world: InletWorld) throws -> (ProcessResult, [String: Any]) {
        let result = try world.inlet(["sync", "items", "-c", "inlet.yaml", "--json"])
        let summary = try #require(
            try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result.stdout)\n\(result.stderr)")
        return (result, summary)
    }

    /// Starts `inlet sync items --json` (plus `extra`), sends it `signal` once `ready` holds,
    /// waits for it to exit 130 and returns the summary it printed.
    func interruptedSync(
        _ world: InletWorld, extra: [String] = [], signal: Int32 = SIGINT, limit: Duration = .seconds(30), when ready: () throws -> Bool
    ) throws -> [String: Any] {
        let sync = try world.launch(["sync", "items", "-c", "inlet.yaml", "--json"] + extra, stdout: "summary.json", stderr: "sync.log")
        defer { if sync.isRunning { kill(sync.processIdentifier, SIGKILL) } }
        try waitUntil("the sync is ready to be interrupted", ready)
        kill(sync.processIdentifier, signal)
        try waitUntil("the sync exits", limit: limit) { !sync.isRunning }
        #expect(sync.terminationStatus == 130, "\(world.contents("sync.log"))")
        let printed = world.contents("summary.json")
        return try #require(try JSONSerialization.jsonObject(with: Data(printed.utf8)) as? [String: Any], "\(printed)")
    }

    /// The state of each `item` job, by its number.
    func itemStates(_ world: InletWorld) throws -> [Int: String] {
        try read(world) { db in
            let rows = try Row.fetchAll(db, sql: "SELECT json_extract(args, '$.n') AS n, state FROM jobs WHERE kind = 'item'")
            return Dictionary(rows.map { ($0["n"] as Int, $0["state"] as String) }, uniquingKeysWith: { first, second in "\(first)+\(second)" })
        }
    }

    @Test func followUpJobsOfAForegroundSyncKilledWithSigkillStayQueuedAndTheNextSyncRunsThem() throws {
        let world = try InletWorld()
        try world.write("inlet.yaml", itemsConfig("follow_ups: 40, hang_item: 25"))
        let sync = try world.launch(["sync", "items", "-c", "inlet.yaml"], stdout: "sync.log")
        defer { if sync.isRunning { kill(sync.processIdentifier, SIGKILL) } }
        // They run in the order asked for: 0 … 24 are done when 25 hangs.
        try waitUntil("item 25 runs") { try itemStates(world)[25] == "running" }
        kill(sync.processIdentifier, SIGKILL)
        sync.waitUntilExit()
        // The follow-ups were queued with the commit that asked for them: none went with the process.
        let states = try itemStates(world)
        #expect(states.count == 40)
        #expect(states.filter { $0.value == "succeeded" }.keys.sorted() == Array(0..<25))
        #expect(states.filter { $0.value == "queued" }.keys.sorted() == Array(26..<40))
        #expect(states[25] == "running")
        #expect(try read(world) { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM documents") } == 25)

        // The next sync (asking for none of its own; item 25 no longer hangs) gives back the job
        // the killed one left running, its cut-short attempt counted, and runs the rest.
        try world.write("inlet.yaml", itemsConfig("follow_ups: 0"))
        // With no daemon to do it, the sync also prunes jobs finished longer than `queue.retention` ago.
        try DatabaseQueue(path: world.path("var/inlet.db")).write { db in
            try db.execute(sql: """
                INSERT INTO jobs (source, kind, args, priority, run_at, state, attempts, max_attempts, created_at, updated_at, finished_at)
                VALUES ('items', 'item', '{"n": 99}', 5, 0, 'succeeded', 1, 3, 0, 0, 0)
                """)
        }
        let (next, summary) = try syncJSON(world)
        #expect(next.status == 0, "\(next.stderr)")
        #expect(next.stderr.contains("recovered jobs of a previous run: 1 requeued, 0 quarantined"), "\(next.stderr)")
        #expect(try itemStates(world)[99] == nil, "pruned")
        #expect(summary["follow_ups_run"] as? Int == 15, "\(next.stdout)")
        #expect(summary["follow_ups_waiting"] as? Int == 0)
        #expect(summary["written"] as? Int == 15)
        #expect(try itemStates(world).values.allSatisfy { $0 == "succeeded" })
        try read(world) { db in
            let keys = try String.fetchAll(db, sql: "SELECT key FROM documents WHERE version = 1")
            #expect(Set(keys) == Set((0..<40).map { "item-\($0)" }))
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM documents") == 40)
            let history = try String.fetchAll(db, sql: """
                SELECT a.outcome FROM audit AS a JOIN jobs AS j ON j.id = a.job_id WHERE j.unique_key = 'item:25' ORDER BY a.attempt
                """)
            #expect(history == ["interrupted", "succeeded"])
        }
    }

    @Test func ctrlCDuringAFollowUpJobGivesItBackWithoutCountingItsAttempt() throws {
        let world = try InletWorld()
        // One attempt each: a counted attempt would send the interrupted job to quarantine.
        try world.write("inlet.yaml", itemsConfig("follow_ups: 6, hang_item: 3", retry: "{ max_attempts: 1 }"))
        let summary = try interruptedSync(world) { try itemStates(world)[3] == "running" }
        #expect(summary["status"] as? String == "INTERRUPTED")
        #expect(summary["follow_ups_run"] as? Int == 3)
        #expect(summary["follow_ups_waiting"] as? Int == 3)
        #expect(try itemStates(world) == [0: "succeeded", 1: "succeeded", 2: "succeeded", 3: "queued", 4: "queued", 5: "queued"])
        try read(world) { db throws in
            #expect(try Int.fetchOne(db, sql: "SELECT attempts FROM jobs WHERE unique_key = 'item:3'") == 0)
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM quarantine") == 0)
        }

        try world.write("inlet.yaml", itemsConfig("follow_ups: 0", retry: "{ max_attempts: 1 }"))
        let next = try world.inlet(["sync", "items", "-c", "inlet.yaml"])
        #expect(next.status == 0, "\(next.stderr)")
        #expect(next.stdout.contains("follow-up jobs run: 3"), "\(next.stdout)")
        #expect(try itemStates(world).values.allSatisfy { $0 == "succeeded" })
    }

    @Test func aFailingFollowUpStaysQueuedToRetryWhileTheOthersRunAndARateLimitStopsThem() throws {
        let world = try InletWorld()
        // A backoff of up to 1000 hours (full jitter): the failed job is not due again within this run.
        try world.write(
            "inlet.yaml", itemsConfig("follow_ups: 5, fail_item: 2, fail_status: retry", retry: "{ max_attempts: 3, backoff: 1000h, max_backoff: 1000h }"))
        let (failing, summary) = try syncJSON(world)
        #expect(failing.status == 1, "\(failing.stderr)")
        #expect(summary["status"] as? String == "RETRY", "\(failing.stdout)")
        #expect((summary["message"] as? String)?.contains("follow-up item") == true, "\(failing.stdout)")
        #expect(summary["follow_ups_run"] as? Int == 5)
        #expect(summary["follow_ups_waiting"] as? Int == 1)
        #expect(try itemStates(world) == [0: "succeeded", 1: "succeeded", 2: "queued", 3: "succeeded", 4: "succeeded"])
        try read(world) { db throws in
            // Its attempt counted; it waits for its backoff.
            let row = try #require(try Row.fetchOne(db, sql: "SELECT attempts, last_error FROM jobs WHERE unique_key = 'item:2'"))
            #expect(row["attempts"] as Int == 1)
            #expect((row["last_error"] as String?)?.contains("echo: told to fail") == true)
        }

        // A rate limit stops the loop: the rest would only be refused too.
        let limited = try InletWorld()
        try limited.write("inlet.yaml", itemsConfig("follow_ups: 5, fail_item: 2, fail_status: rate_limited"))
        let (result, stopped) = try syncJSON(limited)
        #expect(result.status == 1, "\(result.stderr)")
        #expect(stopped["status"] as? String == "RATE_LIMITED", "\(result.stdout)")
        #expect(stopped["retry_after_seconds"] as? Double == 42)
        #expect(stopped["follow_ups_run"] as? Int == 3)
        #expect(stopped["follow_ups_waiting"] as? Int == 3)
        #expect(try itemStates(limited) == [0: "succeeded", 1: "succeeded", 2: "queued", 3: "queued", 4: "queued"])
    }

    @Test func aFollowUpThatNeverReturnsStopsTheOthersWhichStayQueued() throws {
        let world = try InletWorld()
        try world.write(
            "inlet.yaml",
            itemsConfig("follow_ups: 4, stuck_item: 1", retry: "{ max_attempts: 3, backoff: 1000h, max_backoff: 1000h }", cancelGrace: "200ms", timeout: "2s"))
        let (result, summary) = try syncJSON(world)
        #expect(result.status == 1, "\(result.stderr)")
        #expect(summary["status"] as? String == "RETRY", "\(result.stdout)")
        // The watchdog's grace is the config's.
        #expect((summary["message"] as? String)?.contains("timeout 2s + grace 200ms; call abandoned") == true, "\(result.stdout)")
        #expect(summary["follow_ups_run"] as? Int == 2)
        #expect(summary["follow_ups_waiting"] as? Int == 3)
        // Its thread still holds the instance: the next calls would only have waited and timed out.
        #expect(result.stderr.contains("did not return: the other follow-ups stay queued"), "\(result.stderr)")
        #expect(try itemStates(world) == [0: "succeeded", 1: "queued", 2: "queued", 3: "queued"])
    }

    @Test func ctrlCDuringAFollowUpThatIgnoresItGivesTheJobBackAfterTheGrace() throws {
        let world = try InletWorld()
        try world.write("inlet.yaml", itemsConfig("follow_ups: 3, stuck_item: 1", retry: "{ max_attempts: 1 }", cancelGrace: "300ms"))
        // Given back after the grace that follows the cancel, not the job's timeout (30 minutes).
        let summary = try interruptedSync(world, limit: .seconds(20)) { try itemStates(world)[1] == "running" }
        #expect(summary["status"] as? String == "INTERRUPTED")
        #expect(try itemStates(world) == [0: "succeeded", 1: "queued", 2: "queued"])
        #expect(try read(world) { db in try Int.fetchOne(db, sql: "SELECT attempts FROM jobs WHERE unique_key = 'item:1'") } == 0)
    }

    @Test func ctrlCAfterAFollowUpsTimeoutAtItsLastAttemptQuarantinesIt() throws {
        let world = try InletWorld()
        // Ctrl-C lands before the 2s timeout; the timeout runs out during the 5s grace that
        // follows the Ctrl-C: that attempt counts, and it was the job's last.
        try world.write("inlet.yaml", itemsConfig("follow_ups: 2, stuck_item: 1", retry: "{ max_attempts: 1 }", cancelGrace: "5s", timeout: "2s"))
        let summary = try interruptedSync(world) { try itemStates(world)[1] == "running" }
        #expect(summary["status"] as? String == "INTERRUPTED")
        // Quarantined, not queued for an attempt beyond max_attempts; its history says why.
        #expect(try itemStates(world) == [0: "succeeded", 1: "quarantined"], "\(world.contents("sync.log"))")
        try read(world) { db throws in
            #expect(try Int.fetchOne(db, sql: "SELECT attempts FROM jobs WHERE unique_key = 'item:1'") == 1)
            #expect(try String.fetchOne(db, sql: "SELECT error FROM quarantine WHERE kind = 'job'")?.contains("timed out after 2s") == true)
            let outcome = try String.fetchOne(db, sql: "SELECT outcome FROM audit WHERE job_id = (SELECT id FROM jobs WHERE unique_key = 'item:1')")
            #expect(outcome == "timed_out" || outcome == "stuck")
        }
    }

    @Test func aForegroundSyncKeepsTheSourcesTimeoutAndGivesUpOnACallThatIgnoresIt() throws {
        let world = try InletWorld()
        // Cancelled at its timeout, the call stops: RETRY, and what it staged is not kept.
        try world.write("inlet.yaml", itemsConfig(#"hang: until_cancelled, records: [{ key: a }]"#, cancelGrace: "5s", timeout: "1s"))
        let (stopped, summary) = try syncJSON(world)
        #expect(stopped.status == 1)
        #expect(summary["status"] as? String == "RETRY", "\(stopped.stdout)")
        #expect((summary["message"] as? String)?.hasPrefix("timed out after 1s and cancelled") == true, "\(stopped.stdout)")
        #expect(try read(world) { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM documents") } == 0)

        // One that ignores the cancel is abandoned after the grace: the command still ends.
        try world.write("inlet.yaml", itemsConfig("hang: ignore_cancel", cancelGrace: "300ms", timeout: "1s"))
        let (abandoned, given) = try syncJSON(world)
        #expect(abandoned.status == 1)
        #expect(given["message"] as? String == "no answer within timeout 1s + grace 300ms; call abandoned", "\(abandoned.stdout)")

        // So is one that ignores a Ctrl-C (SIGTERM here, from cron or `timeout`), before its timeout.
        try world.write("inlet.yaml", itemsConfig("hang: ignore_cancel", cancelGrace: "300ms"))
        // Its create logs at debug after the command took over SIGINT and SIGTERM.
        let interrupted = try interruptedSync(world, extra: ["--log-level", "debug"], signal: SIGTERM, limit: .seconds(20)) {
            world.contents("sync.log").contains("echo connector created")
        }
        #expect(interrupted["message"] as? String == "no answer within 300ms of the interrupt; call abandoned")
    }

    @Test func aSyncWhoseConnectorRefusesItsConfigEndsWithASummaryThatSaysWhy() throws {
        let world = try InletWorld()
        try world.write("inlet.yaml", itemsConfig(#"refuse: "bad credentials""#))
        let result = try world.inlet(["sync", "items", "-c", "inlet.yaml"])
        #expect(result.status == 1)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "items: FAILED", "\(result.stdout)")
        #expect(lines.count > 1 && lines[1].hasPrefix("  error      ") && lines[1].hasSuffix("refused the config of source 'items': bad credentials"), "\(result.stdout)")
        let (json, summary) = try syncJSON(world)
        #expect(json.status == 1)
        #expect(summary["status"] as? String == "FAILED")
    }

    @Test func aFailedSyncRunsNoFollowUpsAndSaysWhichItQueuedADryRunQueuesNone() throws {
        let world = try InletWorld()
        // The follow-ups commit with the first record's checkpoint; the sync fails after it.
        let settings = "follow_ups: 3, records: [{ key: a }, { key: b }], checkpoint_after: 1, fail_after: 1"
        try world.write("inlet.yaml", itemsConfig(settings))
        let dry = try world.inlet(["sync", "items", "-c", "inlet.yaml", "--dry-run", "--json"])
        #expect(dry.status == 1, "\(dry.stderr)")
        #expect(try read(world) { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM jobs") } == 0)

        let (failed, summary) = try syncJSON(world)
        #expect(failed.status == 1, "\(failed.stderr)")
        #expect(summary["status"] as? String == "RETRY", "\(failed.stdout)")
        #expect(summary["follow_ups_run"] as? Int == 0)
        #expect(summary["follow_ups_waiting"] as? Int == 3)
        #expect(try itemStates(world) == [0: "queued", 1: "queued", 2: "queued"])
    }

    @Test func aDiscoveryAskedForByAFollowUpRunsOnceAndAFailedFollowUpIsNotTheSourcesLastSync() throws {
        let world = try InletWorld()
        // A sync queued long before (a daemon's, never run): the discovery asked for merges into it.
        try world.write("inlet.yaml", itemsConfig(""))
        #expect(try world.inlet(["sync", "items", "-c", "inlet.yaml"]).status == 0)
        try DatabaseQueue(path: world.path("var/inlet.db")).write { db in
            try db.execute(sql: """
                INSERT INTO jobs (source, kind, args, priority, run_at, state, attempts, max_attempts, unique_key, created_at, updated_at)
                VALUES ('items', 'sync', '{}', 5, 0, 'queued', 0, 3, 'sync:items', 0, 0)
                """)
        }
        try world.write("inlet.yaml", itemsConfig("follow_ups: 3, discover_item: 1, fail_item: 2, fail_status: failed"))
        let (result, summary) = try syncJSON(world)
        #expect(result.status == 1, "\(result.stderr)")
        #expect(summary["follow_ups_run"] as? Int == 4, "\(result.stdout)")
        #expect(summary["status"] as? String == "FAILED")
        try read(world) { db throws in
            #expect(try String.fetchOne(db, sql: "SELECT key FROM documents WHERE key = 'discovered'") == "discovered")
            #expect(try String.fetchAll(db, sql: "SELECT state FROM jobs WHERE kind = 'sync'") == ["succeeded"])
        }
        // FAILED goes to quarantine; the sync itself succeeded, and that is the source's last sync.
        #expect(try itemStates(world)[2] == "quarantined")
        let status = try world.inlet(["status", "-c", "inlet.yaml", "--json"])
        let sources = (try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])?["sources"] as? [[String: Any]]
        #expect(sources?.first?["last_outcome"] as? String == "succeeded", "\(status.stdout)")
    }

    @Test func aForegroundSyncWhileTheDaemonRunsIsHandedToTheDaemon() throws {
        let world = try InletWorld()
        try world.write("inlet.yaml", """
            data_dir: ./var
            sources:
              - name: manual
                connector: swift-echo
                plugin: \(Self.echoPlugin)
                config: { records: [{ key: "m", content: "x" }] }
              - name: busy
                connector: swift-echo
                plugin: \(Self.echoPlugin)
                config: { hang: until_cancelled }
            shutdown_grace: 1s
            """)
        try withDaemon(world) { daemon in
            // While one sync of a source runs, a second waits queued, and a third is merged into it.
            _ = try world.inlet(["sync", "busy", "-c", "inlet.yaml"])
            try waitUntil("the sync of busy runs") {
                try read(world) { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM jobs WHERE source = 'busy' AND state = 'running'") == 1 }
            }
            let second = try world.inlet(["sync", "busy", "-c", "inlet.yaml"])
            let third = try world.inlet(["sync", "busy", "-c", "inlet.yaml"])
            let queuedID = try read(world) { db in try Int64.fetchOne(db, sql: "SELECT id FROM jobs WHERE source = 'busy' AND state = 'queued'") }
            #expect(second.stdout.contains("busy: the daemon is running on \(world.path("var")): queued sync job \(queuedID ?? -1)"), "\(second.stdout)")
            #expect(third.stdout.contains("busy: the daemon is running on \(world.path("var")): a sync is already queued as job \(queuedID ?? -1)"), "\(third.stdout)")

            let result = try world.inlet(["sync", "manual", "-c", "inlet.yaml", "--json"])
            #expect(result.status == 0, "\(result.stderr)")
            let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
            let queued = object?["queued"] as? [[String: Any]]
            #expect(queued?.first?["source"] as? String == "manual")
            try waitUntil("the daemon runs the sync") {
                try read(world) { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM documents WHERE source = 'manual'") == 1 }
            }
            let priority = try read(world) { db in try Int.fetchOne(db, sql: "SELECT priority FROM jobs WHERE source = 'manual'") }
            #expect(priority == 3)
        }
    }

    @Test func aSourceWhosePluginDidNotLoadIsNotScheduledAndStatusSaysWhy() throws {
        let world = try InletWorld()
        try world.write("inlet.yaml", """
            data_dir: ./var
            listen: 127.0.0.1:0
            sources:
              - name: healthy
                connector: swift-echo
                plugin: \(Self.echoPlugin)
                schedule: every 5m
                config: { records: [{ key: "h", content: "x" }] }
              - name: broken
                connector: no-such-connector
                schedule: every 5m
                config: {}
            """)
        try withDaemon(world) { daemon in
            try waitUntil("the healthy source's scheduled sync succeeds") {
                try read(world) { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM documents WHERE source = 'healthy'") == 1 }
            }
            try read(world) { db in
                // No sync is queued for it (no worker would ever lease one), and no next run promised.
                #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM jobs WHERE source = 'broken'") == 0)
                let status = try Row.fetchOne(db, sql: "SELECT disabled_reason, next_run_at FROM source_status WHERE source = 'broken'")
                #expect((status?["disabled_reason"] as String?)?.hasPrefix("cannot run: inlet.yaml:") == true, "\(String(describing: status))")
                #expect(status?["next_run_at"] as Double? == nil)
            }
            let report = try world.inlet(["status", "-c", "inlet.yaml"])
            #expect(report.status == 0, "\(report.stderr)")
            #expect(report.stdout.contains("broken: disabled by the daemon: cannot run: inlet.yaml:"), "\(report.stdout)")
            #expect(report.stdout.contains("no-such-connector"), "\(report.stdout)")
            #expect(report.stdout.contains("daemon: running (pid \(daemon.processIdentifier))"), "\(report.stdout)")
            // Nor does the command line queue anything for it while this daemon runs.
            let sync = try world.inlet(["sync", "broken", "-c", "inlet.yaml"])
            #expect(sync.status == 2)
            #expect(sync.stderr.contains("no plugin provides connector 'no-such-connector'"), "\(sync.stderr)")
            try DatabaseQueue(path: world.path("var/inlet.db")).write { db in
                try db.execute(sql: """
                    INSERT INTO jobs (source, kind, args, priority, run_at, state, attempts, max_attempts, created_at, updated_at, finished_at)
                    VALUES ('broken', 'sync', '{}', 5, 0, 'cancelled', 0, 5, 0, 0, 0)
                    """)
            }
            let old = try read(world) { db in try Int64.fetchOne(db, sql: "SELECT id FROM jobs WHERE source = 'broken'") }
            let retry = try world.inlet(["jobs", "retry", "\(old ?? 0)", "-c", "inlet.yaml"])
            #expect(retry.status == 1)
            // Said once ("cannot run now: cannot run:" before).
            #expect(retry.stderr.contains("source 'broken' cannot run now: inlet.yaml:10:16:"), "\(retry.stderr)")
            #expect(!retry.stderr.contains("cannot run: "), "\(retry.stderr)")
            #expect(try read(world) { db in try String.fetchOne(db, sql: "SELECT state FROM jobs WHERE source = 'broken'") } == "cancelled")
        }
    }

    @Test func aDisabledSourceIsNotHandedToTheDaemonWhichWouldNeverRunIt() throws {
        let world = try InletWorld()
        try world.write("inlet.yaml", """
            data_dir: ./var
            listen: 127.0.0.1:0
            sources:
              - name: resting
                enabled: false
                connector: swift-echo
                plugin: \(Self.echoPlugin)
                config: { records: [{ key: "m", content: "x" }] }
            """)
        try withDaemon(world) { daemon in
            let result = try world.inlet(["sync", "resting", "-c", "inlet.yaml"])
            #expect(result.status == 2)
            #expect(result.stderr.contains("source 'resting' is disabled (enabled: false at inlet.yaml:5:"), "\(result.stderr)")
            #expect(try read(world) { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM jobs") } == 0)
        }
    }

    @Test func aSyncWhileAnotherForegroundSyncHoldsTheDataDirWaitsForItInsteadOfQueueing() throws {
        let world = try InletWorld()
        try world.write("inlet.yaml", """
            data_dir: ./var
            sources:
              - name: slow
                connector: swift-echo
                plugin: \(Self.echoPlugin)
                config: { sequence: { count: 100000, chunk: 10 }, sleep_ms: 50 }
            """)
        let first = try world.launch(["sync", "slow", "-c", "inlet.yaml"], stdout: "first.log")
        defer {
            kill(first.processIdentifier, SIGKILL)
            first.waitUntilExit()
        }
        try waitUntil("the first sync holds the lock") {
            (try? String(contentsOfFile: world.path("var/inlet.lock"), encoding: .utf8)) == "\(first.processIdentifier)\nsync\n"
        }
        let second = try world.inlet(["sync", "slow", "-c", "inlet.yaml"])
        #expect(second.status == 1)
        #expect(second.stderr.contains("`inlet sync` (pid \(first.processIdentifier)) is using"), "\(second.stderr)")
        // No job was queued for a daemon that is not there.
        #expect(try read(world) { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM jobs") } == 0)
    }
}
