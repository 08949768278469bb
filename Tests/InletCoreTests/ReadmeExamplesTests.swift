import Foundation
import GRDB
import Logging
import Testing

@testable import InletCore

/// The README's "write a connector" examples are these files, verbatim; the tests build and run them.
@Suite("README connector examples")
struct ReadmeExamplesTests {
    let logger = Logger(label: "test")

    func readme() throws -> String { try String(contentsOfFile: BuildProducts.repositoryRoot + "/README.md", encoding: .utf8) }

    func example(_ relative: String) throws -> String {
        try String(contentsOfFile: BuildProducts.repositoryRoot + "/Examples/" + relative, encoding: .utf8)
    }

    @Test func readmeShowsTheExamplesVerbatim() throws {
        let readme = try readme()
        #expect(readme.contains("```c\n" + (try example("CLoadAverage/loadavg.c")) + "```"))
        #expect(readme.contains("```swift\n" + (try example("SwiftGreeter/GreeterConnector.swift")) + "```"))
    }

    @Test func cExampleBuildsWithPlainCCAndSyncs() async throws {
        let directory = try TemporaryDirectory()
        let output = directory.file("libloadavg.so")
        try CCompiler.sharedLibrary(
            sources: [BuildProducts.repositoryRoot + "/Examples/CLoadAverage/loadavg.c"], output: output,
            extraFlags: ["-Wall", "-Wextra", "-Werror"])
        let plugin = try PluginLibrary.load(path: output)
        #expect(plugin.name == "loadavg")
        let database = try InletDatabase(path: directory.file("inlet.db"))
        let instance = try await ConnectorInstance.create(
            plugin: plugin, source: "load", configJSON: "{}", dataDirectory: directory.file("data"),
            configDirectory: directory.path, logger: logger)
        let runner = SyncRunner(database: database, logger: logger)
        #expect(await runner.run(instance: instance).status == .ok)
        #expect(await runner.run(instance: instance).status == .ok)
        let keys = try await database.pool.read { db in try String.fetchAll(db, sql: "SELECT key FROM documents ORDER BY key") }
        #expect(keys == ["sample-1", "sample-2"])
        #expect(try StateStore(database: database).value(source: "load", key: "samples") == Array("2".utf8))
        await instance.destroy()
    }

    @Test func swiftExampleLoadsAndSyncs() async throws {
        let directory = try TemporaryDirectory()
        let plugin = try PluginLibrary.load(path: BuildProducts.binDirectory + "/libInletExampleGreeter.so")
        #expect(plugin.name == "greeter")
        let database = try InletDatabase(path: directory.file("inlet.db"))
        let instance = try await ConnectorInstance.create(
            plugin: plugin, source: "hi", configJSON: #"{"names": ["Ada", "Linus"], "greeting": "Hi"}"#,
            dataDirectory: directory.file("data"), configDirectory: directory.path, logger: logger)
        let result = await SyncRunner(database: database, logger: logger).run(instance: instance)
        #expect(result.status == .ok)
        #expect(result.counts.inserted == 2)
        let content = try await database.pool.read { db in
            try Data.fetchOne(db, sql: "SELECT b.content FROM documents d JOIN blobs b ON b.sha = d.blob_sha WHERE d.key = 'Ada'")
        }
        #expect(content == Data("Hi, Ada!".utf8))
        await instance.destroy()

        await #expect {
            _ = try await ConnectorInstance.create(
                plugin: plugin, source: "bad", configJSON: #"{"greeting": "Hi"}"#,
                dataDirectory: directory.file("data"), configDirectory: directory.path, logger: logger)
        } throws: { error in
            "\(error)".contains("missing field 'names'")
        }
    }
}
