import Foundation
import GRDB
import Logging
import Testing

@testable import InletCore

@Suite("Swift SDK plugin, loaded with dlopen")
struct SwiftPluginRoundTripTests {
    let logger = Logger(label: "test")

    func instance(config: String, database: InletDatabase, directory: TemporaryDirectory) async throws -> ConnectorInstance {
        let plugin = try PluginLibrary.load(path: BuildProducts.swiftEchoPlugin)
        return try await ConnectorInstance.create(
            plugin: plugin, source: "echo", configJSON: config, dataDirectory: directory.file("data"),
            configDirectory: directory.path, logger: logger)
    }

    @Test func loadsAndDescribesItself() throws {
        let plugin = try PluginLibrary.load(path: BuildProducts.swiftEchoPlugin)
        #expect(plugin.name == "swift-echo")
        #expect(plugin.version == "0.1.0")
        #expect(plugin.abiVersion == ABIVersion.host)
        #expect(plugin.capabilities.contains(.webhooks))
        #expect(plugin.configSchema?.contains("fail_after") == true)
    }

    @Test func roundTripsRecordsAndState() async throws {
        let directory = try TemporaryDirectory()
        let database = try InletDatabase(path: directory.file("inlet.db"))
        let config = #"{"records": [{"key": "a", "content": "hello"}, {"key": "b", "content": "world", "kind": "doc"}]}"#
        let connector = try await instance(config: config, database: database, directory: directory)
        let runner = SyncRunner(database: database, logger: logger)

        let first = await runner.run(instance: connector)
        #expect(first.status == .ok)
        #expect(first.counts.inserted == 2)
        #expect(try StateStore(database: database).value(source: "echo", key: "runs") == Array("1".utf8))

        let rows = try database.pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT d.key, d.kind, d.metadata, d.blob_sha, d.version, b.content
                FROM documents d JOIN blobs b ON b.sha = d.blob_sha WHERE d.source = 'echo' ORDER BY d.key
                """)
        }
        #expect(rows.map { $0["key"] as String } == ["a", "b"])
        #expect(rows.map { $0["kind"] as String } == ["note", "doc"])
        #expect(rows.map { String(decoding: $0["content"] as Data, as: UTF8.self) } == ["hello", "world"])
        // git hash-object of "hello" (no newline)
        #expect(rows[0]["blob_sha"] as String == "b6fc4c620b67d95f953a5c1c1230aaab5db5a1b0")

        // Second run: metadata carries the run number, so each record is updated, and state moves on.
        let second = await runner.run(instance: connector)
        #expect(second.counts.updated == 2)
        #expect(try StateStore(database: database).value(source: "echo", key: "runs") == Array("2".utf8))
        await connector.destroy()
    }

    @Test func anInstanceIsNotDestroyedWhileACallStillRunsInIt() async throws {
        let directory = try TemporaryDirectory()
        let database = try InletDatabase(path: directory.file("inlet.db"))
        let connector = try await instance(config: #"{"hang": "until_cancelled"}"#, database: database, directory: directory)
        let call = PluginCall(source: "echo", mode: .job(commit: nil), logger: logger)
        let (results, continuation) = AsyncStream.makeStream(of: ConnectorInstance.CallResult.self)
        connector.startSync(kind: "sync", args: "{}", call: call) { continuation.yield($0) }
        #expect(connector.callsRunning == 1)
        // A call the host gave up on (watchdog, shutdown) may still run: destroy waits for it.
        #expect(await connector.destroy() == false)
        #expect(!connector.isDestroyed)
        #expect(!connector.reserve())  // no job takes a retired instance
        call.cancel()
        var iterator = results.makeAsyncIterator()
        #expect(await iterator.next()?.status == .retry)
        // The call's return ran the destroy asked for; once only.
        #expect(connector.callsRunning == 0)
        #expect(connector.isDestroyed)
        #expect(await connector.destroy() == false)
    }

    @Test func aReservedInstanceIsDestroyedWhenItsLastJobReleasesIt() async throws {
        let directory = try TemporaryDirectory()
        let database = try InletDatabase(path: directory.file("inlet.db"))
        let connector = try await instance(config: #"{"records": []}"#, database: database, directory: directory)
        #expect(connector.reserve())
        #expect(connector.reserve())
        #expect(await connector.destroy() == false)  // two jobs hold it
        connector.release()
        #expect(!connector.isDestroyed)
        connector.release()
        #expect(connector.isDestroyed)
    }

    @Test func failedSyncLeavesNothingBehind() async throws {
        let directory = try TemporaryDirectory()
        let database = try InletDatabase(path: directory.file("inlet.db"))
        let config = #"{"records": [{"key": "a", "content": "1"}, {"key": "b", "content": "2"}, {"key": "c", "content": "3"}], "fail_after": 2}"#
        let connector = try await instance(config: config, database: database, directory: directory)
        let result = await SyncRunner(database: database, logger: logger).run(instance: connector)
        #expect(result.status == .retry)
        #expect(result.message == "echo: told to fail")
        let counts = try await database.pool.read { db in
            (try Int.fetchOne(db, sql: "SELECT count(*) FROM documents")!,
             try Int.fetchOne(db, sql: "SELECT count(*) FROM blobs")!,
             try Int.fetchOne(db, sql: "SELECT count(*) FROM state")!)
        }
        #expect(counts == (0, 0, 0))
    }

    @Test func checkpointCommitsWhatCameBefore() async throws {
        let directory = try TemporaryDirectory()
        let database = try InletDatabase(path: directory.file("inlet.db"))
        let config = #"{"records": [{"key": "a"}, {"key": "b"}, {"key": "c"}], "checkpoint_after": 2, "fail_after": 2, "fail_status": "failed"}"#
        let connector = try await instance(config: config, database: database, directory: directory)
        let result = await SyncRunner(database: database, logger: logger).run(instance: connector)
        #expect(result.status == .failed)
        let keys = try await database.pool.read { db in try String.fetchAll(db, sql: "SELECT key FROM documents ORDER BY key") }
        #expect(keys == ["a", "b"])
        // The state staged before the checkpoint was committed with those records.
        #expect(try StateStore(database: database).value(source: "echo", key: "runs") == Array("1".utf8))
    }

    @Test func rateLimitCarriesRetryAfter() async throws {
        let directory = try TemporaryDirectory()
        let database = try InletDatabase(path: directory.file("inlet.db"))
        let connector = try await instance(
            config: #"{"records": [], "fail_after": 0, "fail_status": "rate_limited"}"#, database: database, directory: directory)
        let result = await SyncRunner(database: database, logger: logger).run(instance: connector)
        #expect(result.status == .rateLimited)
        #expect(result.retryAfter == .seconds(42))
    }

    @Test func createErrorIsReportedWithPluginMessage() async throws {
        let directory = try TemporaryDirectory()
        let database = try InletDatabase(path: directory.file("inlet.db"))
        await #expect {
            _ = try await instance(config: #"{"refuse": "token is missing"}"#, database: database, directory: directory)
        } throws: { error in
            let error = error as! PluginError
            return error.code == .createFailed && error.description.contains("token is missing")
                && error.description.contains("libInletTestPlugin.so")
        }
    }

    @Test func aDataFolderTheHostCannotCreateIsTheHostsFailureNotThePlugins() async throws {
        // Transient (a full disk, a permission): the job retries, where a plugin's refusal quarantines.
        let directory = try TemporaryDirectory()
        let database = try InletDatabase(path: directory.file("inlet.db"))
        _ = FileManager.default.createFile(atPath: directory.file("data"), contents: Data("a file".utf8))
        await #expect {
            _ = try await instance(config: "{}", database: database, directory: directory)
        } throws: { error in
            (error as? PluginError)?.code == .hostFailed && "\(error)".contains("cannot create")
        }
    }

    @Test func configDecodingErrorNamesTheField() async throws {
        let directory = try TemporaryDirectory()
        let database = try InletDatabase(path: directory.file("inlet.db"))
        await #expect {
            _ = try await instance(config: #"{"fail_after": "two"}"#, database: database, directory: directory)
        } throws: { error in
            "\(error)".contains("fail_after")
        }
    }
}
