import Foundation
import InletPluginKit

/// A git source's `config:` block.
struct GitSettings: Equatable {
    /// What git fetches from: a local path (resolved against the config file's folder) or a URL.
    var url: String
    /// The branch to mirror; nil means the repository's default (the mirror's HEAD), else `main`.
    var branch: String?
    var include: [String]
    var exclude: [String]
    var maxFileSize: Int
    let filter: PathFilter

    static let defaultMaxFileSize = 1024 * 1024

    static let schema = """
        {"type": "object", "required": ["url"], "additionalProperties": false,
         "properties": {
           "url": {"type": "string", "minLength": 1, "description": "a local path (relative to the config file) or a URL git can fetch"},
           "branch": {"type": "string", "minLength": 1, "description": "default: the repository's default branch"},
           "include": {"type": "array", "items": {"type": "string"}, "description": "globs of paths to take; default all"},
           "exclude": {"type": "array", "items": {"type": "string"}, "description": "globs of paths to leave out"},
           "max_file_size": {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": "(?i)^ *[0-9]+(\\\\.[0-9]+)? *([KMG](I?B)?|B)? *$"}],
                             "description": "bytes, or \\"512KB\\", \\"1.5MB\\", \\"1GB\\"; default 1MB"},
           "_inlet": {"type": "object"}}}
        """

    init(config: ConnectorConfig) throws {
        let json = config.json
        guard let url = json["url"]?.stringValue, !url.isEmpty else { throw ConnectorError.failed("git: missing field 'url'") }
        self.url = Self.isRemote(url) ? url : config.resolvePath(url)
        if let branch = json["branch"] {
            guard let name = branch.stringValue, !name.isEmpty else { throw ConnectorError.failed("git: field 'branch': expected a branch name") }
            self.branch = name
        }
        include = try Self.strings(json["include"], field: "include")
        exclude = try Self.strings(json["exclude"], field: "exclude")
        maxFileSize = try json["max_file_size"].map { try ByteSize.parse($0, field: "max_file_size") } ?? Self.defaultMaxFileSize
        do {
            filter = try PathFilter(include: include, exclude: exclude)
        } catch let error as ConnectorError {
            throw ConnectorError.failed("git: \(error.message)")
        }
    }

    static func == (lhs: GitSettings, rhs: GitSettings) -> Bool {
        lhs.url == rhs.url && lhs.branch == rhs.branch && lhs.include == rhs.include && lhs.exclude == rhs.exclude
            && lhs.maxFileSize == rhs.maxFileSize
    }

    /// What decides which records exist and how they look; a change means a full comparison.
    var fingerprint: String {
        let value = JSONValue.object([
            "include": .array(include.map(JSONValue.string)), "exclude": .array(exclude.map(JSONValue.string)),
            "max_file_size": .int(maxFileSize), "version": .int(1),
        ])
        return String(decoding: value.jsonBytes(), as: UTF8.self)
    }

    /// `scheme://…`, `user@host:path` (scp-like) are remote; everything else is a local path.
    static func isRemote(_ url: String) -> Bool {
        if url.contains("://") { return true }
        if url.hasPrefix("/") || url.hasPrefix(".") { return false }
        if let colon = url.firstIndex(of: ":"), !url[..<colon].contains("/") { return true }
        return false
    }

    private static func strings(_ value: JSONValue?, field: String) throws -> [String] {
        guard let value else { return [] }
        guard let array = value.arrayValue else { throw ConnectorError.failed("git: field '\(field)': expected a list of globs") }
        return try array.map { item in
            guard let text = item.stringValue else { throw ConnectorError.failed("git: field '\(field)': expected a list of globs") }
            return text
        }
    }
}
