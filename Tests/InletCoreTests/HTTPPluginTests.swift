import CInletABI
import Foundation
import GRDB
import Logging
import Testing

@testable import InletCore

@Suite("host->http from real plugins (Swift SDK and plain C)")
struct HTTPPluginTests {
    /// The Swift echo connector with the harness's service, for `http` jobs.
    func echo(_ harness: HTTPServiceHarness, source: String = "echo") async throws -> ConnectorInstance {
        let plugin = try PluginLibrary.load(path: BuildProducts.swiftEchoPlugin)
        return try await ConnectorInstance.create(
            plugin: plugin, source: source, configJSON: "{}", dataDirectory: harness.directory.file("data"),
            configDirectory: harness.directory.path, logger: harness.logs.logger(), http: harness.service)
    }

    func record(_ database: InletDatabase, source: String = "echo", key: String = "http") throws -> (metadata: [String: Any], content: String)? {
        try database.pool.read { db in
            try Row.fetchOne(db, sql: """
                SELECT d.metadata, b.content FROM documents d LEFT JOIN blobs b ON b.sha = d.blob_sha
                WHERE d.source = ? AND d.key = ?
                """, arguments: [source, key])
        }.map { row in
            let metadata = try JSONSerialization.jsonObject(with: Data((row["metadata"] as String).utf8)) as! [String: Any]
            return (metadata, String(decoding: (row["content"] as Data?) ?? Data(), as: UTF8.self))
        }
    }

    @Test func theSwiftSDKGetsTheAnswerAndTheEngineCommitsWhatItEmits() async throws {
        let harness = try await HTTPServiceHarness { seen in
            .init(200, headers: [("X-Seen-Auth", seen.header("authorization") == nil ? "no" : "yes")], "body of \(seen.path)")
        }
        let instance = try await echo(harness)
        let args = #"{"url": "\#(harness.server.url("/items/1"))", "headers": {"Authorization": "Bearer s3cr3t"}}"#
        let result = await SyncRunner(database: harness.database, logger: harness.logs.logger()).run(instance: instance, kind: "http", args: args)
        await instance.destroy()
        await harness.stop()
        #expect(result.status == .ok)
        let stored = try #require(try record(harness.database))
        #expect(stored.content == "body of /items/1")
        #expect(stored.metadata["status"] as? Int == 200)
        #expect(stored.metadata["not_modified"] as? Bool == false)
        #expect((stored.metadata["headers"] as? [String: Any])?["x-seen-auth"] as? String == "yes")
        #expect(harness.server.requests.map(\.path) == ["/items/1"])
    }
}
