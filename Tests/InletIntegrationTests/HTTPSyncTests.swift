import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization
import Testing

/// `inlet sync` of a connector that calls host->http: the binary wires the HTTP service, and its
/// ETag cache lives in the database from one process to the next.
@Suite("inlet sync with host->http")
struct HTTPSyncTests {
    @Test func aSecondSyncSendsTheStoredETagAndGetsTheCachedAnswer() async throws {
        let seen = Mutex<[String?]>([])
        let router = Router()
        router.get("status") { request, _ -> Response in
            let tag = request.headers[HTTPField.Name("If-None-Match")!]
            seen.withLock { $0.append(tag) }
            var headers = HTTPFields()
            headers[HTTPField.Name("ETag")!] = "\"s1\""
            if tag == "\"s1\"" { return Response(status: .notModified, headers: headers) }
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: "all green")))
        }
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let logger = Logger(label: "upstream")
        let application = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { continuation.yield($0.localAddress?.port ?? 0) }, logger: logger)
        let group = ServiceGroup(services: [application], logger: logger)
        let server = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())

        let world = try InletWorld()
        try world.write("inlet.yaml", """
            data_dir: ./var
            sources:
              - name: echo
                connector: swift-echo
                plugin: \(Paths.binDirectory)/libInletTestPlugin.so
                config: { records: [], http_url: "http://127.0.0.1:\(port)/status" }
            """)
        let root = world.root
        var environment = ProcessInfo.processInfo.environment
        environment["INLET_PLUGIN_PATH"] = nil
        environment["INLET_CONFIG"] = nil
        let sync = { [environment] in
            try await inBackground { try Process.run(Paths.inletBinary, ["sync", "echo", "--config", "inlet.yaml"], cwd: root, environment: environment) }
        }
        let first = try await sync()
        let second = try await sync()
        await group.triggerGracefulShutdown()
        _ = try? await server.value

        #expect(first.status == 0, "\(first.stderr)")
        #expect(second.status == 0, "\(second.stderr)")
        #expect(seen.withLock { $0 } == [nil, "\"s1\""])
        let row = try world.database().read { db in
            try Row.fetchOne(db, sql: """
                SELECT d.metadata, b.content FROM documents d JOIN blobs b ON b.sha = d.blob_sha
                WHERE d.source = 'echo' AND d.key = 'http'
                """)
        }
        let stored = try #require(row)
        let metadata = try JSONSerialization.jsonObject(with: Data((stored["metadata"] as String).utf8)) as? [String: Any]
        #expect(metadata?["status"] as? Int == 200)
        #expect(metadata?["not_modified"] as? Bool == true)
        #expect(String(decoding: stored["content"] as Data, as: UTF8.self) == "all green")
    }

    /// Runs blocking work (a child process) on a thread of its own, off the cooperative pool the
    /// server's handlers need.
    private func inBackground<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try body() }) }.start()
        }
    }
}
