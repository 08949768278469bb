import Foundation
import GRDB
import Testing

/// The Swift git connector synced end to end through the real `inlet` binary.
@Suite("inlet sync with the git connector")
struct GitSyncTests {
    /// A world with the built libInletGit.so in `plugins/` and a repository in `repo/`.
    func world() throws -> InletWorld {
        let world = try InletWorld()
        try FileManager.default.createDirectory(atPath: world.path("plugins"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Paths.binDirectory + "/libInletGit.so", toPath: world.path("plugins/libInletGit.so"))
        try world.write("repo/README.md", "# Hello\n")
        try world.write("repo/src/main.c", "int main(void) { return 0; }\n")
        try world.write("repo/image.bin", Data([0x89, 0x50, 0x4E, 0x47, 0x00, 0x01, 0x02]))
        try git(world, "init", "-q", "-b", "trunk")
        try git(world, "add", "-A")
        try git(world, "commit", "-q", "-m", "first")
        try world.write("inlet.yaml", """
            data_dir: ./var
            plugins: [./plugins]
            sources:
              - name: repo
                connector: git
                config:
                  url: ./repo
              - name: nobranch
                connector: git
                config: { url: ./repo, branch: release }
            """)
        return world
    }

    @discardableResult
    func git(_ world: InletWorld, _ arguments: String...) throws -> String {
        var environment = ProcessInfo.processInfo.environment
        environment["GIT_CONFIG_NOSYSTEM"] = "1"
        environment["HOME"] = world.root
        let result = try Process.run(
            "/usr/bin/git", ["-c", "user.name=Inlet Tests", "-c", "user.email=tests@inlet.invalid"] + arguments,
            cwd: world.path("repo"), environment: environment)
        guard result.status == 0 else { throw TestFailure("git \(arguments): \(result.stderr)") }
        return result.stdout
    }

    func summary(_ result: ProcessResult) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] else {
            throw TestFailure("not a JSON object: \(result.stdout)")
        }
        return object
    }

    @Test func syncsTheDefaultBranchThenOnlyWhatChanged() throws {
        let world = try world()
        let first = try world.inlet(["sync", "repo", "--config", "inlet.yaml", "--json"])
        #expect(first.status == 0, "\(first.stderr)")
        let firstSummary = try summary(first)
        #expect(firstSummary["status"] as? String == "OK")
        #expect(firstSummary["inserted"] as? Int == 4)  // three files and the digest

        let export = try world.inlet(["export", "repo", "-c", "inlet.yaml"])
        #expect(export.status == 0, "\(export.stderr)")
        let lines = export.stdout.split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(lines.map { $0["key"] as! String } == ["README.md", "_digest", "image.bin", "src/main.c"])
        let main = lines[3]
        #expect(main["content"] as? String == "int main(void) { return 0; }\n")
        let metadata = main["metadata"] as? [String: Any] ?? [:]
        #expect(metadata["branch"] as? String == "trunk")
        #expect(metadata["language"] as? String == "C")
        let ids = try git(world, "ls-tree", "-r", "HEAD")
        #expect(ids.contains("\(metadata["blob_sha"] as? String ?? "?")\tsrc/main.c"))
        #expect((lines[1]["content"] as? String)?.contains("FILE: src/main.c") == true)

        try world.remove("repo/README.md")
        try git(world, "commit", "-q", "-am", "drop the readme")
        let second = try summary(try world.inlet(["sync", "repo", "--config", "inlet.yaml", "--json"]))
        #expect(second["deleted"] as? Int == 1)
        #expect(second["updated"] as? Int == 1)  // the digest
        #expect(second["inserted"] as? Int == 0)

        let third = try summary(try world.inlet(["sync", "repo", "--config", "inlet.yaml", "--json"]))
        #expect(third["written"] as? Int == 0)
    }

    @Test func aMissingBranchFailsWithAClearMessage() throws {
        let world = try world()
        let result = try world.inlet(["sync", "nobranch", "--config", "inlet.yaml", "--json"])
        #expect(result.status == 1)
        let failure = try summary(result)
        #expect(failure["status"] as? String == "FAILED")
        #expect((failure["message"] as? String)?.contains("branch 'release' does not exist") == true, "\(failure)")
    }

    @Test func theDaemonQuarantinesTheJobOfAMissingBranch() throws {
        let world = try world()
        try world.write("daemon.yaml", """
            data_dir: ./var
            plugins: [./plugins]
            sources:
              - name: nobranch
                connector: git
                schedule: every 1h
                config: { url: ./repo, branch: release }
            """)
        let daemons = DaemonTests()
        let daemon = try daemons.start(world, config: "daemon.yaml")
        defer {
            daemon.terminate()
            daemon.waitUntilExit()
        }
        try daemons.waitUntil("the job is quarantined") {
            try world.database().read { db in
                try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM jobs WHERE source = 'nobranch' AND state = 'quarantined')") ?? false
            }
        }
        let list = try world.inlet(["quarantine", "list", "-c", "daemon.yaml", "--json"])
        #expect(list.status == 0, "\(list.stderr)")
        #expect(list.stdout.contains("branch 'release' does not exist"), "\(list.stdout)")
    }

    @Test func validateAcceptsTheConfigAndChecksItAgainstTheSchema() throws {
        let world = try world()
        #expect(try world.inlet(["validate", "--config", "inlet.yaml"]).status == 0)
        try world.write("bad.yaml", """
            plugins: [./plugins]
            sources:
              - name: repo
                connector: git
                config: { url: ./repo, branchh: main }
            """)
        let bad = try world.inlet(["validate", "--config", "bad.yaml"])
        #expect(bad.status != 0)
        #expect((bad.stdout + bad.stderr).contains("branchh"))
        // The git connector is not reentrant: a concurrency above 1 is valid but runs as 1.
        try world.write("busy.yaml", """
            plugins: [./plugins]
            sources:
              - name: repo
                connector: git
                concurrency: 3
                config: { url: ./repo }
            """)
        let busy = try world.inlet(["validate", "--config", "busy.yaml"])
        #expect(busy.status == 0, "\(busy.stderr)")
        #expect(busy.stderr.contains("warning: busy.yaml:5:"), "\(busy.stderr)")  // at `concurrency`
        #expect(busy.stderr.contains("concurrency 3 runs as 1: plugin 'git' is not reentrant"), "\(busy.stderr)")

        // A size the connector could not read is the schema's error, not a refused create later.
        try world.write("sizes.yaml", """
            plugins: [./plugins]
            sources:
              - name: big
                connector: git
                config: { url: ./repo, max_file_size: 5XB }
              - name: fine
                connector: git
                config: { url: ./repo, max_file_size: 1.5mb }
            """)
        let sizes = try world.inlet(["validate", "--config", "sizes.yaml"])
        #expect(sizes.status == 2)
        #expect(sizes.stderr.contains("sizes.yaml:5:43: source 'big': config.max_file_size: \"5XB\" does not match pattern"), "\(sizes.stderr)")
        #expect(sizes.stderr.contains("sizes.yaml: 1 error"), "\(sizes.stderr)")

        // A `webhook:` block for a connector that handles none: every delivery would fail.
        try world.write("hooked.yaml", """
            plugins: [./plugins]
            sources:
              - name: repo
                connector: git
                webhook: { secret: s3cret }
                config: { url: ./repo }
            """)
        let hooked = try world.inlet(["validate", "--config", "hooked.yaml"])
        #expect(hooked.status == 2)
        #expect(hooked.stderr.contains("error: hooked.yaml:5:14: source 'repo': webhook: connector 'git' does not handle webhooks"), "\(hooked.stderr)")

        // An error in the file does not hide what the plugins find in the other sources: one run
        // lists them all. A source with an error of its own is not checked further.
        try world.write("both.yaml", """
            plugins: [./plugins]
            workers: many
            sources:
              - name: repo
                connector: git
                config: { url: ./repo, branchh: main }
              - name: flawed
                connector: git
                schedule: every never
                config: { urll: ./repo }
            """)
        let both = try world.inlet(["validate", "--config", "both.yaml"])
        #expect(both.status == 2)
        #expect(both.stderr.contains("both.yaml:2:10: workers: expected an integer"), "\(both.stderr)")
        #expect(both.stderr.contains("source 'repo'") && both.stderr.contains("branchh"), "\(both.stderr)")
        #expect(both.stderr.contains("source 'flawed': schedule:") && !both.stderr.contains("urll"), "\(both.stderr)")
        #expect(both.stderr.contains("both.yaml: 3 errors"), "\(both.stderr)")
    }
}
