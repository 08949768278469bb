import ArgumentParser

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
        subcommands: [RunCommand.self, SyncCommand.self, ValidateCommand.self, ExportCommand.self, PluginsCommand.self]
    )
}
