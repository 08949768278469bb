import Foundation
import InletPluginKit

/// Runs Debian's `git` command line for one repository (the mirror), with a fixed environment:
/// no prompts, no system or user config that could change the output, C locale.
struct GitCommand: Sendable {
    /// The bare mirror (`--git-dir`), or nil for commands that make it (`clone`).
    let gitDirectory: String?

    /// The result of a finished command.
    struct Output {
        var status: Int32
        var stdout: [UInt8]
        var stderr: String
        var stdoutText: String { String(decoding: stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    static let executable: String = {
        for folder in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(folder)/git"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return "/usr/bin/git"
    }()

    static let environment: [String: String] = {
        var environment = ProcessInfo.processInfo.environment
        environment["GIT_TERMINAL_PROMPT"] = "0"
        environment["GIT_ASKPASS"] = "/bin/false"
        environment["SSH_ASKPASS"] = "/bin/false"
        environment["GCM_INTERACTIVE"] = "never"
        environment["LC_ALL"] = "C"
        environment["GIT_CONFIG_NOSYSTEM"] = "1"
        // Variables that would point git at another repository or index than the mirror.
        for name in ["GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_NAMESPACE"] {
            environment[name] = nil
        }
        return environment
    }()

    /// The arguments every command starts with.
    func baseArguments() -> [String] {
        // safe.directory: the source repository (a local path) may belong to another user.
        var arguments = ["-c", "safe.directory=*", "-c", "core.quotePath=false", "-c", "gc.auto=0"]
        if let gitDirectory { arguments += ["--git-dir", gitDirectory] }
        return arguments
    }

    /// Makes a process for `git ARGS` (not started).
    func process(_ arguments: [String]) -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments = baseArguments() + arguments
        process.environment = Self.environment
        return process
    }

    /// Runs `git ARGS` to completion and captures both streams.
    /// - Throws: ``ConnectorError`` (retry) when git cannot be started.
    func run(_ arguments: [String]) throws -> Output {
        let process = process(arguments)
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw ConnectorError.retry("git: cannot run \(Self.executable): \(error)")
        }
        // stderr is drained on its own thread, so a chatty git cannot block on a full pipe.
        let errors = ByteSink()
        let errorDescriptor = err.fileHandleForReading.fileDescriptor
        errors.done.enter()
        let errorReader = Thread {
            errors.bytes = readAll(errorDescriptor)
            errors.done.leave()
        }
        errorReader.start()
        let stdout = readAll(out.fileHandleForReading.fileDescriptor)
        errors.done.wait()
        process.waitUntilExit()
        try? out.fileHandleForReading.close()
        try? err.fileHandleForReading.close()
        return Output(
            status: process.terminationStatus, stdout: stdout,
            stderr: String(decoding: errors.bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Runs `git ARGS` and returns its standard output.
    /// - Throws: ``ConnectorError`` with `disposition` when git exits non-zero, with its stderr.
    func check(_ arguments: [String], _ disposition: ConnectorError.Disposition = .retry) throws -> [UInt8] {
        let output = try run(arguments)
        guard output.status == 0 else {
            throw ConnectorError(disposition, "git \(arguments.prefix(2).joined(separator: " ")) failed (\(output.status)): \(output.stderr)")
        }
        return output.stdout
    }
}

/// Bytes a reader thread fills; `done` is left when they are complete.
///
/// Unchecked Sendable, and safe: `bytes` is written only by the reader thread before it leaves
/// `done`, and read only after `done.wait()` returned, so the two never overlap.
final class ByteSink: @unchecked Sendable {
    var bytes: [UInt8] = []
    let done = DispatchGroup()
}

/// Reads a file descriptor to its end.
func readAll(_ fd: Int32) -> [UInt8] {
    var result: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count > 0 {
            result.append(contentsOf: chunk[0..<count])
        } else if count < 0, errno == EINTR {
            continue
        } else {
            return result
        }
    }
}
