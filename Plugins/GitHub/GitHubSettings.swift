import Foundation
import InletPluginKit

/// A github source's `config:` block, checked field by field (every error names its field).
struct GitHubSettings {
    /// How the connector proves who it is.
    enum Credentials {
        /// A personal access token (or any bearer token).
        case token(String)
        /// A GitHub App: its id and private key (PEM), and optionally the installation to use.
        case app(appID: String, privateKeyPEM: String, installationID: String?)
    }

    /// Which listing names the owner's repositories.
    enum OwnerType: String {
        case auto, org, user
    }

    var owner: String
    var ownerType: OwnerType
    var credentials: Credentials
    /// Without a trailing slash: `https://api.github.com`, or GitHub Enterprise's `https://host/api/v3`.
    var baseURL: String
    var repositories: PathFilter
    var skipArchived: Bool
    var skipForks: Bool
    var files: PathFilter
    var maxFileSize: Int
    var issues: Bool
    var pullRequests: Bool
    /// Decides which file records exist and how they look: a change re-compares every file.
    let fileFingerprint: String

    static let defaultBaseURL = "https://api.github.com"
    static let defaultMaxFileSize = 1024 * 1024

    static let schema = """
        {"type": "object", "required": ["owner"], "additionalProperties": false,
         "properties": {
           "owner": {"type": "string", "minLength": 1, "description": "the organisation or user whose repositories are synced"},
           "owner_type": {"enum": ["auto", "org", "user"], "description": "auto (default): the organisation listing, else the user's"},
           "token": {"type": "string", "minLength": 1, "description": "a token; write \\"${GITHUB_TOKEN}\\", never the token itself"},
           "token_file": {"type": "string", "minLength": 1, "description": "a file holding the token (relative to the config file)"},
           "app": {"type": "object", "required": ["app_id"], "additionalProperties": false,
                   "properties": {
                     "app_id": {"type": ["integer", "string"]},
                     "private_key_file": {"type": "string", "minLength": 1},
                     "private_key": {"type": "string", "minLength": 1},
                     "installation_id": {"type": ["integer", "string"]}}},
           "base_url": {"type": "string", "pattern": "^https?://", "description": "default https://api.github.com"},
           "include_repos": {"type": "array", "items": {"type": "string"}},
           "exclude_repos": {"type": "array", "items": {"type": "string"}},
           "skip_archived": {"type": "boolean"},
           "skip_forks": {"type": "boolean"},
           "include": {"type": "array", "items": {"type": "string"}, "description": "globs of file paths to take; default all"},
           "exclude": {"type": "array", "items": {"type": "string"}},
           "max_file_size": {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": "(?i)^ *[0-9]+(\\\\.[0-9]+)? *([KMG](I?B)?|B)? *$"}],
                             "description": "bytes, or \\"512KB\\", \\"1.5MB\\", \\"1GB\\"; default 1MB"},
           "issues": {"type": "boolean"},
           "pull_requests": {"type": "boolean"},
           "_inlet": {"type": "object"}}}
        """

