import ArgumentParser
import Foundation
import InletCore

/// `inlet plugins list|inspect`.
struct PluginsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugins",
        abstract: "List the plugins found, or inspect one plugin file.",
        subcommands: [List.self, Inspect.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the connectors found in the plugin folders, and the files that did not load.")

        @OptionGroup var options: ConfigOptions

        func run() async throws {
            let config = try options.load()
            let catalog = PluginCatalog(folders: config.pluginDirectories)
            print("Searched: \(catalog.searchPath.isEmpty ? "(no folders)" : catalog.searchPath.joined(separator: ", "))")
            for plugin in catalog.plugins.values.sorted(by: { $0.name < $1.name }) {
                let summary = plugin.summary.isEmpty ? "" : "  \(plugin.summary)"
                print("\(plugin.name) \(plugin.version) (ABI \(plugin.abiVersion), \(plugin.capabilities))  \(plugin.path)\(summary)")
            }
            for failure in catalog.failures {
                print("FAILED \(failure)")
            }
            if catalog.plugins.isEmpty && catalog.failures.isEmpty { print("No plugins found.") }
        }
    }

    struct Inspect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load one plugin file and say what it is, or exactly why it does not load.",
            discussion: "Exits 0 when the file loads as a connector, 1 when it does not.")

        @Argument(help: "The shared library to inspect.")
        var path: String

        /// The plugin's JSON schema as a JSON value, not a string holding JSON; the text as it
        /// is when it does not parse (the plugin's mistake, shown rather than hidden).
        static func schemaObject(_ text: String?) -> Any {
            guard let text else { return NSNull() }
            return (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: .fragmentsAllowed)) ?? text
        }

        @Flag(help: "Print one JSON object.")
        var json = false

        func run() async throws {
            do {
                let plugin = try PluginLibrary.load(path: path)
                if json {
                    let object: [String: Any] = [
                        "path": plugin.path, "loads": true, "name": plugin.name, "version": plugin.version,
                        "description": plugin.summary, "abi_version": plugin.abiVersion.description,
                        "host_abi_version": ABIVersion.host.description, "struct_size": plugin.structSize,
                        "capabilities": plugin.capabilities.names, "config_schema": Self.schemaObject(plugin.configSchema),
                    ]
                    printJSON(object)
                    return
                }
                print("""
                    \(plugin.path)
                      loads:         yes
                      connector:     \(plugin.name)
                      version:       \(plugin.version)
                      description:   \(plugin.summary.isEmpty ? "-" : plugin.summary)
                      ABI:           \(plugin.abiVersion) (host \(ABIVersion.host)), table struct_size \(plugin.structSize) bytes
                      capabilities:  \(plugin.capabilities)
                      config schema: \(plugin.configSchema == nil ? "none" : "(below)")
                    """)
                if let schema = plugin.configSchema { print(schema.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n")) }
            } catch {
                if json {
                    printJSON(["path": path, "loads": false, "error": error.code.description, "reason": error.reason])
                } else {
                    print("\(path)\n  loads:  no\n  reason: \(error.reason)")
                }
                throw ExitCode(1)
            }
        }

        private func printJSON(_ object: [String: Any]) {
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
            print(String(decoding: data, as: UTF8.self))
        }
    }
}
