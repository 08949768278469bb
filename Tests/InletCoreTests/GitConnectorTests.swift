import Foundation
import GRDB
import Logging
import Testing

@testable import InletCore

/// A git repository a test builds with the git command line, in a temporary folder.
final class ScratchRepository {
    let directory: TemporaryDirectory
    var path: String { directory.file("work") }

    init(branch: String = "main") throws {
        directory = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory.file("work"), withIntermediateDirectories: true)
        try git("init", "-q", "-b", branch)
    }

    /// Runs git in the work tree with a fixed identity and no user config; returns stdout.
    @discardableResult
    func git(_ arguments: String...) throws -> String { try git(arguments) }

    @discardableResult
    func git(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/git")
        process.arguments = ["-c", "user.name=Inlet Tests", "-c", "user.email=tests@inlet.invalid", "-c", "commit.gpgsign=false"] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: path)
        var environment = ProcessInfo.processInfo.environment
        environment["GIT_CONFIG_NOSYSTEM"] = "1"
        environment["HOME"] = directory.path
        process.environment = environment
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CCompiler.CompileError(message: "git \(arguments.joined(separator: " ")): \(String(decoding: errors, as: UTF8.self))")
        }
        return String(decoding: data, as: UTF8.self)
    }

    func write(_ name: String, _ contents: String) throws { try write(name, Data(contents.utf8)) }

    func write(_ name: String, _ contents: Data) throws {
        let target = (path as NSString).appendingPathComponent(name)
        try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try contents.write(to: URL(fileURLWithPath: target))
    }

    func commit(_ message: String) throws {
        try git("add", "-A")
        try git("commit", "-q", "--allow-empty", "-m", message)
    }

    /// `git ls-tree -r` of a revision: path → blob id.
    func listing(_ revision: String = "HEAD") throws -> [String: String] {
        var out: [String: String] = [:]
        for line in try git("ls-tree", "-r", revision).split(separator: "\n") {
            let parts = line.split(separator: "\t", maxSplits: 1)
            out[String(parts[1])] = String(parts[0].split(separator: " ")[2])
        }
        return out
    }
}

@Suite("The git connector (libInletGit.so) through InletCore")
struct GitConnectorTests {
    let logger = Logger(label: "test")
    static var plugin: String { (BuildProducts.binDirectory as NSString).appendingPathComponent("libInletGit.so") }

    struct World {
        let repository: ScratchRepository
        let directory: TemporaryDirectory
        let database: InletDatabase
        let instance: ConnectorInstance
        let runner: SyncRunner

        func sync(full: Bool = false) async -> SyncRunner.Result {
            await runner.run(instance: instance, args: full ? #"{"full": true}"# : "{}")
        }

        struct Document {
            var version: Int
            var deleted: Bool
            var blobSHA: String?
            var metadata: [String: Any]
            var content: String?
        }

        func documents() throws -> [String: Document] {
            try database.pool.read { db in
                var out: [String: Document] = [:]
                let rows = try Row.fetchAll(db, sql: """
                    SELECT d.key, d.version, d.deleted, d.blob_sha, d.metadata, b.content FROM documents d
                    LEFT JOIN blobs b ON b.sha = d.blob_sha WHERE d.source = 'repo'
                    """)
                for row in rows {
                    let metadata = try JSONSerialization.jsonObject(with: Data((row["metadata"] as String).utf8)) as? [String: Any] ?? [:]
                    let content = (row["content"] as Data?).map { String(decoding: $0, as: UTF8.self) }
                    out[row["key"]] = Document(version: row["version"], deleted: row["deleted"], blobSHA: row["blob_sha"], metadata: metadata, content: content)
                }
                return out
            }
        }

        /// Live file records (the digest aside).
        func liveFiles() throws -> [String: Document] { try documents().filter { !$0.value.deleted && $0.key != "_digest" } }
    }

    func world(_ repository: ScratchRepository, config: [String: Any] = [:]) async throws -> World {
        let directory = try TemporaryDirectory()
        let database = try InletDatabase(path: directory.file("inlet.db"))
        var block = config
        block["url"] = block["url"] ?? repository.path
        let json = String(decoding: try JSONSerialization.data(withJSONObject: block), as: UTF8.self)
        let plugin = try PluginLibrary.load(path: Self.plugin)
        let instance = try await ConnectorInstance.create(
            plugin: plugin, source: "repo", configJSON: json, dataDirectory: directory.file("data"),
            configDirectory: directory.path, logger: logger)
        return World(repository: repository, directory: directory, database: database, instance: instance,
                     runner: SyncRunner(database: database, logger: logger))
    }

