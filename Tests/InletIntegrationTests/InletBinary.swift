import Foundation
import GRDB

/// The built `inlet` executable and a scratch world for it: a folder, a config, plugins.
final class InletWorld {
    let root: String

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("inlet-it-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    func path(_ relative: String) -> String { (root as NSString).appendingPathComponent(relative) }

    @discardableResult
    func write(_ relative: String, _ contents: String) throws -> String {
        try write(relative, Data(contents.utf8))
    }

    @discardableResult
    func write(_ relative: String, _ contents: Data) throws -> String {
        let target = path(relative)
        try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try contents.write(to: URL(fileURLWithPath: target))
        return target
    }

    func remove(_ relative: String) throws { try FileManager.default.removeItem(atPath: path(relative)) }

    /// Builds the C folder connector into `plugins/` with plain cc, as the Makefile does.
    func buildFolderPlugin() throws {
        try FileManager.default.createDirectory(atPath: path("plugins"), withIntermediateDirectories: true)
        let folder = Paths.repositoryRoot + "/Plugins/Folder"
        let sources = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".c") }.sorted().map { folder + "/" + $0 }
        let result = try Process.run(
            "/usr/bin/cc",
            ["-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC", "-fvisibility=hidden",
             "-I", Paths.repositoryRoot + "/Sources/CInletABI/include"] + sources + ["-o", path("plugins/libinlet-folder.so")])
        guard result.status == 0 else { throw TestFailure("cc failed: \(result.stderr)") }
    }

    /// Runs `inlet ARGS` with the world as working directory.
    func inlet(_ arguments: [String], environment: [String: String] = [:]) throws -> ProcessResult {
        var env = ProcessInfo.processInfo.environment
        env["INLET_PLUGIN_PATH"] = nil
        env["INLET_CONFIG"] = nil
        for (key, value) in environment { env[key] = value }
        return try Process.run(Paths.inletBinary, arguments, cwd: root, environment: env)
    }

    /// Starts `inlet ARGS` with the world as working directory, without waiting for it. Standard
    /// output goes to the file `stdout` and standard error to `stderr` (to `stdout` when nil),
    /// both relative to the world and emptied first: files, not pipes, so that a process that
    /// does not exit cannot block a read to the end forever.
    func launch(_ arguments: [String], stdout: String, stderr: String? = nil) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Paths.inletBinary)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: root)
        var environment = ProcessInfo.processInfo.environment
        environment["INLET_PLUGIN_PATH"] = nil
        environment["INLET_CONFIG"] = nil
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        let output = try emptyFile(stdout)
        process.standardOutput = output
        process.standardError = try stderr.map(emptyFile) ?? output
        try process.run()
        return process
    }

    private func emptyFile(_ relative: String) throws -> FileHandle {
        _ = FileManager.default.createFile(atPath: path(relative), contents: nil)
        return try FileHandle(forWritingTo: URL(fileURLWithPath: path(relative)))
    }

    /// The text of a file in the world ("" when it cannot be read).
    func contents(_ relative: String) -> String { (try? String(contentsOfFile: path(relative), encoding: .utf8)) ?? "" }

    func database() throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.readonly = true
        // As the operator commands: a daemon in its last moments (killed) may hold a lock briefly.
        configuration.busyMode = .timeout(5)
        return try DatabaseQueue(path: path("var/inlet.db"), configuration: configuration)
    }
}

struct ProcessResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

enum Paths {
    static var binDirectory: String {
        if let override = ProcessInfo.processInfo.environment["INLET_BIN_DIR"] { return override }
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var folder = (exe as NSString).deletingLastPathComponent
        while folder.hasSuffix(".xctest") { folder = (folder as NSString).deletingLastPathComponent }
        return folder
    }

    static var inletBinary: String { binDirectory + "/inlet" }

    static var repositoryRoot: String {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }
}

extension Process {
    /// Runs a program to completion, capturing both streams (read concurrently: no pipe deadlock).
    static func run(_ executable: String, _ arguments: [String], cwd: String? = nil, environment: [String: String]? = nil) throws -> ProcessResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let cwd { process.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        if let environment { process.environment = environment }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let group = DispatchGroup()
        // Unsafe: written by the reader thread before `group.leave()`, read only after `group.wait()`.
        nonisolated(unsafe) var errData = Data()
        group.enter()
        DispatchQueue.global().async {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return ProcessResult(
            status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self))
    }
}
