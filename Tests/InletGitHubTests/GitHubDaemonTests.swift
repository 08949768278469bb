import Crypto
import Foundation
import GRDB
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `inlet run` with a github source: the scheduled discovery ingests the owner at start, then a
/// signed push webhook to `/webhooks/acme` makes the daemon sync that repository again (the
/// head is checked although the listing was not asked for again).
@Suite("GitHub connector: inlet run and a push webhook", .serialized)
struct GitHubDaemonTests {
    static let secret = "It's a Secret to Everybody"

    @Test func aSignedPushWebhookResyncsItsRepositoryInTheDaemon() async throws {
        let standIn = try await GitHubStandIn.start()
        standIn.world.withLock { GitHubSyncTests.acme()(&$0) }
        let folder = try ScratchFolder()
        let config = folder.file("inlet.yaml")
        try """
            data_dir: ./var
            listen: 127.0.0.1:0
            sources:
              - name: acme
                connector: github
                plugin: \(GitHubHarness.plugin)
                schedule: every 1h
                webhook: { secret: "${TEST_WEBHOOK_SECRET}" }
                config: { owner: acme, token: "${TEST_GITHUB_TOKEN}", base_url: "\(standIn.baseURL)", exclude_repos: ["archive-*"] }
            """.write(toFile: config, atomically: true, encoding: .utf8)

        let daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: (GitHubHarness.plugin as NSString).deletingLastPathComponent + "/inlet")
        daemon.arguments = ["run", "--config", config, "--log-level", "info"]
        daemon.currentDirectoryURL = URL(fileURLWithPath: folder.path)
        var environment = ProcessInfo.processInfo.environment
        environment["TEST_GITHUB_TOKEN"] = "ghp_daemon"
        environment["TEST_WEBHOOK_SECRET"] = Self.secret
        environment["INLET_PLUGIN_PATH"] = nil
        daemon.environment = environment
        let logPath = folder.file("daemon.log")
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        daemon.standardOutput = log
        daemon.standardError = log
        try daemon.run()
        defer {
            if daemon.isRunning { daemon.terminate() }
            daemon.waitUntilExit()
        }
        func logText() -> String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

        let database = folder.file("var/inlet.db")
        func readme() throws -> String? {
            guard FileManager.default.fileExists(atPath: database) else { return nil }
            return try DatabaseQueue(path: database).read { db in
                try String.fetchOne(db, sql: """
                    SELECT CAST(b.content AS TEXT) FROM documents d JOIN blobs b ON b.sha = d.blob_sha
                    WHERE d.source = 'acme' AND d.key = 'acme/widgets/files/README.md' AND d.deleted = 0
                    """)
            }
        }
        func lastPullRequest() throws -> Bool {
            guard FileManager.default.fileExists(atPath: database) else { return false }
            return try DatabaseQueue(path: database).read { db in
                try Bool.fetchOne(db, sql: "SELECT 1 FROM documents WHERE source = 'acme' AND key = 'acme/widgets/pulls/3'") ?? false
            }
        }
        // The pull requests are the repository job's last requests: once they are in, it sends no more.
        try await waitUntil("the scheduled sync ingests the repository", explain: { "; daemon log:\n" + logText().suffix(3000) }) { try readme() == "# Widgets\n" && lastPullRequest() }
        let port = try await Self.port(logText)
        _ = standIn.requests(reset: true)

        // A push lands on GitHub; its webhook reaches the daemon.
        standIn.world.withLock { $0.push("acme/widgets", ["README.md": "# Widgets\n\nPushed.\n"]) }
        let payload = try Fixtures.webhook("push/payload.json") { payload in
            var repository = payload["repository"] as! [String: Any]
            repository["full_name"] = "acme/widgets"
            repository["name"] = "widgets"
            repository["default_branch"] = "main"
            payload["repository"] = repository
            payload["ref"] = "refs/heads/main"
        }
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/webhooks/acme")!)
        request.httpMethod = "POST"
        request.httpBody = Data(payload)
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("push", forHTTPHeaderField: "X-GitHub-Event")
        request.setValue(UUID().uuidString, forHTTPHeaderField: "X-GitHub-Delivery")
        let mac = HMAC<SHA256>.authenticationCode(for: payload, using: SymmetricKey(data: Data(Self.secret.utf8)))
        request.setValue("sha256=" + mac.map { String(format: "%02x", $0) }.joined(), forHTTPHeaderField: "X-Hub-Signature-256")
        let (_, response) = try await URLSession.shared.data(for: request)
        #expect((response as? HTTPURLResponse)?.statusCode == 202)

        try await waitUntil("the push is synced", explain: { "; daemon log:\n" + logText().suffix(3000) }) { try readme() == "# Widgets\n\nPushed.\n" }
        let after = standIn.requests().lines
        #expect(after.first == "GET /repos/acme/widgets/commits/main", "the push's repo job checks the head at once: \(after)")
        #expect(!after.contains("GET /orgs/acme/repos"), "no discovery was needed")
        #expect(!logText().contains("ghp_daemon"), "the token is never logged")
        daemon.terminate()
        await standIn.stop()
    }

    static func port(_ log: () -> String) async throws -> Int {
        var port: Int?
        try await waitUntil("the daemon logs its port", explain: { "; daemon log:\n" + log().suffix(3000) }) {
            let text = log()
            guard let range = text.range(of: #"listening on 127\.0\.0\.1:[0-9]+"#, options: .regularExpression) else { return false }
            port = Int(text[range].split(separator: ":").last ?? "")
            return port != nil
        }
        return port!
    }
}
