import Foundation
import InletPluginKit

/// The parts of GitHub's answers (and webhook payloads) the connector reads; snake_case keys
/// decode into these camelCase names.
enum GitHub {
    /// GitHub's JSON (answers and payloads) into these types.
    static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(T.self, from: Data(bytes))
    }

    struct Repository: Decodable {
        var name: String
        var fullName: String
        var defaultBranch: String?
        var archived: Bool?
        var fork: Bool?
        var pushedAt: Flexible?
        var htmlUrl: String?
        var description: String?
        var language: String?
        var topics: [String]?
        var visibility: String?
        var `private`: Bool?
        var hasIssues: Bool?
        var createdAt: Flexible?
    }

    /// Webhook payloads write some times as epoch seconds (a push's `repository.created_at`).
    enum Flexible: Decodable {
        case text(String)
        case number(Int)

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let number = try? container.decode(Int.self) { self = .number(number) } else { self = .text(try container.decode(String.self)) }
        }

        var iso: String {
            switch self {
            case .text(let text): text
            case .number(let seconds): Timestamps.iso(Date(timeIntervalSince1970: TimeInterval(seconds)))
            }
        }
    }

    struct Tree: Decodable {
        var sha: String
        var truncated: Bool?
        var tree: [Entry]

        struct Entry: Decodable {
            var path: String
            var mode: String
            var type: String
            var sha: String
            var size: Int?
        }
    }

    struct User: Decodable {
        var login: String
    }

    struct Label: Decodable {
        var name: String
    }

    struct Milestone: Decodable {
        var title: String?
    }

    struct Issue: Decodable {
        var number: Int
        var title: String
        var body: String?
        var state: String
        var stateReason: String?
        var labels: [Label]?
        var user: User?
        var assignees: [User]?
        var milestone: Milestone?
        var comments: Int?
        var locked: Bool?
        var createdAt: String
        var updatedAt: String
        var closedAt: String?
        var htmlUrl: String?
        /// Present when the "issue" is a pull request (GitHub lists both as issues).
        var pullRequest: PullRequestLink?

        struct PullRequestLink: Decodable {
            var mergedAt: String?
        }
    }

    struct PullRequest: Decodable {
        var number: Int
        var title: String
        var body: String?
        var state: String
        var labels: [Label]?
        var user: User?
        var assignees: [User]?
        var milestone: Milestone?
        var locked: Bool?
        var draft: Bool?
        var merged: Bool?
        var mergedAt: String?
        var createdAt: String
        var updatedAt: String
        var closedAt: String?
        var htmlUrl: String?
        var base: Ref
        var head: Ref

        struct Ref: Decodable {
            var ref: String
            var sha: String?
            var label: String?
        }
    }

    struct Comment: Decodable {
        var id: Int
        var body: String?
        var user: User?
        var createdAt: String
        var updatedAt: String
        var htmlUrl: String?
    }
}

/// Keys and record shapes, shared by the polling jobs and the webhooks so both write the same
/// records: `owner/name` (the repository), `owner/name/files/<path>`, `owner/name/issues/<n>`,
/// `owner/name/pulls/<n>`, `owner/name/issues/<n>/comments/<id>`. `owner/name` is GitHub's
/// `full_name` as it spells it.
enum RecordKeys {
    static func repository(_ repo: String) -> String { repo }
    static func file(_ repo: String, _ path: String) -> String { "\(repo)/files/\(path)" }
    static func issue(_ repo: String, _ number: Int) -> String { "\(repo)/issues/\(number)" }
    static func pull(_ repo: String, _ number: Int) -> String { "\(repo)/pulls/\(number)" }
    static func comment(_ repo: String, issue: Int, id: Int) -> String { "\(repo)/issues/\(issue)/comments/\(id)" }
}

extension GitHub.Repository {
    /// Stable facts only: counts and times that move daily would make a new version every run.
    var metadata: [String: JSONValue] {
        [
            "repo": .string(fullName), "name": .string(name), "description": description.map(JSONValue.string) ?? .null,
            "default_branch": defaultBranch.map(JSONValue.string) ?? .null, "language": language.map(JSONValue.string) ?? .null,
            "topics": .array((topics ?? []).map(JSONValue.string)), "archived": .bool(archived ?? false), "fork": .bool(fork ?? false),
            "visibility": .string(visibility ?? ((self.private ?? false) ? "private" : "public")),
            "url": htmlUrl.map(JSONValue.string) ?? .null, "created_at": createdAt.map { .string($0.iso) } ?? .null,
        ]
    }
}

extension GitHub.Issue {
    func metadata(repo: String) -> [String: JSONValue] {
        var out = commonMetadata(
            repo: repo, number: number, title: title, state: state, labels: labels, user: user, assignees: assignees,
            milestone: milestone, locked: locked, createdAt: createdAt, updatedAt: updatedAt, closedAt: closedAt, htmlUrl: htmlUrl)
        out["state_reason"] = stateReason.map(JSONValue.string) ?? .null
        out["comments"] = comments.map(JSONValue.int) ?? .null
        return out
    }
}

extension GitHub.PullRequest {
    func metadata(repo: String) -> [String: JSONValue] {
        var out = commonMetadata(
            repo: repo, number: number, title: title, state: state, labels: labels, user: user, assignees: assignees,
            milestone: milestone, locked: locked, createdAt: createdAt, updatedAt: updatedAt, closedAt: closedAt, htmlUrl: htmlUrl)
        out["base"] = .string(base.ref)
        out["head"] = .string(head.ref)
        out["base_sha"] = base.sha.map(JSONValue.string) ?? .null
        out["head_sha"] = head.sha.map(JSONValue.string) ?? .null
        out["merged"] = .bool(merged ?? (mergedAt != nil))
        out["merged_at"] = mergedAt.map(JSONValue.string) ?? .null
        out["draft"] = .bool(draft ?? false)
        return out
    }
}

private func commonMetadata(
    repo: String, number: Int, title: String, state: String, labels: [GitHub.Label]?, user: GitHub.User?, assignees: [GitHub.User]?,
    milestone: GitHub.Milestone?, locked: Bool?, createdAt: String, updatedAt: String, closedAt: String?, htmlUrl: String?
) -> [String: JSONValue] {
    [
        "repo": .string(repo), "number": .int(number), "title": .string(title), "state": .string(state),
        "labels": .array((labels ?? []).map { .string($0.name) }), "author": user.map { .string($0.login) } ?? .null,
        "assignees": .array((assignees ?? []).map { .string($0.login) }),
        "milestone": milestone?.title.map(JSONValue.string) ?? .null, "locked": .bool(locked ?? false),
        "created_at": .string(createdAt), "updated_at": .string(updatedAt), "closed_at": closedAt.map(JSONValue.string) ?? .null,
        "url": htmlUrl.map(JSONValue.string) ?? .null,
    ]
}

extension InletHost {
    /// Emits an issue, pull request or comment: the body is the content (none when empty).
    func emitText(key: String, kind: String, metadata: [String: JSONValue], body: String?) throws {
        let content = body.flatMap { $0.isEmpty ? nil : Array($0.utf8) }
        try emit(key: key, kind: kind, metadata: metadata, content: content)
    }
}
