import ArgumentParser
import Foundation
import InletCore

/// `inlet export`: the stored records as JSON Lines on standard output.
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Print the current records as JSON Lines (key, kind, metadata, blob sha, content).",
        discussion: "Binary content is base64 with \"content_encoding\": \"base64\"."
    )

    @OptionGroup var options: ConfigOptions

    @Argument(help: "Only this source (default: every source).")
    var source: String?

    @Flag(help: "Include tombstones of deleted records.")
    var includeDeleted = false

    @Flag(help: "Leave content out (metadata only).")
    var noContent = false

    func run() async throws {
        let config = try options.load()
        if let source, !config.sources.contains(where: { $0.name == source }) {
            printError("warning: source '\(source)' is not in \(config.file); exporting what the database holds for it")
        }
        // No database yet is an error, not an empty one left behind (a wrong --config).
        let database = try OperatorDatabase.open(config).database
        var buffer = Data()
        let stdout = FileHandle.standardOutput
        try JSONLinesExport(database: database).run(
            .init(source: source, includeDeleted: includeDeleted, includeContent: !noContent)
        ) { line in
            buffer.append(line)
            if buffer.count > 1 << 16 {
                stdout.write(buffer)
                buffer.removeAll(keepingCapacity: true)
            }
        }
        stdout.write(buffer)
    }
}
