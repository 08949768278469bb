import Crypto
import Foundation
import GRDB
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `inlet run` taking signed webhooks on a real socket, killed with SIGKILL mid-burst.
@Suite("inlet run, webhooks", .serialized)
struct WebhookDaemonTests {
    static let secret = "It's a Secret to Everybody"

    func start(_ world: InletWorld) throws -> Process {
        try world.launch(["run", "--config", "inlet.yaml", "--log-level", "notice"], stdout: "daemon.log")
    }

    /// The port the daemon logged (it listens on port 0: any free port).
    func listeningPort(_ world: InletWorld) throws -> Int {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            let log = (try? String(contentsOfFile: world.path("daemon.log"), encoding: .utf8)) ?? ""
            if let range = log.range(of: #"listening on 127\.0\.0\.1:[0-9]+"#, options: .regularExpression),
                let port = Int(log[range].split(separator: ":").last ?? "")
            {
                return port
            }
            usleep(20_000)
        }
        throw TestFailure("the daemon never logged its port: \((try? String(contentsOfFile: world.path("daemon.log"), encoding: .utf8)) ?? "")")
    }

    static func signature(_ body: [UInt8]) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(secret.utf8)))
        return "sha256=" + mac.map { String(format: "%02x", $0) }.joined()
    }

    /// One request on its own connection; the status code, or nil when the connection failed.
    static func post(port: Int, delivery: String, body: [UInt8]) -> Int? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return nil }
        let head = "POST /webhooks/hooks HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + "X-GitHub-Event: push\r\nX-GitHub-Delivery: \(delivery)\r\nX-Hub-Signature-256: \(signature(body))\r\n"
            + "Content-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        let request = Array(head.utf8) + body
        var offset = 0
        while offset < request.count {
            let n = request[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return nil }
            offset += n
        }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            response += buffer[0..<n]
            if response.count >= 12 { break }
        }
        let text = String(decoding: response, as: UTF8.self)
        return text.split(separator: " ", maxSplits: 2).dropFirst().first.flatMap { Int($0) }
    }

    @Test func everyAnsweredDeliverySurvivesKillNine() throws {
        let world = try InletWorld()
        try world.write("inlet.yaml", """
            data_dir: ./var
            listen: 127.0.0.1:0
            workers: 1
            queue: { max_size: 100000 }
            sources:
              - name: hooks
                connector: swift-echo
                plugin: \(DaemonTests.echoPlugin)
                webhook: { secret: "\(Self.secret)" }
                config: {}
            """)
        let daemon = try start(world)
        let port = try listeningPort(world)
        let body = Array(#"{"ref":"refs/heads/main","commits":[{"id":"0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c","message":"Update README.md"}],"repository":{"full_name":"octocat/Hello-World"}}"#.utf8)

        // A burst from 8 connections at once; SIGKILL right after the 300th 2xx, others still in flight.
        let answered = Mutex<[String]>([])
        let killed = Mutex(false)
        let started = ContinuousClock.now
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for index in 0..<100 {
                if killed.withLock({ $0 }) { return }
                let delivery = "burst-\(worker)-\(index)"
                guard let status = Self.post(port: port, delivery: delivery, body: body) else { continue }
                guard (200..<300).contains(status) else { continue }
                let count = answered.withLock { $0.append(delivery); return $0.count }
                if count == 300 {
                    killed.withLock { $0 = true }
                    kill(daemon.processIdentifier, SIGKILL)
                }
            }
        }
        let elapsed = ContinuousClock.now - started
        // Fewer than 300 answered 2xx: the expectation below fails, and the daemon must still die
        // (waiting for it would hold this thread, which the other tests' servers need, for good).
        if !killed.withLock({ $0 }) { kill(daemon.processIdentifier, SIGKILL) }
        daemon.waitUntilExit()
        #expect(daemon.terminationReason == .uncaughtSignal)
        let delivered = answered.withLock { $0 }
        #expect(delivered.count >= 300)
        print("webhook burst: \(delivered.count) answered 2xx in \(elapsed) before SIGKILL")

        // Restart: every answered delivery is there with its job.
        let again = try start(world)
        defer {
            again.terminate()
            again.waitUntilExit()
        }
        _ = try listeningPort(world)
        let stored = try world.database().read { db in
            try Row.fetchAll(db, sql: """
                SELECT d.delivery_id, j.id AS job FROM webhook_deliveries d LEFT JOIN jobs j ON j.id = d.job_id
                WHERE d.source = 'hooks'
                """)
        }
        let found = Dictionary(stored.map { ($0["delivery_id"] as String, $0["job"] as Int64?) }, uniquingKeysWith: { a, _ in a })
        let missing = delivered.filter { found[$0] == nil }
        #expect(missing.isEmpty, "answered 2xx but not stored: \(missing.prefix(10))")
        let jobless = delivered.filter { found[$0] != nil && found[$0]! == nil }
        #expect(jobless.isEmpty, "stored without a job: \(jobless.prefix(10))")
    }
}
