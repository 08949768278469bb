import Foundation
import InletCore
import Logging
import Metrics
import Prometheus

/// `make bench`: each figure printed beside a baseline measured in the same run, as a ratio.
@main
struct InletBench {
    static let usage =
        "usage: inlet-bench [--plugins FOLDER] [--files N] [--jobs N] [--repository GIT_DIR] [--seconds N] [--connections N] [--only folder|queue|git|webhooks|e2eN|e2ecN]"

    static func main() async throws {
        // The daemon's process-wide SQLite settings, before any baseline opens a database: both
        // sides of every ratio run with the same ones.
        InletDatabase.configureSQLite()
        var arguments = CommandLine.arguments.dropFirst()
        var pluginFolder = ".build-release/plugins"
        var files = 10_000
        var jobs = 10_000
        var only: String?
        var repository = "/opt/swift-packages/apple/swift-protobuf.git"
        var seconds = 10
        var connections = 32
        while let argument = arguments.popFirst() {
            switch argument {
            case "--plugins": pluginFolder = arguments.popFirst() ?? pluginFolder
            case "--files": files = Int(arguments.popFirst() ?? "") ?? files
            case "--jobs": jobs = Int(arguments.popFirst() ?? "") ?? jobs
            case "--only": only = arguments.popFirst()
            case "--repository": repository = arguments.popFirst() ?? repository
            case "--seconds": seconds = Int(arguments.popFirst() ?? "") ?? seconds
            case "--connections": connections = Int(arguments.popFirst() ?? "") ?? connections
            case "--help", "-h":
                print(usage)
                return
            default:
                FileHandle.standardError.write(Data("inlet-bench: unknown argument '\(argument)'\n\(usage)\n".utf8))
                exit(2)
            }
        }
        // As `inlet run` does.
        MemoryTuning.keepFreedMemoryMapped()
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
        // Every job and delivery counts itself in a Prometheus registry, as in `inlet run`.
        MetricsSystem.bootstrap(PrometheusMetricsFactory.inlet(registry: PrometheusCollectorRegistry()))
        if only == nil || only == "folder" { try await FolderBenchmark(pluginFolder: pluginFolder, files: files).run() }
        if only == nil || only == "queue" { try await QueueBenchmark(jobs: jobs).run() }
        if only == nil || only == "git" { try await GitBenchmark(pluginFolder: pluginFolder, repository: repository).run() }
        if only == nil || only == "webhooks" { try await WebhookBenchmark(seconds: seconds, connections: connections).run() }
        // One end-to-end run with N workers (`e2ecN`: with 16 producers at once; `e2ec`: 4 workers), for profiling.
        if let only, only.hasPrefix("e2e"), let workers = Int(only.dropFirst(3)) { try await QueueBenchmark(jobs: jobs, onlyWorkers: workers).run() }
        if let only, only.hasPrefix("e2ec") {
            let workers = only == "e2ec" ? 4 : Int(only.dropFirst(4)) ?? 4
            try await QueueBenchmark(jobs: jobs, onlyWorkers: workers, producers: 16).run()
        }
    }
}

/// Syncing a folder of small files, cold and unchanged, against `find … -exec sha1sum {} +`.
struct FolderBenchmark {
    let pluginFolder: String
    let files: Int
    let repetitions = Bench.repetitions

    func run() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("inlet-bench-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let tree = root + "/tree"
        try makeTree(at: tree)
        let plugin = try PluginLibrary.load(path: pluginFolder + "/libinlet-folder.so")
        print("Folder connector: \(files) small files (\(plugin.path))")

        // Warm the page cache once so every contender reads from memory.
        _ = try Bench.shell("find \(tree) -type f -exec cat {} + > /dev/null")

        let baseline = try Bench.median { _ = try Bench.shell("find \(tree) -type f -exec sha1sum {} + > /dev/null") }
        var cold: [Duration] = []
        var unchanged: [Duration] = []
        for round in 0..<repetitions {
            let database = try InletDatabase(path: root + "/db-\(round)/inlet.db")
            let instance = try await ConnectorInstance.create(
                plugin: plugin, source: "bench", configJSON: #"{"path": "\#(tree)"}"#,
                dataDirectory: root + "/data", configDirectory: root, logger: Logger(label: "bench"))
            let runner = SyncRunner(database: database, logger: Logger(label: "bench"))
            let first = try await Bench.timed { let r = await runner.run(instance: instance); try expectOK(r, written: files) }
            cold.append(first)
            let second = try await Bench.timed { let r = await runner.run(instance: instance); try expectOK(r, written: 0) }
            unchanged.append(second)
            await instance.destroy()
        }
        let coldMedian = Bench.median(cold)
        let unchangedMedian = Bench.median(unchanged)
        Bench.report("find -exec sha1sum (baseline)", baseline, against: baseline)
        Bench.report("inlet sync, cold", coldMedian, against: baseline)
        Bench.report("inlet sync, unchanged", unchangedMedian, against: baseline)
    }

    private func makeTree(at tree: String) throws {
        var generator = SystemRandomNumberGenerator()
        let perFolder = 50
        for index in 0..<files {
            let folder = "\(tree)/d\(index / perFolder)"
            if index % perFolder == 0 { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
            let size = Int.random(in: 200...2_000, using: &generator)
            var text = "// file \(index)\n"
            while text.utf8.count < size { text += "let value\(text.utf8.count) = \(Int.random(in: 0...1_000_000, using: &generator))\n" }
            try text.write(toFile: "\(folder)/f\(index).swift", atomically: false, encoding: .utf8)
        }
    }

    private func expectOK(_ result: SyncRunner.Result, written: Int) throws {
        guard result.status == .ok, result.counts.written == written else {
            throw BenchError("sync: \(result.status) \(result.message ?? ""), wrote \(result.counts.written), expected \(written)")
        }
    }




}

