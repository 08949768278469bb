import Foundation
import GRDB
import Testing

@testable import InletCore

/// The built `inlet` binary, as a user runs it: `inlet sync` of a github source (token from the
/// environment) against the stand-in, twice; the second run spends only free 304s.
@Suite("GitHub connector: inlet sync")
struct GitHubCommandLineTests {
    @Test func inletSyncIngestsTheOwnerAndAnUnchangedRerunSpendsOnlyConditionalRequests() async throws {
        let standIn = try await GitHubStandIn.start()
        standIn.world.withLock { world in
            GitHubSyncTests.acme()(&world)
            world.tokens = ["ghp_from_the_environment"]
        }
        let folder = try ScratchFolder()
        let config = folder.file("inlet.yaml")
        try """
            data_dir: ./var
            sources:
              - name: acme
                connector: github
                plugin: \(GitHubHarness.plugin)
                config:
                  owner: acme
                  token: "${TEST_GITHUB_TOKEN}"
                  base_url: \(standIn.baseURL)
                  exclude_repos: ["archive-*"]
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let inlet = (GitHubHarness.plugin as NSString).deletingLastPathComponent + "/inlet"

        let first = try Self.run(inlet, ["sync", "acme", "--config", config, "--json"], in: folder)
        #expect(first.status == 0, "\(first.errors)")
        let second = try Self.run(inlet, ["sync", "acme", "--config", config, "--json"], in: folder)
        #expect(second.status == 0, "\(second.errors)")
        await standIn.stop()

        let requests = standIn.requests()
        let rerun = Array(requests.suffix(2))
        #expect(rerun.lines == ["GET /orgs/acme/repos", "GET /repos/acme/widgets/issues"])
        #expect(rerun.allSatisfy { $0.status == 304 && $0.headers["authorization"] == "Bearer ghp_from_the_environment" })
        #expect(!first.errors.contains("ghp_from_the_environment") && !second.errors.contains("ghp_from_the_environment"), "the token is never logged")

        let database = try DatabaseQueue(path: folder.file("var/inlet.db"))
        let keys = try await database.read { db in
            try String.fetchAll(db, sql: "SELECT key FROM documents WHERE source = 'acme' AND deleted = 0 ORDER BY key")
        }
        #expect(keys.contains("acme/widgets/files/README.md"))
        #expect(keys.contains("acme/widgets/issues/1"))
        #expect(keys.contains("acme/widgets/pulls/3"))
    }

    /// Runs the binary with its output in files (nothing can block on a full pipe).
    static func run(_ executable: String, _ arguments: [String], in folder: ScratchFolder) throws -> (status: Int32, output: String, errors: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: folder.path)
        var environment = ProcessInfo.processInfo.environment
        environment["TEST_GITHUB_TOKEN"] = "ghp_from_the_environment"
        process.environment = environment
        let outputFile = folder.file("stdout"), errorFile = folder.file("stderr")
        _ = FileManager.default.createFile(atPath: outputFile, contents: nil)
        _ = FileManager.default.createFile(atPath: errorFile, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outputFile))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errorFile))
        try process.run()
        process.waitUntilExit()
        let read = { (path: String) in String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self) }
        return (process.terminationStatus, read(outputFile), read(errorFile))
    }
}
