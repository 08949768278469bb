import Foundation
import InletCore
import Logging

/// The git connector on a real repository (a bare copy under /opt/swift-packages), from cold and
/// unchanged, against `git cat-file --batch` reading the same blobs (the floor) and gitingest on
/// a checkout of the same commit (the peer), all in this run.
struct GitBenchmark {
    let pluginFolder: String
    let repository: String
    let repetitions = Bench.repetitions

    func run() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("inlet-bench-git-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        // A bare clone of our own, so every contender reads the same packed objects.
        try Bench.shell("git clone -q --bare --no-hardlinks '\(repository)' '\(root)/source.git'")
        let files = Int(try Bench.shell("git --git-dir='\(root)/source.git' ls-tree -r HEAD | wc -l").trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        let plugin = try PluginLibrary.load(path: pluginFolder + "/libInletGit.so")
        print("Git connector: \(repository), \(files) files at HEAD (\(plugin.path))")

        let floor = try Bench.median {
            try Bench.shell("git --git-dir='\(root)/source.git' ls-tree -r HEAD | awk '$2 == \"blob\" {print $3}' | git --git-dir='\(root)/source.git' cat-file --batch > /dev/null")
        }
        var cold: [Duration] = []
        var warmMirror: [Duration] = []
        var unchanged: [Duration] = []
        for round in 0..<repetitions {
            let config = #"{"url": "\#(root)/source.git"}"#
            let data = root + "/data-\(round)"
            // Cold: an empty database and no mirror yet (the first sync clones it).
            let database = try InletDatabase(path: root + "/db-\(round)/inlet.db")
            let instance = try await ConnectorInstance.create(
                plugin: plugin, source: "bench", configJSON: config, dataDirectory: data, configDirectory: root, logger: Logger(label: "bench"))
            let runner = SyncRunner(database: database, logger: Logger(label: "bench"))
            cold.append(try await Bench.timed { try expectOK(await runner.run(instance: instance), written: files + 1) })
            unchanged.append(try await Bench.timed { try expectOK(await runner.run(instance: instance), written: 0) })
            await instance.destroy()
            // The mirror in place, an empty database: reading and storing every blob.
            let fresh = try InletDatabase(path: root + "/db-warm-\(round)/inlet.db")
            let again = try await ConnectorInstance.create(
                plugin: plugin, source: "bench", configJSON: config, dataDirectory: data, configDirectory: root, logger: Logger(label: "bench"))
            let freshRunner = SyncRunner(database: fresh, logger: Logger(label: "bench"))
            warmMirror.append(try await Bench.timed { try expectOK(await freshRunner.run(instance: again), written: files + 1) })
            await again.destroy()
        }
        Bench.report("git cat-file --batch (floor)", floor, against: floor, of: "the floor")
        Bench.report("inlet sync, cold (clone included)", Bench.median(cold), against: floor, of: "the floor")
        Bench.report("inlet sync, mirror present", Bench.median(warmMirror), against: floor, of: "the floor")
        Bench.report("inlet sync, unchanged", Bench.median(unchanged), against: floor, of: "the floor")

        // The peer: gitingest (pip install gitingest==0.3.1) on a checkout of the same commit.
        if (try? Bench.shell("command -v gitingest")) != nil {
            try Bench.shell("git clone -q '\(root)/source.git' '\(root)/checkout'")
            let peer = try Bench.median { try Bench.shell("cd '\(root)' && gitingest ./checkout -o '\(root)/digest.txt' > /dev/null 2>&1") }
            Bench.report("gitingest 0.3.1 (peer)", peer, against: floor, of: "the floor")
            print(String(format: "  inlet sync (mirror present) is %.1fx faster than gitingest", peer.seconds / Bench.median(warmMirror).seconds))
        } else {
            print("  gitingest: not installed (pip install gitingest==0.3.1); peer not measured")
        }
    }

    private func expectOK(_ result: SyncRunner.Result, written: Int) throws {
        guard result.status == .ok, result.counts.written == written else {
            throw BenchError("git sync: \(result.status) \(result.message ?? ""), wrote \(result.counts.written), expected \(written)")
        }
    }




}
