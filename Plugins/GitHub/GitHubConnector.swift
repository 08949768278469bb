import Foundation
import InletPluginKit

/// An owner's GitHub repositories: their files at the default branch, issues and pull requests,
/// kept current by a scheduled discovery (kind `sync`), one job per repository (kind `repo`) and
/// webhooks. Every request goes through the host's HTTP service (ETag cache, rate limits, breaker).
final class GitHubConnector: Connector {
    static let name = "github"
    static let version = "1.0.0"
    static let summary = "Files, issues and pull requests of an owner's GitHub repositories, through the REST API and webhooks"
    static var configSchema: String? { GitHubSettings.schema }
    static var supportsWebhooks: Bool { true }

    /// Records staged between two commits of a long repository sync.
    static let checkpointEvery = 500
    /// Priority of a repository sync a push asked for (webhooks outrank schedules).
    static let pushPriority = 2

    let settings: GitHubSettings
    let client: GitHubClient
    let sourceName: String

    init(config: ConnectorConfig, host: InletHost) throws {
        settings = try GitHubSettings(config: config)
        client = try GitHubClient(settings: settings)
        sourceName = config.sourceName
    }

    func sync(kind: String, args: JSONObject, host: InletHost) throws {
        let full = args["full"]?.boolValue == true
        switch kind {
        case "sync":
            try discover(full: full, host: host)
        case "repo":
            guard let repo = args["repo"]?.stringValue, repo.contains("/") else {
                throw ConnectorError.failed("github: a repo job needs args {\"repo\": \"owner/name\"}, got \(String(decoding: args.bytes, as: UTF8.self))")
            }
            try syncRepository(repo, full: full, host: host)
        default:
            throw ConnectorError.failed("github: unknown job kind '\(kind)'")
        }
    }

    func health(host: InletHost) throws {
        guard host.hasHTTP else { throw ConnectorError.failed("github: this inlet host has no HTTP service (ABI 1.1 or later is needed)") }
    }

    /// The discovery job's unique key: the scheduler's own (`sync:<source>`), so a discovery
    /// asked for by a webhook merges with a scheduled one.
    var discoveryKey: String { "sync:\(sourceName)" }

    static func repoJobKey(_ repo: String) -> String { "repo:\(repo)" }

    func enqueueDiscovery(host: InletHost, priority: Int? = nil) throws {
        try host.enqueue(kind: "sync", priority: priority, uniqueKey: discoveryKey)
    }

    /// Tombstones every record of a repository the connector remembers, and forgets it.
    func removeRepository(_ repo: String, host: InletHost) throws {
        let state = try host.decodedState(RepositoryState.self, StateKeys.repository(repo)) ?? RepositoryState()
        let files = try host.decodedState([String: String].self, StateKeys.files(repo)) ?? [:]
        for path in files.keys.sorted() { try host.delete(key: RecordKeys.file(repo, path)) }
        for number in state.issueNumbers { try host.delete(key: RecordKeys.issue(repo, number)) }
        for number in state.pullNumbers { try host.delete(key: RecordKeys.pull(repo, number)) }
        for comment in state.comments {
            let parts = comment.split(separator: "/")
            if parts.count == 2, let issue = Int(parts[0]), let id = Int(parts[1]) { try host.delete(key: RecordKeys.comment(repo, issue: issue, id: id)) }
        }
        try host.delete(key: RecordKeys.repository(repo))
        try host.setEncodedState(StateKeys.repository(repo), nil as RepositoryState?)
        try host.setEncodedState(StateKeys.files(repo), nil as [String: String]?)
        try host.setState(StateKeys.dirty(repo), nil as [UInt8]?)
        host.log(.info, "github: \(repo) is gone: tombstoned \(files.count) files, \(state.issueNumbers.count) issues, \(state.pullNumbers.count) pull requests")
    }

    /// Percent-encodes one path segment (a branch name may hold `/`, `#` or spaces).
    static func segment(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}

@_cdecl("inlet_connector_register")
public func inletConnectorRegister(_ hostABI: UInt32) -> UnsafeRawPointer? {
    ConnectorExport.register(GitHubConnector.self, hostABI: hostABI)
}
