import Foundation
import GRDB
import InletCore
import Logging
import ServiceLifecycle

/// No-op jobs through the real queue with durable commits, against raw single-row INSERT
/// transactions into a fresh SQLite database with the same pragmas.
struct QueueBenchmark {
    let jobs: Int
    /// Only the end-to-end run with this many workers, or with 0 only the floor at 16 jobs per
    /// transaction (for profiling: `--only e2e4`, `--only e2e0`).
    var onlyWorkers: Int? = nil
    /// With `onlyWorkers`: producers enqueueing while the workers run (0: all enqueued first).
    var producers = 0

    func run() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("inlet-qbench-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { if ProcessInfo.processInfo.environment["INLET_BENCH_KEEP"] == nil { try? FileManager.default.removeItem(atPath: root) } else { print("kept \(root)") } }
        let plugin = try buildNoopPlugin(in: root)
        print("Queue: \(jobs) no-op jobs, WAL + synchronous=NORMAL (commits survive kill -9)")
        if onlyWorkers == 0 {
            let batched = try leaseAndComplete(path: root + "/floor-16/inlet.db", batch: 16)
            print("  lease + complete, no plugin, 16 per transaction: \(Int(batched)) /s")
            return
        }
        if let onlyWorkers {
            let rate = try await endToEnd(root: root + "/e2e", plugin: plugin, workers: onlyWorkers, producers: producers)
            if producers > 0 {
                print("  end to end, \(onlyWorkers) worker(s), \(producers) producers at once: \(Int(rate.total)) /s")
            } else {
                print("  end to end, \(onlyWorkers) worker(s): \(Int(rate.total)) /s (lease → run → complete \(Int(rate.processing)) /s)")
            }
            return
        }

        let baseline = try rawInserts(path: root + "/raw.db")
        report("raw INSERT, one per transaction (baseline)", perSecond: baseline, against: baseline)

        let enqueue = try enqueueRate(path: root + "/enqueue/inlet.db")
        report("enqueue", perSecond: enqueue, against: baseline)

        let floor = try leaseAndComplete(path: root + "/floor/inlet.db")
        report("lease + complete, no plugin (our floor)", perSecond: floor, against: baseline)
        for batch in [4, 16] {
            let batched = try leaseAndComplete(path: root + "/floor-\(batch)/inlet.db", batch: batch)
            report("  … \(batch) leased and completed per transaction", perSecond: batched, against: baseline)
        }

        for workers in [1, 4] {
            let rate = try await endToEnd(root: root + "/e2e-\(workers)", plugin: plugin, workers: workers)
            report("end to end, \(workers) worker\(workers == 1 ? "" : "s")", perSecond: rate.total, against: baseline)
            report("  … of which lease → run → complete", perSecond: rate.processing, against: baseline)
        }
        // The daemon's own pipeline: jobs arrive while the workers run, their enqueues sharing
        // transactions as webhooks' do, and share the one writer with leases and completions.
        for workers in [1, 4] {
            let concurrent = try await endToEnd(root: root + "/e2e-concurrent-\(workers)", plugin: plugin, workers: workers, producers: 16)
            report("end to end, \(workers) worker\(workers == 1 ? "" : "s"), 16 producers at once", perSecond: concurrent.total, against: baseline)
        }
    }

    private func rawInserts(path: String) throws -> Double {
        // The daemon's connection settings: this pool alone once had no busy timeout, and one
        // `--only queue` run in about 25 stopped on "database is locked" at a BEGIN IMMEDIATE.
        let configuration = InletDatabase.configuration()
        let pool = try DatabasePool(path: path, configuration: configuration)
        // As the daemon runs its database: checkpoints on a thread of their own.
        let checkpointer = try BackgroundCheckpointer(pool: pool)
        defer { checkpointer.stop() }
        try pool.write { db in
            try db.execute(sql: "CREATE TABLE jobs (id INTEGER PRIMARY KEY, source TEXT, kind TEXT, args TEXT, run_at REAL, state TEXT)")
        }
        let start = ContinuousClock.now
        for index in 0..<jobs {
            try pool.write { db in
                try db.execute(
                    sql: "INSERT INTO jobs (source, kind, args, run_at, state) VALUES (?, 'sync', '{}', ?, 'queued')",
                    arguments: ["s\(index % 4)", Date().timeIntervalSince1970])
            }
        }
        return Double(jobs) / (ContinuousClock.now - start).seconds
    }

    private func enqueueRate(path: String) throws -> Double {
        let database = try InletDatabase(path: path)
        let checkpointer = try BackgroundCheckpointer(pool: database.pool)
        defer { checkpointer.stop() }
        let queue = JobQueue(database: database, maxSize: jobs * 2)
        let start = ContinuousClock.now
        for index in 0..<jobs {
            _ = try queue.enqueue(JobRequest(source: "s\(index % 4)"))
        }
        return Double(jobs) / (ContinuousClock.now - start).seconds
    }

    /// The queue's own cost per job: lease `batch` jobs in one transaction, complete them (each
    /// with its audit row) in another, no plugin.
    private func leaseAndComplete(path: String, batch: Int = 1) throws -> Double {
        let database = try InletDatabase(path: path)
        let checkpointer = try BackgroundCheckpointer(pool: database.pool)
        defer { checkpointer.stop() }
        let queue = JobQueue(database: database, maxSize: jobs * 2)
        for index in 0..<jobs { _ = try queue.enqueue(JobRequest(source: "s\(index % 4)")) }
        let capacity = ["s0": batch, "s1": batch, "s2": batch, "s3": batch]
        let start = ContinuousClock.now
        var done = 0
        while done < jobs {
            let leased = try queue.lease(capacity: capacity, limit: batch, owner: "floor", now: Date(), leaseFor: .seconds(30))
            try database.pool.write { db in
                for job in leased {
                    try queue.markSucceeded(job.lease!, now: Date(), in: db)
                    try AuditLog.append(
                        AuditLog.Entry(jobID: job.id, source: job.source, kind: job.kind, attempt: 1, outcome: "succeeded",
                                       durationMilliseconds: 0, finishedAt: Date()), in: db)
                }
            }
            done += leased.count
        }
        return Double(jobs) / (ContinuousClock.now - start).seconds
    }

