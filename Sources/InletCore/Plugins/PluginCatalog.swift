import Foundation

/// Every plugin found in the configured folders and on `INLET_PLUGIN_PATH`, by connector name,
/// and every plugin that failed to load, with its reason. One bad file never hides the others.
package struct PluginCatalog: Sendable {
    /// Loaded plugins by connector name.
    package private(set) var plugins: [String: LoadedPlugin] = [:]
    /// Files (or folders) that did not load, each naming its path and reason.
    package private(set) var failures: [PluginError] = []
    /// The folders searched, in order.
    package let searchPath: [String]

    /// The folders named by `INLET_PLUGIN_PATH` (colon-separated), in order.
    package static func environmentFolders(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> [String] {
        (environment["INLET_PLUGIN_PATH"] ?? "").split(separator: ":").map(String.init).filter { !$0.isEmpty }
    }

    /// Scans `folders` then `INLET_PLUGIN_PATH` for `*.so` files and loads each.
    ///
    /// A connector name claimed by two files is kept for the first one found (search order) and
    /// the second is reported as a failure naming both.
    package init(folders: [String], environment: [String: String] = ProcessInfo.processInfo.environment) {
        let fromEnvironment = Self.environmentFolders(environment)
        searchPath = folders + fromEnvironment
        var seen = Set<String>()
        for folder in searchPath {
            let fileManager = FileManager.default
            var isDirectory: ObjCBool = false
            guard fileManager.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
                let origin = fromEnvironment.contains(folder) && !folders.contains(folder) ? "INLET_PLUGIN_PATH" : "plugins"
                failures.append(PluginError(.missingFile, path: folder, "plugin folder (from \(origin)) does not exist"))
                continue
            }
            let names = ((try? fileManager.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasSuffix(".so") }.sorted()
            for name in names {
                let path = (folder as NSString).appendingPathComponent(name)
                let real = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
                guard seen.insert(real).inserted else { continue }
                add(path: path)
            }
        }
    }

    private mutating func add(path: String) {
        let plugin: LoadedPlugin
        do {
            plugin = try PluginLibrary.load(path: path)
        } catch {
            failures.append(error)
            return
        }
        if let first = plugins[plugin.name] {
            failures.append(PluginError(
                .duplicateName, path: path,
                "connector name '\(plugin.name)' is already provided by \(first.path); this file is ignored"))
            return
        }
        plugins[plugin.name] = plugin
    }

    /// The plugin a source uses: its explicit `plugin:` file, or the catalog's plugin for its connector.
    /// - Throws: ``PluginError`` naming the file, or the connector with the names that exist.
    package func plugin(connector: String, explicitPath: String?) throws(PluginError) -> LoadedPlugin {
        if let explicitPath {
            let plugin = try PluginLibrary.load(path: explicitPath)
            guard plugin.name == connector else {
                throw PluginError(
                    .nameMismatch, path: explicitPath,
                    "provides connector '\(plugin.name)', but the source asks for connector '\(connector)'")
            }
            return plugin
        }
        if let plugin = plugins[connector] { return plugin }
        var reason = "no plugin provides connector '\(connector)'"
        let known = plugins.keys.sorted()
        if let suggestion = SpellingSuggestion.closest(to: connector, in: known) {
            reason += "; did you mean '\(suggestion)'?"
        }
        reason += known.isEmpty ? " (no plugins were found" : " (found: \(known.joined(separator: ", "))"
        reason += searchPath.isEmpty ? "; no plugin folders configured)" : " in \(searchPath.joined(separator: ", ")))"
        throw PluginError(.unknownConnector, path: "", reason)
    }
}