    /// A repository with code, docs, a binary, a large file and a folder the globs leave out.
    func sampleRepository() throws -> ScratchRepository {
        let repository = try ScratchRepository()
        try repository.write("README.md", "# Sample\n\nA repository for tests.\n")
        try repository.write("Sources/App/main.swift", "print(\"hello\")\n")
        try repository.write("Sources/App/util.swift", "func util() -> Int { 1 }\n")
        try repository.write("Makefile", "all:\n\techo ok\n")
        try repository.write("assets/logo.png", Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00]))
        try repository.write("data/big.txt", String(repeating: "0123456789abcdef\n", count: 200))
        try repository.write("skip/ignored.txt", "not taken\n")
        try repository.write("vendor/lib/x.c", "int x;\n")
        try repository.commit("first")
        return repository
    }

    func expectRecordsMatchGit(_ world: World, filter: (String) -> Bool) throws {
        let files = try world.liveFiles()
        let expected = try world.repository.listing().filter { filter($0.key) }
        #expect(Set(files.keys) == Set(expected.keys))
        for (path, sha) in expected {
            #expect(files[path]?.metadata["blob_sha"] as? String == sha, "\(path)")
        }
    }

    @Test func fullSyncEqualsLsTreeFilteredByGlobs() async throws {
        let repository = try sampleRepository()
        let world = try await world(repository, config: ["exclude": ["skip/**"], "max_file_size": "1KB"])
        let result = await world.sync()
        #expect(result.status == .ok, "\(result.message ?? "")")
        try expectRecordsMatchGit(world) { !$0.hasPrefix("skip/") }

        let files = try world.liveFiles()
        let main = try #require(files["Sources/App/main.swift"])
        #expect(main.content == "print(\"hello\")\n")
        #expect(main.blobSHA == main.metadata["blob_sha"] as? String)
        #expect(main.metadata["language"] as? String == "Swift")
        #expect(main.metadata["category"] as? String == "code")
        #expect(main.metadata["branch"] as? String == "main")
        #expect(main.metadata["repo"] as? String == repository.path)
        #expect(main.metadata["commit_sha"] as? String == (try repository.git("rev-parse", "HEAD")).trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(main.metadata["is_binary"] as? Bool == false)
        #expect(main.metadata["size"] as? Int == 15)

        let logo = try #require(files["assets/logo.png"])
        #expect(logo.blobSHA == nil)
        #expect(logo.metadata["is_binary"] as? Bool == true)
        #expect(logo.metadata["category"] as? String == "binary")

        let big = try #require(files["data/big.txt"])
        #expect(big.blobSHA == nil)
        #expect(big.metadata["too_large"] as? Bool == true)
        #expect(big.metadata["size"] as? Int == 3400)
        #expect(big.metadata["is_binary"] as? Bool == false)

        #expect(files["vendor/lib/x.c"]?.metadata["vendored"] as? Bool == true)

        let digest = try #require(try world.documents()["_digest"])
        let text = try #require(digest.content)
        #expect(text.contains("FILE: Sources/App/main.swift"))
        #expect(text.contains("print(\"hello\")"))
        #expect(text.contains("Directory structure:"))
        #expect(!text.contains("skip/"))
        #expect(!text.contains("FILE: data/big.txt"))
        #expect(digest.metadata["files"] as? Int == 7)

        // Unchanged: nothing emitted at all.
        let again = await world.sync()
        #expect(again.status == .ok)
        #expect(again.counts.written == 0 && again.counts.deleted == 0)
        await world.instance.destroy()
    }

    @Test func incrementalSyncFollowsAddsEditsRenamesAndDeletions() async throws {
        let repository = try sampleRepository()
        let world = try await world(repository)
        #expect(await world.sync().status == .ok)
        let before = try world.documents()

        try repository.write("Sources/App/main.swift", "print(\"hello, world\")\n")  // edit
        try repository.git("mv", "Makefile", "GNUmakefile")                          // rename
        try FileManager.default.removeItem(atPath: repository.path + "/README.md")     // delete
        try repository.write("docs/guide.md", "# Guide\n")                             // add
        try repository.commit("second")

        let result = await world.sync()
        #expect(result.status == .ok, "\(result.message ?? "")")
        try expectRecordsMatchGit(world) { _ in true }
        let after = try world.documents()
        #expect(after["README.md"]?.deleted == true)
        #expect(after["Makefile"]?.deleted == true)
        #expect(after["GNUmakefile"]?.deleted == false)
        #expect(after["GNUmakefile"]?.content == "all:\n\techo ok\n")
        #expect(after["docs/guide.md"]?.content == "# Guide\n")
        #expect(after["Sources/App/main.swift"]?.content == "print(\"hello, world\")\n")
        #expect(after["Sources/App/main.swift"]?.version == 2)
        // Unchanged files were not emitted again: their version and commit stay.
        #expect(after["Sources/App/util.swift"]?.version == 1)
        #expect(after["Sources/App/util.swift"]?.metadata["commit_sha"] as? String == before["Sources/App/util.swift"]?.metadata["commit_sha"] as? String)
        // inserted: GNUmakefile, docs/guide.md; updated: main.swift and the digest; deleted: 2.
        #expect(result.counts.inserted == 2)
        #expect(result.counts.updated == 2)
        #expect(result.counts.deleted == 2)
        #expect(result.total == 5)
        await world.instance.destroy()
    }

    @Test func forcePushComparesTreesWithoutReemittingUnchangedFiles() async throws {
        let repository = try sampleRepository()
        try repository.write("notes.txt", "one\n")
        try repository.commit("second")
        let world = try await world(repository)
        #expect(await world.sync().status == .ok)

        // Rewrite history: drop "second", commit something else on top of "first".
        try repository.git("reset", "-q", "--hard", "HEAD~1")
        try repository.write("notes.txt", "rewritten\n")
        try repository.write("Sources/App/util.swift", "func util() -> Int { 2 }\n")
        try repository.commit("second, rewritten")

        let result = await world.sync()
        #expect(result.status == .ok, "\(result.message ?? "")")
        try expectRecordsMatchGit(world) { _ in true }
        let documents = try world.documents()
        #expect(documents["notes.txt"]?.content == "rewritten\n")
        #expect(documents["Sources/App/util.swift"]?.version == 2)
        #expect(documents["Sources/App/main.swift"]?.version == 1)
        #expect(documents["README.md"]?.version == 1)
        // Two files and the digest changed; nothing else was emitted.
        #expect(result.counts.updated == 3)
        #expect(result.counts.inserted == 0)
        #expect(result.total == 2)
        await world.instance.destroy()
    }

    @Test func emptyRepositoryEmitsOnlyTheDigest() async throws {
        let repository = try ScratchRepository()
        let world = try await world(repository)
        let result = await world.sync()
        #expect(result.status == .ok, "\(result.message ?? "")")
        let documents = try world.documents()
        #expect(Array(documents.keys) == ["_digest"])
        #expect(documents["_digest"]?.content?.contains("Files analyzed: 0") == true)

        // The first commit then arrives like any other change.
        try repository.write("a.txt", "a\n")
        try repository.commit("first")
        #expect(await world.sync().status == .ok)
        try expectRecordsMatchGit(world) { _ in true }
        await world.instance.destroy()
    }

    @Test func missingBranchFailsWithAClearMessage() async throws {
        let repository = try sampleRepository()
        let world = try await world(repository, config: ["branch": "nope"])
        let result = await world.sync()
        #expect(result.status == .failed)
        #expect(result.message?.contains("branch 'nope' does not exist") == true, "\(result.message ?? "")")
        #expect(result.message?.contains("main") == true)
        #expect(try world.documents().isEmpty)
        await world.instance.destroy()
    }

    @Test func theDigestIsCutAt512KBWithANotice() async throws {
        let repository = try ScratchRepository()
        let line = String(repeating: "x", count: 99) + "\n"
        for index in 0..<8 {
            try repository.write("part\(index).txt", String(repeating: line, count: 1000))  // 100 KB each
        }
        try repository.write("README.md", "# Big\n")
        try repository.commit("big")
        let world = try await world(repository)
        #expect(await world.sync().status == .ok)
        let digest = try #require(try world.documents()["_digest"])
        let text = try #require(digest.content)
        #expect(text.utf8.count <= 512 * 1024)
        #expect(text.contains("[Digest truncated at 512 KB: "))
        #expect(text.contains("FILE: README.md"))
        #expect(text.range(of: "FILE: README.md")!.lowerBound < text.range(of: "FILE: part0.txt")!.lowerBound)
        #expect(!text.contains("FILE: part7.txt"))
        #expect(digest.metadata["truncated"] as? Bool == true)
        #expect((digest.metadata["left_out_files"] as? Int ?? 0) >= 3)
        #expect(digest.metadata["files"] as? Int == 9)
        await world.instance.destroy()
    }

    @Test func aDetachedHeadFallsBackToTheOnlyBranch() async throws {
        let repository = try ScratchRepository(branch: "work")
        try repository.write("a.txt", "a\n")
        try repository.commit("first")
        try repository.git("checkout", "-q", "--detach")
        let world = try await world(repository)
        let result = await world.sync()
        #expect(result.status == .ok, "\(result.message ?? "")")
        #expect(try world.liveFiles()["a.txt"]?.metadata["branch"] as? String == "work")
        await world.instance.destroy()
    }

    @Test func settingsChangeDropsRecordsTheNewGlobsLeaveOut() async throws {
        let repository = try sampleRepository()
        let first = try await world(repository)
        #expect(await first.sync().status == .ok)
        await first.instance.destroy()
        // Same database and data folder, new config: only Swift files.
        let plugin = try PluginLibrary.load(path: Self.plugin)
        let json = #"{"url": "\#(repository.path)", "include": ["**/*.swift"]}"#
        let instance = try await ConnectorInstance.create(
            plugin: plugin, source: "repo", configJSON: json, dataDirectory: first.directory.file("data"),
            configDirectory: first.directory.path, logger: logger)
        let second = World(repository: repository, directory: first.directory, database: first.database, instance: instance, runner: first.runner)
        #expect(await second.sync().status == .ok)
        try expectRecordsMatchGit(second) { $0.hasSuffix(".swift") }
        await instance.destroy()
    }
}
