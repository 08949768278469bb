import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import InletCore
import InletHTTP
import Logging
import Metrics
import Prometheus

/// A temporary folder per test, removed at the end.
final class TemporaryDirectory: Sendable {
    let path: String

    init() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("inlet-http-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        path = base.path
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// The process-wide metrics registry: swift-metrics is bootstrapped once per process, so tests
/// that read metrics use source names of their own.
enum TestMetrics {
    static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory.inlet(registry: registry))
        return registry
    }()
}

/// A database, a queue and the HTTP surface over them, configured from YAML.
struct HTTPHarness {
    let directory: TemporaryDirectory
    let database: InletDatabase
    let queue: JobQueue
    let config: InletConfig
    let surface: HTTPSurface
    /// What the orchestrator would say of sources that cannot run (empty: all can).
    let availability = SourceAvailability()

    static let secret = "It's a Secret to Everybody"

    /// A config with source `acme` taking webhooks under `secret`, `plain` without webhooks.
    static func yaml(source: String = "acme", secrets: [String] = [secret], maxSize: Int = 100, admin: String? = "t0ken") -> String {
        let list = secrets.map { "\"\($0)\"" }.joined(separator: ", ")
        return """
            queue: { max_size: \(maxSize) }
            \(admin.map { "admin: { token: \"\($0)\" }" } ?? "")
            sources:
              - name: \(source)
                connector: github
                webhook: { secrets: [\(list)] }
              - name: plain
                connector: folder
                schedule: every 5m
            """
    }

    init(yaml: String = HTTPHarness.yaml(), bodyBudget: BodyBudget = BodyBudget(limit: WebhookReceiver.bodyBudgetBytes)) throws {
        directory = try TemporaryDirectory()
        config = try ConfigLoader.load(yaml: yaml, file: directory.path + "/inlet.yaml", environment: [:])
        database = try InletDatabase(dataDirectory: directory.path)
        queue = JobQueue(database: database, maxSize: config.queue.maxSize)
        surface = HTTPSurface(
            config: LiveConfig(config), queue: queue, committer: GroupCommitter(database: database), registry: TestMetrics.registry,
            availability: availability, bodyBudget: bodyBudget, logger: Logger(label: "inlet-http-tests"))
    }

    /// The server on an ephemeral port of 127.0.0.1.
    var application: some ApplicationProtocol {
        surface.application(listen: .init(host: "127.0.0.1", port: 0))
    }

    func count(_ table: String) throws -> Int {
        try database.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table)") ?? 0 }
    }

    /// Nothing stored: no delivery, no job.
    func isEmpty() throws -> Bool {
        try count("webhook_deliveries") == 0 && count("jobs") == 0
    }
}

/// Real GitHub deliveries, from the docs' examples.
enum Fixture {
    static func payload(_ name: String) throws -> [UInt8] {
        var url = URL(fileURLWithPath: #filePath)
        url.deleteLastPathComponent()
        return Array(try Data(contentsOf: url.appendingPathComponent("Fixtures/github/\(name).json")))
    }
}

extension HTTPFields {
    /// The headers GitHub sends with a delivery, signed with `secret` (nil: no signature).
    static func github(event: String, delivery: String = UUID().uuidString, body: [UInt8], secret: String? = HTTPHarness.secret) -> HTTPFields {
        var fields: HTTPFields = [
            .contentType: "application/json",
            HTTPField.Name("X-GitHub-Event")!: event,
            HTTPField.Name("X-GitHub-Delivery")!: delivery,
            .userAgent: #"GitHub-Hookshot/044aadd (test "quoted" \ back)"#,
        ]
        if let secret { fields[HTTPField.Name("X-Hub-Signature-256")!] = WebhookSignature.sign(body, secret: secret) }
        return fields
    }
}

extension TestClientProtocol {
    /// POSTs `body` to `/webhooks/SOURCE` as GitHub delivers it (the headers of
    /// `HTTPFields.github`), and hands the response to `testCallback` as `execute` does.
    @discardableResult
    func deliver<Return>(
        _ body: [UInt8], to source: String = "acme", event: String = "push", delivery: String = UUID().uuidString,
        secret: String? = HTTPHarness.secret, testCallback: @escaping (TestResponse) async throws -> Return = { $0 }
    ) async throws -> Return {
        try await execute(
            uri: "/webhooks/\(source)", method: .post, headers: .github(event: event, delivery: delivery, body: body, secret: secret),
            body: ByteBuffer(bytes: body), testCallback: testCallback)
    }
}

extension ByteBuffer {
    var text: String { String(buffer: self) }

    /// The body as a JSON object.
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(readableBytesView))) as? [String: Any] ?? [:]
    }
}
