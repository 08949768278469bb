import Foundation
import GRDB
import Hummingbird
import InletCore
import InletHTTP
import Logging
import Prometheus
import ServiceLifecycle

/// Signed GitHub push deliveries (a real payload of a few KB) through `POST /webhooks/{source}`,
/// stored durably with their jobs, beside a plain Hummingbird route answering a constant, both
/// loaded by wrk on loopback in the same run.
struct WebhookBenchmark {
    let seconds: Int
    /// wrk connections of the saturation run (`--connections`).
    var connections = 32
    /// The mean pause after each answer on a paced (half load) connection, drawn from an
    /// exponential distribution so that the paced connections send at independent moments, as
    /// GitHub's deliveries arrive. A fixed pause kept them in step: the answers of one group
    /// commit started their pauses together and came back together, so "half load" arrived as
    /// bursts of every connection at once (p50 4–5 ms at a third of the saturation rate).
    static let pauseMilliseconds = 20

    struct Figures {
        var requestsPerSecond: Double
        var p50: String
        var p99: String
        var non2xx: Int
        /// CPU time per answered request: this process (the server under test, its committer and
        /// checkpointer) and wrk (a child, reaped before its times are read).
        var serverMicroseconds = 0.0
        var wrkMicroseconds = 0.0
        var machineMicroseconds: Double { serverMicroseconds + wrkMicroseconds }
    }

    /// CPU seconds used so far by this process and by its reaped children (wrk).
    static func cpuSeconds() -> (own: Double, children: Double) {
        func seconds(_ who: Int32) -> Double {
            var usage = rusage()
            getrusage(__rusage_who_t(who), &usage)
            return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
        }
        return (seconds(RUSAGE_SELF.rawValue), seconds(RUSAGE_CHILDREN.rawValue))
    }

