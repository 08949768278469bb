import Foundation
import InletCore
import Logging

/// The git connector on a real repository (a bare copy under /opt/swift-packages), from cold and
/// unchanged, against `git cat-file --batch` reading the same blobs (the floor) and gitingest on
/// a checkout of the same commit (the peer), all in this run.
struct GitBenchmark {
    let pluginFolder: String
    let repository: String
    let repetitions = 3

    func run() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("inlet-bench-git-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        // A bare clone of our own, so every contender reads the same packed objects.
        try shell("git clone -q --bare --no-hardlinks '\(repository)' '\(root)/source.git'")
        let files = Int(try shell("git --git-dir='\(root)/source.git' ls-tree -r HEAD | wc -l").trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        let plugin = try PluginLibrary.load(path: pluginFolder + "/libInletGit.so")
        print("Git connector: \(repository), \(files) files at HEAD (\(plugin.path))")

        let floor = try median {
            try shell("git --git-dir='\(root)/source.git' ls-tree -r HEAD | awk '$2 == \"blob\" {print $3}' | git --git-dir='\(root)/source.git' cat-file --batch > /dev/null")
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
            cold.append(try await timed { try expectOK(await runner.run(instance: instance), written: files + 1) })
            unchanged.append(try await timed { try expectOK(await runner.run(instance: instance), written: 0) })
            await instance.destroy()
            // The mirror in place, an empty database: reading and storing every blob.
            let fresh = try InletDatabase(path: root + "/db-warm-\(round)/inlet.db")
            let again = try await ConnectorInstance.create(
                plugin: plugin, source: "bench", configJSON: config, dataDirectory: data, configDirectory: root, logger: Logger(label: "bench"))
            let freshRunner = SyncRunner(database: fresh, logger: Logger(label: "bench"))
            warmMirror.append(try await timed { try expectOK(await freshRunner.run(instance: again), written: files + 1) })
            await again.destroy()
        }
        report("git cat-file --batch (floor)", floor, against: floor)
        report("inlet sync, cold (clone included)", cold.sorted()[repetitions / 2], against: floor)
        report("inlet sync, mirror present", warmMirror.sorted()[repetitions / 2], against: floor)
        report("inlet sync, unchanged", unchanged.sorted()[repetitions / 2], against: floor)

        // The peer: gitingest (pip install gitingest==0.3.1) on a checkout of the same commit.
        if (try? shell("command -v gitingest")) != nil {
            try shell("git clone -q '\(root)/source.git' '\(root)/checkout'")
            let peer = try median { try shell("cd '\(root)' && gitingest ./checkout -o '\(root)/digest.txt' > /dev/null 2>&1") }
            report("gitingest 0.3.1 (peer)", peer, against: floor)
            print(String(format: "  inlet sync (mirror present) is %.1fx faster than gitingest", peer.seconds / warmMirror.sorted()[repetitions / 2].seconds))
        } else {
            print("  gitingest: not installed (pip install gitingest==0.3.1); peer not measured")
        }
    }

    private func expectOK(_ result: SyncRunner.Result, written: Int) throws {
        guard result.status == .ok, result.counts.written == written else {
            throw BenchError("git sync: \(result.status) \(result.message ?? ""), wrote \(result.counts.written), expected \(written)")
        }
    }

    private func report(_ name: String, _ value: Duration, against baseline: Duration) {
        let padded = name.padding(toLength: 36, withPad: " ", startingAt: 0)
        print("  \(padded) \(String(format: "%8.1f ms", value.seconds * 1000))   \(String(format: "%6.2fx", value.seconds / baseline.seconds)) of the floor")
    }

    private func median(_ body: () throws -> Void) throws -> Duration {
        var samples: [Duration] = []
        for _ in 0..<repetitions { samples.append(try ContinuousClock().measure(body)) }
        return samples.sorted()[repetitions / 2]
    }

    private func timed(_ body: () async throws -> Void) async throws -> Duration {
        let start = ContinuousClock.now
        try await body()
        return ContinuousClock.now - start
    }

    @discardableResult
    private func shell(_ command: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw BenchError("failed: \(command)") }
        return String(decoding: data, as: UTF8.self)
    }
}
