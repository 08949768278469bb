import Foundation
import Logging
import Synchronization

/// Writes one JSON object per log line (`ts`, `level`, `label`, `message`, metadata), for when
/// standard error is not a terminal: log shippers parse it without guessing.
package struct JSONLogHandler: LogHandler {
    package var metadata: Logger.Metadata = [:]
    package var logLevel: Logger.Level
    private let label: String

    /// Serialises writes from many threads so lines never interleave.
    private static let output = Mutex(())

    package init(label: String, level: Logger.Level) {
        self.label = label
        self.logLevel = level
    }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    package func log(event: LogEvent) {
        var object: [String: String] = [
            "ts": StorageClock.format(Date()),
            "level": event.level.rawValue,
            "label": label,
            "message": "\(event.message)",
        ]
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        for (key, value) in merged where object[key] == nil { object[key] = "\(value)" }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard var line = try? encoder.encode(object) else { return }
        line.append(0x0A)
        Self.output.withLock { _ in FileHandle.standardError.write(line) }
    }
}

/// Log output chosen for where standard error goes: text on a terminal, JSON lines otherwise.
package enum LogOutput {
    /// Bootstraps swift-log once for the process.
    package static func bootstrap(level: Logger.Level, json: Bool? = nil) {
        let useJSON = json ?? (isatty(STDERR_FILENO) == 0)
        LoggingSystem.bootstrap { label in
            if useJSON { return JSONLogHandler(label: label, level: level) }
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