    func run() async throws {
        guard let wrk = Self.which("wrk") else {
            print("webhooks: skipped: wrk not found (apt-get install wrk)")
            return
        }
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("inlet-bench-http-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let secret = "bench secret"
        let config = try ConfigLoader.load(yaml: """
            queue: { max_size: 100000000 }
            sources:
              - name: acme
                connector: github
                webhook: { secret: "\(secret)" }
            """, file: root + "/inlet.yaml", environment: [:])
        let database = try InletDatabase(dataDirectory: root)
        let checkpointer = try BackgroundCheckpointer(pool: database.pool)
        defer { checkpointer.stop() }
        let queue = JobQueue(database: database, maxSize: config.queue.maxSize)
        var logger = Logger(label: "inlet-bench")
        // Cancelling the servers at the end logs errors that mean nothing here.
        logger.logLevel = .critical
        let committer = GroupCommitter(database: database)
        let surface = HTTPSurface(
            config: LiveConfig(config), queue: queue, committer: committer,
            registry: PrometheusCollectorRegistry(), logger: logger)

        let payload = try Data(contentsOf: URL(fileURLWithPath: Self.repositoryRoot + "/Tests/InletHTTPTests/Fixtures/github/push.json"))
        try payload.write(to: URL(fileURLWithPath: root + "/body.json"))
        let signature = WebhookSignature.sign(Array(payload), secret: secret)
        let script = """
            local f = io.open("\(root)/body.json", "rb")
            wrk.method = "POST"
            wrk.body = f:read("*a")
            f:close()
            wrk.headers["Content-Type"] = "application/json"
            wrk.headers["X-GitHub-Event"] = "push"
            wrk.headers["X-Hub-Signature-256"] = "\(signature)"
            local run = tostring(os.time()) .. "-" .. tostring(math.random(1, 1000000000))
            local counter = 0
            request = function()
              counter = counter + 1
              wrk.headers["X-GitHub-Delivery"] = run .. "-" .. counter
              return wrk.format()
            end
            """
        try script.write(toFile: root + "/post.lua", atomically: true, encoding: .utf8)
        // The same request as a `ping`: verified and parsed but not stored, to split the cost.
        try script.replacingOccurrences(of: #""X-GitHub-Event"] = "push""#, with: #""X-GitHub-Event"] = "ping""#)
            .write(toFile: root + "/ping.lua", atomically: true, encoding: .utf8)

        try (script + "\ndelay = function() return math.floor(-\(Self.pauseMilliseconds) * math.log(1 - math.random())) end\n")
            .write(toFile: root + "/paced.lua", atomically: true, encoding: .utf8)

        let plainRouter = Router()
        plainRouter.post("plain") { _, _ in "ok" }
        // The constant route again, but reading the whole body first: what receiving 7 KB costs.
        plainRouter.post("read") { request, _ in
            _ = try await request.body.collect(upTo: WebhookReceiver.maxBodySize)
            return "ok"
        }
        let (ports, continuation) = AsyncStream.makeStream(of: (String, Int).self)
        let webhookApp = surface.application(listen: .init(host: "127.0.0.1", port: 0)) { continuation.yield(("webhook", $0)) }
        let plainApp = Application(
            router: plainRouter, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { continuation.yield(("plain", $0.localAddress?.port ?? 0)) }, logger: logger)

        // Stopped by a graceful shutdown: cancelling a serving task can make NIO trap on a
        // connection accepted but not yet served (apple/swift-nio#3481).
        let services = ServiceGroup(services: [webhookApp, plainApp], logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await services.run() }
            var found: [String: Int] = [:]
            for await (name, port) in ports {
                found[name] = port
                if found.count == 2 { break }
            }
            let webhookURL = "http://127.0.0.1:\(found["webhook"]!)/webhooks/acme"
            let plainURL = "http://127.0.0.1:\(found["plain"]!)/plain"
            let readURL = "http://127.0.0.1:\(found["plain"]!)/read"
            let script = root + "/post.lua"
            print("webhooks: signed \(payload.count)-byte push deliveries, wrk -t1, \(seconds)s per run, loopback")
            for (label, connections) in [("saturation, \(connections) connections", connections), ("light load, 1 connection", 1)] {
                let plain = try await Self.offPool { try Self.wrk(wrk, url: plainURL, script: script, connections: connections, seconds: seconds) }
                let (busyBefore, transactionsBefore) = (committer.busy, committer.transactions)
                let hooks = try await Self.offPool { try Self.wrk(wrk, url: webhookURL, script: script, connections: connections, seconds: seconds) }
                let (busy, transactions) = (committer.busy - busyBefore, committer.transactions - transactionsBefore)
                let ping = try await Self.offPool { try Self.wrk(wrk, url: webhookURL, script: root + "/ping.lua", connections: connections, seconds: seconds) }
                let read = try await Self.offPool { try Self.wrk(wrk, url: readURL, script: script, connections: connections, seconds: seconds) }
                let ratio = hooks.requestsPerSecond / max(plain.requestsPerSecond, 1) * 100
                print(String(format: "  %@: webhooks %.0f req/s (p50 %@, p99 %@), plain route %.0f req/s (p50 %@, p99 %@): %.0f%%",
                             label, hooks.requestsPerSecond, hooks.p50, hooks.p99, plain.requestsPerSecond, plain.p50, plain.p99, ratio))
                print(String(format: "    (verified and parsed, not stored: %.0f req/s, p50 %@, p99 %@; constant route reading the body: %.0f req/s, p50 %@, p99 %@)",
                             ping.requestsPerSecond, ping.p50, ping.p99, read.requestsPerSecond, read.p50, read.p99))
                print(String(format: "    (group commit: %d shared transactions, %.1f deliveries each, busy %.0f%% of the run)",
                             transactions, hooks.requestsPerSecond * Double(seconds) / Double(max(transactions, 1)),
                             busy.seconds / Double(seconds) * 100))
                if hooks.non2xx > 0 { print("  warning: \(hooks.non2xx) webhook answers were not 2xx") }
                print(String(format: "    (CPU per request, server + wrk: webhooks %.0f + %.0f µs, not stored %.0f + %.0f µs, plain route %.0f + %.0f µs)",
                             hooks.serverMicroseconds, hooks.wrkMicroseconds, ping.serverMicroseconds, ping.wrkMicroseconds,
                             plain.serverMicroseconds, plain.wrkMicroseconds))
                if connections == self.connections {
                    // Both runs keep every core busy (wrk shares them), so the rates are in inverse
                    // ratio to the CPU per request: the aim leaves twice the plain route's.
                    print(String(format: "    (50%% of the plain route's rate allows %.0f µs of CPU per delivery, wrk's included; webhooks used %.0f, of which storing %.0f)",
                                 2 * plain.machineMicroseconds, hooks.machineMicroseconds, hooks.machineMicroseconds - ping.machineMicroseconds))
                }
                if connections == self.connections {
                    // Half load: wrk paces each connection with its delay() hook (a random pause after
                    // every answer), with enough connections for half the saturation rate; the rate
                    // reached is printed, since a pause plus the answer's latency (about 1 ms when
                    // not loaded) sets it.
                    let target = hooks.requestsPerSecond / 2
                    let pacedConnections = max(1, Int((target * Double(Self.pauseMilliseconds + 1) / 1000).rounded()))
                    let half = try await Self.offPool {
                        try Self.wrk(wrk, url: webhookURL, script: root + "/paced.lua", connections: pacedConnections, seconds: seconds)
                    }
                    print(String(format: "  half load (aim %.0f req/s: %d connections, each pausing %d ms on average): webhooks %.0f req/s, p50 %@, p99 %@",
                                 target, pacedConnections, Self.pauseMilliseconds, half.requestsPerSecond, half.p50, half.p99))
                    if half.non2xx > 0 { print("  warning: \(half.non2xx) webhook answers were not 2xx") }
                }
            }
            let (stored, withJob) = try await database.pool.read { db in
                (try Int.fetchOne(db, sql: "SELECT count(*) FROM webhook_deliveries") ?? 0,
                 try Int.fetchOne(db, sql: "SELECT count(*) FROM webhook_deliveries d JOIN jobs j ON j.id = d.job_id") ?? 0)
            }
            print("  stored deliveries: \(stored), \(withJob) with their job")
            // The storing alone, without HTTP or wrk: what a delivery's row, body and job cost the
            // committer, and what a shared transaction costs with nothing in it.
            let body = Array(payload)
            let alone = try await Self.storeAlone(writers: connections, count: 20_000, committer: committer) { index in
                { db in
                    _ = try WebhookDelivery.store(
                        source: "acme", deliveryID: "alone-\(index)", event: "push", headers: #"{"x-github-event":"push"}"#, body: body,
                        maxAttempts: 3, queue: queue, now: Date(), in: db)
                }
            }
            let empty = try await Self.storeAlone(writers: connections, count: 20_000, committer: committer) { _ in { _ in } }
            print(String(format: "  storing alone (%d writers, no HTTP): %.0f deliveries/s, %.0f µs of CPU each; empty shared transactions: %.0f/s, %.0f µs each",
                         connections, alone.perSecond, alone.cpuMicroseconds, empty.perSecond, empty.cpuMicroseconds))
            await services.triggerGracefulShutdown()
            try await group.waitForAll()
        }
    }

    /// Runs `count` writes through `committer` from `writers` tasks at once.
    static func storeAlone(
        writers: Int, count: Int, committer: GroupCommitter, work: @escaping @Sendable (Int) -> @Sendable (Database) throws -> Void
    ) async throws -> (perSecond: Double, cpuMicroseconds: Double) {
        let before = cpuSeconds().own
        let began = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<writers {
                group.addTask {
                    for index in stride(from: writer, to: count, by: writers) { try await committer.write(work(index)) }
                }
            }
            try await group.waitForAll()
        }
        let elapsed = (ContinuousClock.now - began).seconds
        return (Double(count) / elapsed, (cpuSeconds().own - before) / Double(count) * 1e6)
    }