    init(config: ConnectorConfig) throws {
        let json = config.json
        guard let owner = json["owner"]?.stringValue, !owner.isEmpty, !owner.contains("/") else {
            throw Self.error("owner", "expected the name of an organisation or user (no '/')")
        }
        self.owner = owner
        let typeName = try Self.string(json["owner_type"], field: "owner_type") ?? "auto"
        guard let ownerType = OwnerType(rawValue: typeName) else { throw Self.error("owner_type", "expected auto, org or user, got '\(typeName)'") }
        self.ownerType = ownerType

        let token = try Self.string(json["token"], field: "token")
        let tokenFile = try Self.string(json["token_file"], field: "token_file")
        let app = json["app"]
        switch (token, tokenFile, app) {
        case (let token?, nil, nil):
            credentials = .token(token.trimmingCharacters(in: .whitespacesAndNewlines))
        case (nil, let file?, nil):
            credentials = .token(try Self.readSecret(config.resolvePath(file), field: "token_file"))
        case (nil, nil, let app?):
            credentials = try Self.appCredentials(app, config: config)
        case (nil, nil, nil):
            throw Self.error("token", "one of 'token', 'token_file' or 'app' is required")
        default:
            throw Self.error("token", "give only one of 'token', 'token_file' and 'app'")
        }
        if case .token(let value) = credentials, value.isEmpty { throw Self.error(tokenFile == nil ? "token" : "token_file", "the token is empty") }

        var base = try Self.string(json["base_url"], field: "base_url") ?? Self.defaultBaseURL
        guard base.hasPrefix("https://") || base.hasPrefix("http://") else { throw Self.error("base_url", "expected an http:// or https:// URL, got '\(base)'") }
        while base.hasSuffix("/") { base.removeLast() }
        baseURL = base

        repositories = try Self.filter(json, include: "include_repos", exclude: "exclude_repos")
        files = try Self.filter(json, include: "include", exclude: "exclude")
        skipArchived = try Self.bool(json["skip_archived"], field: "skip_archived") ?? true
        skipForks = try Self.bool(json["skip_forks"], field: "skip_forks") ?? true
        issues = try Self.bool(json["issues"], field: "issues") ?? true
        pullRequests = try Self.bool(json["pull_requests"], field: "pull_requests") ?? true
        maxFileSize = try json["max_file_size"].map { value in
            do { return try ByteSize.parse(value, field: "max_file_size") } catch let error as ConnectorError { throw Self.error(error.message) }
        } ?? Self.defaultMaxFileSize
        let fingerprint = JSONValue.object([
            "include": .array(files.include.map { .string($0.pattern) }), "exclude": .array(files.exclude.map { .string($0.pattern) }),
            "max_file_size": .int(maxFileSize), "version": .int(1),
        ])
        fileFingerprint = String(decoding: fingerprint.jsonBytes(), as: UTF8.self)
    }

    private static func appCredentials(_ value: JSONValue, config: ConnectorConfig) throws -> Credentials {
        guard let app = value.objectValue else { throw error("app", "expected an object with app_id and private_key_file") }
        guard let appID = try identifier(app["app_id"], field: "app.app_id") else { throw error("app.app_id", "missing") }
        let installation = try identifier(app["installation_id"], field: "app.installation_id")
        let keyFile = try string(app["private_key_file"], field: "app.private_key_file")
        let keyText = try string(app["private_key"], field: "app.private_key")
        let pem: String
        switch (keyFile, keyText) {
        case (let file?, nil): pem = try readSecret(config.resolvePath(file), field: "app.private_key_file")
        case (nil, let text?): pem = text
        case (nil, nil): throw error("app.private_key_file", "one of 'private_key_file' or 'private_key' is required")
        default: throw error("app.private_key_file", "give only one of 'private_key_file' and 'private_key'")
        }
        do {
            _ = try AppJWT(appID: appID, privateKeyPEM: pem)
        } catch {
            throw Self.error(keyFile == nil ? "app.private_key" : "app.private_key_file", "not an RSA private key in PEM form (\(error))")
        }
        return .app(appID: appID, privateKeyPEM: pem, installationID: installation)
    }

    private static func filter(_ json: JSONObject, include: String, exclude: String) throws -> PathFilter {
        let includes = try strings(json[include], field: include)
        let excludes = try strings(json[exclude], field: exclude)
        do {
            return try PathFilter(include: includes, exclude: excludes)
        } catch let error as ConnectorError {
            throw Self.error("\(include)/\(exclude): \(error.message)")
        }
    }

    private static func readSecret(_ path: String, field: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else { throw error(field, "cannot read '\(path)'") }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private static func string(_ value: JSONValue?, field: String) throws -> String? {
        guard let value else { return nil }
        guard let text = value.stringValue else { throw error(field, "expected text") }
        return text
    }

    private static func identifier(_ value: JSONValue?, field: String) throws -> String? {
        switch value {
        case nil: return nil
        case .int(let number)?: return String(number)
        case .string(let text)? where !text.isEmpty && text.allSatisfy(\.isNumber): return text
        default: throw error(field, "expected a number")
        }
    }

    private static func bool(_ value: JSONValue?, field: String) throws -> Bool? {
        guard let value else { return nil }
        guard let flag = value.boolValue else { throw error(field, "expected true or false") }
        return flag
    }

    private static func strings(_ value: JSONValue?, field: String) throws -> [String] {
        guard let value else { return [] }
        guard let items = value.arrayValue?.compactMap(\.stringValue), items.count == value.arrayValue?.count else {
            throw error(field, "expected a list of globs")
        }
        return items
    }

    static func error(_ field: String, _ message: String) -> ConnectorError {
        ConnectorError.failed("github: field '\(field)': \(message)")
    }

    static func error(_ message: String) -> ConnectorError {
        ConnectorError.failed("github: \(message)")
    }
}
