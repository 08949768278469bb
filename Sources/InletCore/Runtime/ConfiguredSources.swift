import Foundation
import Logging

/// The sources of a config matched with their plugins: what `inlet validate` checks and what
/// `inlet sync` runs. Every problem is collected, none stops the others from being found.
package struct ConfiguredSources: Sendable {
    /// A problem tied to a place in the config file.
    package struct Problem: Sendable, CustomStringConvertible {
        /// The source it concerns.
        package var source: String
        package var location: ConfigLocation
        package var message: String
        package var description: String { "\(location): \(message)" }
    }

    package let config: InletConfig
    package let catalog: PluginCatalog
    /// The plugin of each source that has one, by source name.
    package private(set) var plugins: [String: LoadedPlugin] = [:]
    /// Sources whose plugin is missing or refuses their config block.
    package private(set) var problems: [Problem] = []
    /// Settings that run, but not as written (`concurrency` above 1 for a plugin that is not
    /// reentrant runs as 1).
    package private(set) var warnings: [Problem] = []

    /// Scans the plugin folders, then matches each source with its plugin and checks its
    /// `config:` block against the plugin's schema.
    package init(config: InletConfig, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.config = config
        self.catalog = PluginCatalog(folders: config.pluginDirectories, environment: environment)
        for source in config.sources {
            do {
                let plugin = try catalog.plugin(connector: source.connector, explicitPath: source.pluginPath)
                plugins[source.name] = plugin
                if source.concurrency > 1 && !plugin.capabilities.contains(.reentrant) {
                    warnings.append(Problem(
                        source: source.name, location: source.location(of: "concurrency"),
                        message: "source '\(source.name)': concurrency \(source.concurrency) runs as 1: plugin '\(plugin.name)' is not reentrant (INLET_CAP_REENTRANT), so its calls take turns on one instance"))
                }
                if source.webhook != nil && !plugin.capabilities.contains(.webhooks) {
                    // Every delivery would be answered 202, then fail in quarantine.
                    problems.append(Problem(
                        source: source.name, location: source.location(of: "webhook"),
                        message: "source '\(source.name)': webhook: connector '\(plugin.name)' does not handle webhooks (no INLET_CAP_WEBHOOKS): remove the `webhook:` block"))
                }
                if let schema = plugin.configSchema {
                    for error in ConfigSchemaValidator.validate(source.config, schema: schema, source: source.name, file: config.file) {
                        problems.append(Problem(source: source.name, location: error.location, message: error.message))
                    }
                }
            } catch {
                let location = source.pluginPath == nil ? source.connectorLocation : source.location(of: "plugin")
                problems.append(Problem(source: source.name, location: location, message: "source '\(source.name)': \(error.description)"))
            }
        }
    }

    /// The problems of one source.
    package func problems(of source: String) -> [Problem] { problems.filter { $0.source == source } }

    /// The folder where a source's connector may keep files (`data_dir/sources/NAME`).
    package func dataDirectory(of source: SourceConfig) -> String {
        URL(fileURLWithPath: config.dataDirectory).appendingPathComponent("sources").appendingPathComponent(source.name).path
    }

    /// The config file's folder.
    package var configDirectory: String {
        URL(fileURLWithPath: config.file).standardizedFileURL.deletingLastPathComponent().path
    }

    /// Creates the connector instance of a source.
    /// - Parameter http: the host's HTTP service its calls use (`host->http`).
    /// - Throws: ``PluginError`` when the source has no plugin or its `create` fails.
    package func instantiate(
        _ source: SourceConfig, logger: Logger, http: HTTPService? = nil, jobID: Int64? = nil
    ) async throws(PluginError) -> ConnectorInstance {
        guard let plugin = plugins[source.name] else {
            let reason = problems(of: source.name).first?.message
            throw PluginError(.unknownConnector, path: "", reason ?? "source '\(source.name)' has no plugin")
        }
        return try await ConnectorInstance.create(
            plugin: plugin, source: source.name, configJSON: source.config.jsonString(),
            dataDirectory: dataDirectory(of: source), configDirectory: configDirectory, logger: logger, http: http, jobID: jobID)
    }
}