    static func wrk(_ wrk: String, url: String, script: String, connections: Int, seconds: Int) throws -> Figures {
        let before = cpuSeconds()
        var figures = try runWrk(wrk, url: url, script: script, connections: connections, seconds: seconds)
        let after = cpuSeconds()
        let requests = max(figures.requestsPerSecond * Double(seconds), 1)
        figures.serverMicroseconds = (after.own - before.own) / requests * 1e6
        figures.wrkMicroseconds = (after.children - before.children) / requests * 1e6
        return figures
    }

    private static func runWrk(_ wrk: String, url: String, script: String, connections: Int, seconds: Int) throws -> Figures {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: wrk)
        process.arguments = ["-t1", "-c\(connections)", "-d\(seconds)s", "--latency", "-s", script, url]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        func field(_ prefix: String) -> String? {
            output.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
                .first { $0.hasPrefix(prefix) }?.dropFirst(prefix.count).trimmingCharacters(in: .whitespaces)
        }
        let non2xx = field("Non-2xx or 3xx responses:").flatMap { Int($0) } ?? 0
        return Figures(
            requestsPerSecond: field("Requests/sec:").flatMap(Double.init) ?? 0, p50: field("50%") ?? "?", p99: field("99%") ?? "?",
            non2xx: non2xx)
    }

    /// Runs blocking `work` on a thread of its own: the servers under test need every thread of
    /// the cooperative pool (two on this machine).
    static func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try work() }) }.start()
        }
    }

    static func which(_ name: String) -> String? {
        for folder in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            let path = "\(folder)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    static var repositoryRoot: String {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }
}
