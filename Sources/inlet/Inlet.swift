import ArgumentParser
import InletCore

/// `inlet`: the daemon's command line. Exit codes: 0 success, 1 failure, 2 usage or config error.
@main
struct Inlet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inlet",
        abstract: "Host ingestion connectors (shared-library plugins) and sync their sources into one store.",
        discussion: """
            Inlet reads a YAML config, loads each connector through one versioned C ABI \
            (inlet_connector.h) and syncs sources into an embedded SQLite database \
            (data_dir/inlet.db): one row per record, content stored once per git blob id.

            Config: --config PATH, else $INLET_CONFIG, else ./config/inlet.yaml.
            Plugins: the config's `plugins` folders, then the folders in $INLET_PLUGIN_PATH (colon-separated).
            """,
        version: "0.1.0",
        subcommands: [
            RunCommand.self, SyncCommand.self, ValidateCommand.self, ExportCommand.self, PluginsCommand.self,
            StatusCommand.self, JobsCommand.self, QuarantineCommand.self,
        ]
    )

    /// ArgumentParser's own entry point, except that usage errors exit 2 (its default is 64,
    /// EX_USAGE), as the exit codes above promise.
    static func main() async {
        // sqlite3_config may run only while no other thread uses SQLite: here, before any does.
        InletDatabase.configureSQLite()
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if exitCode(for: error) == .validationFailure {
                printError(fullMessage(for: error))
                exit(withError: ExitCode(2))
            }
            exit(withError: error)
        }
    }
}
