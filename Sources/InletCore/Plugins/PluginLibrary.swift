import CInletABI
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The one place that calls `dlopen`/`dlsym`. Every failure becomes a ``PluginError`` that names
/// the file and the reason in an operator's words, with `dlerror()`'s text kept.
package enum PluginLibrary {
    /// Opens a plugin file, negotiates the ABI and returns its connector table.
    ///
    /// Only the entry `inlet_connector_register` runs; nothing else of the plugin does.
    /// Libraries are never closed: a Swift plugin cannot be unloaded safely (its runtime metadata
    /// stays registered), so a loaded file stays mapped for the life of the process.
    /// - Throws: ``PluginError`` naming `path`.
    package static func load(path: String) throws(PluginError) -> LoadedPlugin {
        // dlopen searches the library path for a name without a slash: always give it a path.
        let path = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw PluginError(.missingFile, path: path, "no such file (\(String(cString: strerror(errno))))")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw PluginError(.notSharedObject, path: path, "not a regular file")
        }
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            let message = dlerror().map { String(cString: $0) } ?? "unknown error"
            if message.contains("invalid ELF header") || message.contains("file too short") || message.contains("ELF load command") {
                throw PluginError(.notSharedObject, path: path, "not a shared object (\(message))")
            }
            throw PluginError(.cannotLoad, path: path, "cannot be loaded: \(message)")
        }
        _ = dlerror()
        guard let symbol = dlsym(handle, INLET_CONNECTOR_ENTRY) else {
            throw PluginError(
                .symbolMissing, path: path,
                "symbol '\(INLET_CONNECTOR_ENTRY)' not found: not an Inlet connector, or built without exporting it "
                    + "(C: mark it INLET_EXPORT; Swift: @_cdecl(\"\(INLET_CONNECTOR_ENTRY)\"))")
        }
        // Unsafe: the symbol is declared in inlet_connector.h with exactly this C type.
        let register = unsafeBitCast(symbol, to: inlet_connector_register_fn.self)
        guard let tablePointer = register(ABIVersion.host.rawValue) else {
            throw PluginError(
                .noTable, path: path,
                "inlet_connector_register returned no table for host ABI \(ABIVersion.host) "
                    + "(the plugin does not support this host's ABI major)")
        }
        return try LoadedPlugin(path: path, table: tablePointer)
    }
}
