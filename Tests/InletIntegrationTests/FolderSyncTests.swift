import Foundation
import GRDB
import Testing

/// The C folder connector synced end to end through the real `inlet` binary.
@Suite("inlet sync with the C folder connector")
struct FolderSyncTests {
    func world(extraConfig: String = "") throws -> InletWorld {
        let world = try InletWorld()
        try world.buildFolderPlugin()
        try world.write("tree/README.md", "# Hello\n")
        try world.write("tree/src/main.c", "int main(void) { return 0; }\n")
        try world.write("tree/src/util.c", "int util(void) { return 1; }\n")
        try world.write("tree/image.bin", Data([0x89, 0x50, 0x4E, 0x47, 0x00, 0x01, 0x02]))
        try world.write("tree/skip/ignored.txt", "excluded\n")
        try world.write("inlet.yaml", """
            data_dir: ./var
            plugins: [./plugins]
            sources:
              - name: files
                connector: folder
                config:
                  path: ./tree
                  exclude: ["skip/**"]
            \(extraConfig)
            """)
        return world
    }

    func documents(_ world: InletWorld) throws -> [String: (version: Int, deleted: Bool, sha: String?)] {
        try world.database().read { db in
            var out: [String: (Int, Bool, String?)] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT key, version, deleted, blob_sha FROM documents WHERE source = 'files'") {
                out[row["key"]] = (row["version"], row["deleted"], row["blob_sha"])
            }
            return out
        }
    }

    func summary(_ result: ProcessResult) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] else {
            throw TestFailure("not a JSON object: \(result.stdout)")
        }
        return object
    }

    @Test func firstSyncIngestsEveryFileWithGitBlobIDs() throws {
        let world = try world()
        let result = try world.inlet(["sync", "files", "--config", "inlet.yaml", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let summary = try summary(result)
        #expect(summary["status"] as? String == "OK")
        #expect(summary["written"] as? Int == 4)
        #expect(summary["inserted"] as? Int == 4)
        #expect(summary["total"] as? Int == 4)
        #expect(summary["failed"] as? Int == 0)

        let docs = try documents(world)
        #expect(Set(docs.keys) == ["README.md", "src/main.c", "src/util.c", "image.bin"])
        // Ids equal git's: `printf '# Hello\n' | git hash-object --stdin`
        #expect(docs["README.md"]?.sha == "fec56017dc1b1ac87ad6e54e3cb3a20bb8dcc5ab")
        // Binary files carry metadata only.
        #expect(docs["image.bin"]?.sha == nil)
        let metadata = try world.database().read { db in
            try String.fetchOne(db, sql: "SELECT metadata FROM documents WHERE key = 'image.bin'")!
        }
        let object = try JSONSerialization.jsonObject(with: Data(metadata.utf8)) as! [String: Any]
        #expect(object["is_text"] as? Bool == false)
        #expect(object["size"] as? Int == 7)
        #expect((object["sha"] as? String)?.count == 40)
        let content = try world.database().read { db in
            try Data.fetchOne(db, sql: "SELECT b.content FROM documents d JOIN blobs b ON b.sha = d.blob_sha WHERE d.key = 'src/main.c'")
        }
        #expect(content == Data("int main(void) { return 0; }\n".utf8))
    }

    @Test func unchangedFolderWritesNothing() throws {
        let world = try world()
        #expect(try world.inlet(["sync", "files", "-c", "inlet.yaml"]).status == 0)
        let before = try documents(world)
        let second = try world.inlet(["sync", "files", "-c", "inlet.yaml", "--json"])
        let summary = try summary(second)
        #expect(summary["written"] as? Int == 0)
        #expect(summary["deleted"] as? Int == 0)
        #expect(summary["unchanged"] as? Int == 4)
        let after = try documents(world)
        #expect(after.mapValues(\.version) == before.mapValues(\.version))

        // --full reads every file again; the same content is still no change, for the
        // connector's own log line too.
        let full = try world.inlet(["sync", "files", "-c", "inlet.yaml", "--full", "--json"])
        #expect(try self.summary(full)["written"] as? Int == 0)
        #expect(full.stderr.contains("folder: 4 files: 0 new, 0 changed, 4 unchanged"), "\(full.stderr)")
    }

    @Test func editDeleteAndAddGiveOneUpdateOneTombstoneOneInsert() throws {
        let world = try world()
        #expect(try world.inlet(["sync", "files", "-c", "inlet.yaml"]).status == 0)
        try world.write("tree/src/main.c", "int main(void) { return 42; }\n")
        try world.remove("tree/src/util.c")
        try world.write("tree/docs/new.md", "new\n")
        let result = try world.inlet(["sync", "files", "-c", "inlet.yaml", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let summary = try summary(result)
        #expect(summary["inserted"] as? Int == 1)
        #expect(summary["updated"] as? Int == 1)
        #expect(summary["deleted"] as? Int == 1)
        let docs = try documents(world)
        #expect(docs["src/main.c"]?.version == 2)
        #expect(docs["src/util.c"]?.deleted == true)
        #expect(docs["docs/new.md"]?.version == 1)
        #expect(docs["README.md"]?.version == 1)
    }

    @Test func dryRunWritesNothingAndSaysWhatItWould() throws {
        let world = try world()
        let result = try world.inlet(["sync", "files", "-c", "inlet.yaml", "--dry-run", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let summary = try summary(result)
        #expect(summary["dry_run"] as? Bool == true)
        #expect(summary["inserted"] as? Int == 4)
        let changes = summary["changes"] as? [[String: String]] ?? []
        #expect(Set(changes.map { $0["key"]! }) == ["README.md", "src/main.c", "src/util.c", "image.bin"])
        #expect(changes.allSatisfy { $0["change"] == "inserted" })
        let counts = try world.database().read { db in
            try [Int.fetchOne(db, sql: "SELECT count(*) FROM documents")!, Int.fetchOne(db, sql: "SELECT count(*) FROM state")!,
                 Int.fetchOne(db, sql: "SELECT count(*) FROM blobs")!]
        }
        #expect(counts == [0, 0, 0])

        let text = try world.inlet(["sync", "files", "-c", "inlet.yaml", "--dry-run"])
        #expect(text.stdout.contains("would insert src/main.c"))
        // A dry run is not the source's last sync.
        #expect(try lastSync(world)?["last_outcome"] as? String == nil)
    }

    /// What `inlet status --json` says of the source's last sync.
    func lastSync(_ world: InletWorld) throws -> [String: Any]? {
        let status = try world.inlet(["status", "-c", "inlet.yaml", "--json"])
        let object = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
        return (object?["sources"] as? [[String: Any]])?.first { $0["name"] as? String == "files" }
    }

    @Test func missingFolderFailsWithAClearMessage() throws {
        let world = try world()
        try FileManager.default.removeItem(atPath: world.path("tree"))
        let result = try world.inlet(["sync", "files", "-c", "inlet.yaml", "--json"])
        #expect(result.status == 1)
        let summary = try summary(result)
        #expect(summary["status"] as? String == "FAILED")
        #expect((summary["message"] as? String)?.contains("does not exist") == true)
        // `inlet status` tells it, as it would a sync the daemon ran (it said "never").
        let last = try lastSync(world)
        #expect(last?["last_outcome"] as? String == "failed")
        #expect((last?["last_error"] as? String)?.contains("does not exist") == true)
        #expect(last?["last_sync_at"] is String)

        try FileManager.default.createDirectory(atPath: world.path("tree"), withIntermediateDirectories: true)
        #expect(try world.inlet(["sync", "files", "-c", "inlet.yaml"]).status == 0)
        #expect(try lastSync(world)?["last_outcome"] as? String == "succeeded")
        #expect(try lastSync(world)?["last_error"] is NSNull)
    }

    @Test func anUnreadableFileIsQuarantinedAndCountedWithoutAbortingTheRun() throws {
        let world = try world()
        try world.write("inlet.yaml", """
            plugins: [./plugins]
            sources:
              - name: files
                connector: folder
                config: { path: ./tree, follow_symlinks: true, exclude: ["skip/**"] }
            """)
        // Reading /proc/self/mem at offset 0 fails with EIO, even as root (where chmod 000 would not).
        try FileManager.default.createSymbolicLink(atPath: world.path("tree/broken"), withDestinationPath: "/proc/self/mem")
        let result = try world.inlet(["sync", "files", "-c", "inlet.yaml", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let summary = try summary(result)
        #expect(summary["failed"] as? Int == 1)
        #expect(summary["inserted"] as? Int == 4)
        #expect(result.stderr.contains("broken"))
        let quarantined = try world.database().read { db in
            try Row.fetchAll(db, sql: "SELECT source, kind, key, error FROM quarantine")
        }
        #expect(quarantined.count == 1)
        #expect(quarantined.first?["key"] as String? == "broken")
        #expect((quarantined.first?["error"] as String?)?.contains("cannot read") == true)

        // Every sync meets the file again: its one entry counts the times, it is not repeated.
        #expect(try world.inlet(["sync", "files", "-c", "inlet.yaml"]).status == 0)
        let list = try world.inlet(["quarantine", "list", "-c", "inlet.yaml", "--json"])
        let entries = try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]]
        #expect(entries?.count == 1, "\(list.stdout)")
        #expect(entries?.first?["key"] as? String == "broken")
        #expect(entries?.first?["seen"] as? Int == 2)
        #expect(entries?.first?["last_seen_at"] is String)
    }

    @Test func exportPrintsTheRecordsAsJSONLines() throws {
        let world = try world()
        #expect(try world.inlet(["sync", "files", "-c", "inlet.yaml"]).status == 0)
        try world.remove("tree/README.md")
        #expect(try world.inlet(["sync", "files", "-c", "inlet.yaml"]).status == 0)

        let export = try world.inlet(["export", "files", "-c", "inlet.yaml"])
        #expect(export.status == 0, "\(export.stderr)")
        let lines = export.stdout.split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(lines.map { $0["key"] as! String } == ["image.bin", "src/main.c", "src/util.c"])
        let main = lines[1]
        #expect(main["content"] as? String == "int main(void) { return 0; }\n")
        #expect(main["kind"] as? String == "file")
        #expect((main["metadata"] as? [String: Any])?["path"] as? String == "src/main.c")

        let withDeleted = try world.inlet(["export", "-c", "inlet.yaml", "--include-deleted", "--no-content"])
        let all = withDeleted.stdout.split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(all.count == 4)
        #expect(all.first { $0["key"] as? String == "README.md" }?["deleted"] as? Bool == true)
        #expect(all.allSatisfy { $0["content"] == nil })
    }

    @Test func syncAllRunsEveryEnabledSource() throws {
        let world = try world(extraConfig: """
              - name: again
                connector: folder
                config: { path: ./tree }
              - name: off
                connector: folder
                enabled: false
                config: { path: ./nowhere }
            """)
        let result = try world.inlet(["sync", "--all", "-c", "inlet.yaml", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let summary = try summary(result)
        let sources = summary["sources"] as? [[String: Any]] ?? []
        #expect(sources.map { $0["source"] as! String } == ["files", "again"])
        // `again` has no exclude: it also takes skip/ignored.txt.
        #expect(sources.last?["inserted"] as? Int == 5)
    }
}
