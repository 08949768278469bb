import Foundation
import InletPluginKit

/// What the connector keeps in the host's state store (per source), committed with the records
/// it describes:
/// - `owner_type`: `orgs` or `users`, once `auto` found out which listing answers;
/// - `repos`: the repositories discovery took (``ListedRepositories``), which the repo jobs and
///   webhooks read (job args may be stale: a queued job absorbs later requests);
/// - `repo:<owner/name>`: ``RepositoryState``, the checkpoint of one repository;
/// - `files:<owner/name>`: path → blob SHA of every file record (deletions and removals);
/// - `dirty:<owner/name>`: set by a push webhook, so the next repo job checks the branch head.
enum StateKeys {
    static let ownerType = "owner_type"
    static let repositories = "repos"
    static func repository(_ repo: String) -> String { "repo:\(repo)" }
    static func files(_ repo: String) -> String { "files:\(repo)" }
    static func dirty(_ repo: String) -> String { "dirty:\(repo)" }
}

/// One repository as the last discovery saw it.
struct ListedRepository: Codable, Equatable {
    var branch: String?
    /// The listing's `pushed_at`: when it moves, something was pushed, so the head is checked.
    var pushedAt: String?
    var hasIssues: Bool
}

typealias ListedRepositories = [String: ListedRepository]

/// The checkpoint of one repository.
struct RepositoryState: Codable {
    /// The branch head commit and its tree whose files are recorded ("" for an empty repository).
    var head: String?
    var tree: String?
    var branch: String?
    /// The listing's `pushed_at` when the head was last checked.
    var pushedAt: String?
    /// ``GitHubSettings/fileFingerprint`` of the recorded files.
    var fingerprint: String?
    /// The newest `updated_at` of issues and pull requests fully processed.
    var cursor: String?
    /// Numbers of items whose `updated_at` equals `cursor` (already processed).
    var seenAtCursor: [Int] = []
    /// The `since` of the issue listing; moved only when a walk needed more than one page, so
    /// the listing's URL (hence its ETag) stays the same while nothing changes.
    var since: String?
    var issueNumbers: [Int] = []
    var pullNumbers: [Int] = []
    /// Comments recorded from webhooks, as `issue/id`.
    var comments: [String] = []
    /// Set when the repository answered 404, until it answers again.
    var unreachable: Bool?
    /// The `updated_at` of each issue, pull request and comment record as last written
    /// (`issue/12`, `pull/7`, `comment/99`): a webhook payload older than that is not written
    /// (GitHub does not promise delivery order, and a redelivery may be days old).
    var written: [String: String]?

    /// True when a payload updated at `updatedAt` is not older than what was written for `item`.
    func isCurrent(_ item: String, _ updatedAt: String) -> Bool {
        guard let stored = written?[item] else { return true }
        return Timestamps.notOlder(updatedAt, than: stored)
    }

    mutating func noteWritten(_ item: String, _ updatedAt: String) {
        written = (written ?? [:]).merging([item: updatedAt]) { _, new in new }
    }
}

extension InletHost {
    func decodedState<T: Decodable>(_ type: T.Type, _ key: String) throws -> T? {
        guard let bytes = try state(key) else { return nil }
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch {
            log(.warning, "github: state '\(key)' is unreadable (\(error)); starting it afresh")
            return nil
        }
    }

    func setEncodedState<T: Encodable>(_ key: String, _ value: T?) throws {
        guard let value else { return try setState(key, nil as [UInt8]?) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try setState(key, Array(try encoder.encode(value)))
    }
}