    /// Jobs per second from the first enqueue to the last completion, and from the start of the
    /// workers to the last completion. With `producers` 0 every job is enqueued first, one
    /// transaction each, then the workers start; otherwise `producers` tasks enqueue while the
    /// workers run, each enqueue its own group-committed write as a webhook's is, and the two
    /// figures are the same.
    private func endToEnd(root: String, plugin: String, workers: Int, producers: Int = 0) async throws -> (total: Double, processing: Double) {
        let yaml = """
            data_dir: \(root)/var
            workers: \(workers)
            queue: { max_size: \(jobs * 2) }
            sources:
            \((0..<4).map { "  - { name: s\($0), connector: noop, plugin: \(plugin), concurrency: \(workers) }" }.joined(separator: "\n"))
            """
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let config = try ConfigLoader.load(yaml: yaml, file: root + "/inlet.yaml", environment: [:])
        let database = try InletDatabase(dataDirectory: config.dataDirectory)
        let checkpointer = try BackgroundCheckpointer(pool: database.pool)
        defer { checkpointer.stop() }
        let queue = JobQueue(database: database, maxSize: config.queue.maxSize)
        var logger = Logger(label: "bench")
        logger.logLevel = .warning
        let clock = SystemScheduleClock()
        let wakeup = Wakeup()
        let orchestrator = Orchestrator(
            sources: ConfiguredSources(config: config, environment: [:]), database: database, clock: clock, logger: logger, wakeup: wakeup)
        let runner = JobRunner(queue: queue, clock: clock, logger: logger, watchdog: config.watchdog)
        let pool = WorkerPool(
            orchestrator: orchestrator, queue: queue, runner: runner, wakeup: wakeup, workers: workers, owner: "bench",
            shutdownGrace: .seconds(5), clock: clock, logger: logger)
        let group = ServiceGroup(services: [pool], logger: logger)

        let start = ContinuousClock.now
        if producers == 0 {
            for index in 0..<jobs {
                _ = try queue.enqueue(JobRequest(source: "s\(index % 4)"))
            }
        }
        let enqueued = ContinuousClock.now
        let running = Task { try await group.run() }
        if producers > 0 {
            // The HTTP server's kind of group commit (sharing the runner's made smaller batches: slower).
            let committer = GroupCommitter(database: database)
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                for producer in 0..<producers {
                    tasks.addTask { [jobs] in
                        for index in stride(from: producer, to: jobs, by: producers) {
                            _ = try await committer.write { db in try queue.enqueue(JobRequest(source: "s\(index % 4)"), now: Date(), in: db) }
                            wakeup.signal()
                        }
                    }
                }
                try await tasks.waitForAll()
            }
            print("    (\(producers) producers: \(committer.transactions) shared transactions for \(jobs) enqueues)")
        }
        // Polls the active-job counter (one row): a count over the jobs would cost more than the jobs.
        while try queue.activeCount() > 0 {
            try await Task.sleep(for: .milliseconds(5))
        }
        guard try queue.depth()[.succeeded, default: 0] == jobs else { throw BenchError("not every job succeeded") }
        let end = ContinuousClock.now
        print("    (\(workers) worker(s): \(runner.group.transactions) shared transactions for \(jobs) jobs' leases and completions, busy \(runner.group.busy) of \(end - enqueued))")
        await group.triggerGracefulShutdown()
        try await running.value
        return (Double(jobs) / (end - start).seconds, Double(jobs) / (end - enqueued).seconds)
    }

    private func buildNoopPlugin(in root: String) throws -> String {
        let source = root + "/noop.c"
        try """
            #include "inlet_connector.h"
            static inlet_status noop_create(const inlet_host *h, inlet_call *c, const char *j, size_t l, void **out) {
                (void)h; (void)c; (void)j; (void)l; *out = 0; return INLET_OK;
            }
            static void noop_destroy(void *i) { (void)i; }
            static inlet_status noop_sync(void *i, inlet_call *c, const char *k, const char *a, size_t l) {
                (void)i; (void)c; (void)k; (void)a; (void)l; return INLET_OK;
            }
            static const inlet_connector table = {
                .struct_size = sizeof(inlet_connector), .abi_version = INLET_ABI_VERSION, .name = "noop", .version = "1",
                .create = noop_create, .destroy = noop_destroy, .sync = noop_sync,
                .capabilities = INLET_CAP_REENTRANT, /* it keeps no state: calls may overlap */
            };
            INLET_EXPORT const inlet_connector *inlet_connector_register(uint32_t v) { (void)v; return &table; }
            """.write(toFile: source, atomically: true, encoding: .utf8)
        let output = root + "/libnoop.so"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/cc")
        let header = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources/CInletABI/include").path
        process.arguments = ["-O2", "-shared", "-fPIC", "-I", header, source, "-o", output]
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw BenchError("cc failed for the no-op plugin") }
        return output
    }

    private func report(_ name: String, perSecond: Double, against baseline: Double) {
        let padded = name.padding(toLength: 44, withPad: " ", startingAt: 0)
        print("  \(padded) \(String(format: "%9.0f /s", perSecond))   \(String(format: "%6.2fx", perSecond / baseline)) of baseline")
    }
}
