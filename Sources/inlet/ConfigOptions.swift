import ArgumentParser
import Foundation
import InletCore
import Logging

/// Options shared by every command that reads the config.
struct ConfigOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "The config file (default: $INLET_CONFIG, else ./config/inlet.yaml).")
    var config: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical (default: the config's log.level).")
    var logLevel: String?

    /// A misspelt --log-level is a usage error for every command, not only those that log.
    func validate() throws {
        if let logLevel, Logger.Level(rawValue: logLevel) == nil {
            throw ValidationError("unknown log level '\(logLevel)' (trace, debug, info, notice, warning, error, critical)")
        }
    }

    var configPath: String {
        config ?? ProcessInfo.processInfo.environment["INLET_CONFIG"] ?? "config/inlet.yaml"
    }

    /// Loads the config or prints every error (file:line:column) and exits with status 2.
    func load() throws -> InletConfig {
        do {
            return try ConfigLoader.load(path: configPath)
        } catch {
            for item in error.errors { printError("error: \(item)") }
            printError("\(configPath): \(error.errors.count) error\(error.errors.count == 1 ? "" : "s")")
            throw ExitCode(2)
        }
    }

    /// Sets up logging once: text on a terminal, JSON lines otherwise.
    func bootstrapLogging(_ config: InletConfig?) throws {
        let text = logLevel ?? config?.log.level.rawValue ?? "info"
        guard let level = Logger.Level(rawValue: text) else {
            throw ValidationError("unknown log level '\(text)'")
        }
        LogOutput.bootstrap(level: level)
    }
}

/// Opens (creating if needed) the config's database with its durability setting.
/// - Throws: `ExitCode(1)` after saying why it cannot be opened.
func openDatabase(_ config: InletConfig) throws -> InletDatabase {
    do {
        return try InletDatabase(dataDirectory: config.dataDirectory, synchronous: config.queue.synchronous)
    } catch {
        printError("error: \(error)")
        throw ExitCode(1)
    }
}

/// Writes a line to standard error.
func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
