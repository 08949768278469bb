import Foundation
import Testing

@testable import InletCore

/// A temporary folder per test, removed at the end.
final class TemporaryDirectory {
    let path: String

    init() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("inlet-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        path = base.path
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    @discardableResult
    func write(_ name: String, _ contents: String) throws -> String {
        let target = file(name)
        try FileManager.default.createDirectory(
            atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try contents.write(toFile: target, atomically: true, encoding: .utf8)
        return target
    }
}

/// Where the build put the products: the folder of the running test binary (or INLET_BIN_DIR).
enum BuildProducts {
    static var binDirectory: String {
        if let override = ProcessInfo.processInfo.environment["INLET_BIN_DIR"] { return override }
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var folder = (exe as NSString).deletingLastPathComponent
        // On Linux the test binary is `<bin>/InletPackageTests.xctest`; be tolerant of bundles.
        while folder.hasSuffix(".xctest") || folder.hasSuffix("Contents") || folder.hasSuffix("MacOS") {
            folder = (folder as NSString).deletingLastPathComponent
        }
        return folder
    }

    /// The Swift test connector, built by `swift build`/`swift test` as a dynamic library.
    static var swiftEchoPlugin: String { (binDirectory as NSString).appendingPathComponent("libInletTestPlugin.so") }

    /// The repository root (for the ABI header and the C plugin's sources).
    static var repositoryRoot: String {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }

    static var headerDirectory: String { repositoryRoot + "/Sources/CInletABI/include" }
}

/// Builds a C plugin with plain `cc`, the way a connector author would.
enum CCompiler {
    /// Compiles `sources` (file paths) into `output` as a shared library.
    static func sharedLibrary(sources: [String], output: String, extraFlags: [String] = []) throws {
        let arguments = ["-std=c11", "-O1", "-shared", "-fPIC", "-fvisibility=hidden", "-I", BuildProducts.headerDirectory]
            + extraFlags + sources + ["-o", output]
        let (status, errors) = try run("/usr/bin/cc", arguments)
        if status != 0 { throw CompileError(message: "cc failed (\(status)): \(errors)") }
    }

    /// Compiles one C source given as text.
    static func sharedLibrary(source: String, in directory: TemporaryDirectory, name: String) throws -> String {
        let sourcePath = try directory.write("\(name).c", source)
        let output = directory.file("\(name).so")
        try sharedLibrary(sources: [sourcePath], output: output)
        return output
    }

    struct CompileError: Error, CustomStringConvertible { var message: String; var description: String { message } }
}

/// Runs a program and returns its exit status and standard error.
@discardableResult
func run(_ executable: String, _ arguments: [String], cwd: String? = nil) throws -> (Int32, String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let cwd { process.currentDirectoryURL = URL(fileURLWithPath: cwd) }
    let errors = Pipe()
    process.standardError = errors
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    let data = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}
