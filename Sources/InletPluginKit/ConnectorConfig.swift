import Foundation

/// The source's `config:` block, plus what the host says about where the instance lives.
public struct ConnectorConfig: Sendable {
    /// The block as JSON, including the host-added `_inlet` key.
    public let json: JSONObject
    /// The source's name.
    public let sourceName: String
    /// A folder the instance may keep files in (it exists).
    public let dataDirectory: String
    /// The config file's folder: resolve relative paths of the block against it.
    public let configDirectory: String

    public init(json: JSONObject) {
        self.json = json
        let inlet = json["_inlet"]?.objectValue ?? [:]
        let cwd = FileManager.default.currentDirectoryPath
        self.sourceName = inlet["source"]?.stringValue ?? ""
        self.dataDirectory = inlet["data_dir"]?.stringValue ?? cwd
        self.configDirectory = inlet["config_dir"]?.stringValue ?? cwd
    }

    /// Decodes the block into a `Decodable` type; the `_inlet` key is ignored unless declared.
    public func decode<T: Decodable>(_ type: T.Type) throws -> T { try json.decode(type) }

    /// Resolves a path from the block against the config file's folder.
    public func resolvePath(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        return URL(fileURLWithPath: configDirectory).appendingPathComponent(path).standardizedFileURL.path
    }
}
