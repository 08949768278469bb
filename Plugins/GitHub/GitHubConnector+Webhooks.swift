import Foundation
import InletPluginKit

extension GitHubConnector {
    /// Handles one verified delivery. Issue, pull request and comment events write their record
    /// straight from the payload (no API call); a push asks for a high-priority sync of its
    /// repository; repository events update discovery.
    func webhook(_ event: WebhookEvent, host: InletHost) throws {
        switch event.name {
        case "installation_repositories":
            // Repositories added to or removed from the App's installation: the listing changed.
            host.log(.info, "github: installation_repositories delivery \(event.deliveryID): discovery queued")
            try enqueueDiscovery(host: host, priority: Self.pushPriority)
        case "ping", "installation":
            let payload = try decode(Acknowledged.self, event)
            host.log(.info, "github: \(event.name) delivery \(event.deliveryID) acknowledged\(payload.action.map { " (\($0))" } ?? "")\(payload.zen.map { ": \($0)" } ?? "")")
        case "push":
            try push(try decode(Push.self, event), delivery: event.deliveryID, host: host)
        case "issues":
            let payload = try decode(IssueEvent.self, event)
            guard let repo = try known(payload.repository, event, host: host) else { return }
            try updateRepositoryState(repo, host: host) { state in
                if payload.action == "deleted" || payload.action == "transferred" {
                    try host.delete(key: RecordKeys.issue(repo, payload.issue.number))
                    state.issueNumbers.removeAll { $0 == payload.issue.number }
                } else if settings.issues {
                    try record(payload.issue, repo: repo, state: &state, host: host, delivery: event.deliveryID)
                }
            }
        case "pull_request":
            let payload = try decode(PullRequestEvent.self, event)
            guard settings.pullRequests, let repo = try known(payload.repository, event, host: host) else { return }
            try updateRepositoryState(repo, host: host) { state in
                let item = "pull/\(payload.pullRequest.number)"
                guard state.isCurrent(item, payload.pullRequest.updatedAt) else {
                    host.log(.info, "github: pull_request delivery \(event.deliveryID) for \(repo)#\(payload.pullRequest.number) is older than the record; not written")
                    return
                }
                state.noteWritten(item, payload.pullRequest.updatedAt)
                try host.emitText(key: RecordKeys.pull(repo, payload.pullRequest.number), kind: "pull_request", metadata: payload.pullRequest.metadata(repo: repo), body: payload.pullRequest.body)
                if !state.pullNumbers.contains(payload.pullRequest.number) { state.pullNumbers = (state.pullNumbers + [payload.pullRequest.number]).sorted() }
            }
        case "issue_comment":
            let payload = try decode(CommentEvent.self, event)
            guard let repo = try known(payload.repository, event, host: host) else { return }
            let key = RecordKeys.comment(repo, issue: payload.issue.number, id: payload.comment.id)
            let remembered = "\(payload.issue.number)/\(payload.comment.id)"
            try updateRepositoryState(repo, host: host) { state in
                if payload.action == "deleted" {
                    try host.delete(key: key)
                    state.comments.removeAll { $0 == remembered }
                    return
                }
                guard state.isCurrent("comment/\(payload.comment.id)", payload.comment.updatedAt) else {
                    host.log(.info, "github: issue_comment delivery \(event.deliveryID) for comment \(payload.comment.id) is older than the record; not written")
                    return
                }
                state.noteWritten("comment/\(payload.comment.id)", payload.comment.updatedAt)
                let metadata: [String: JSONValue] = [
                    "repo": .string(repo), "issue": .int(payload.issue.number), "id": .int(payload.comment.id),
                    "author": payload.comment.user.map { .string($0.login) } ?? .null, "created_at": .string(payload.comment.createdAt),
                    "updated_at": .string(payload.comment.updatedAt), "url": payload.comment.htmlUrl.map(JSONValue.string) ?? .null,
                    "on_pull_request": .bool(payload.issue.pullRequest != nil),
                ]
                try host.emitText(key: key, kind: "comment", metadata: metadata, body: payload.comment.body)
                if !state.comments.contains(remembered) { state.comments.append(remembered) }
            }
            // The issue's own record moves too (its comment count, its updated_at); a pull
            // request's record is left to the pull_request events: this payload lacks its refs.
            if payload.issue.pullRequest == nil, settings.issues {
                try updateRepositoryState(repo, host: host) { state in
                    try record(payload.issue, repo: repo, state: &state, host: host, delivery: event.deliveryID)
                }
            }
        case "repository":
            try repositoryEvent(try decode(RepositoryEvent.self, event), host: host)
        default:
            host.log(.debug, "github: \(event.name) delivery \(event.deliveryID) ignored (not an event this connector uses)")
        }
    }

    /// Writes an issue from a payload and remembers its number (for tombstones), unless the
    /// record already written is newer than the payload.
    private func record(_ issue: GitHub.Issue, repo: String, state: inout RepositoryState, host: InletHost, delivery: String) throws {
        guard state.isCurrent("issue/\(issue.number)", issue.updatedAt) else {
            host.log(.info, "github: delivery \(delivery) for \(repo)#\(issue.number) is older than the record; not written")
            return
        }
        state.noteWritten("issue/\(issue.number)", issue.updatedAt)
        try host.emitText(key: RecordKeys.issue(repo, issue.number), kind: "issue", metadata: issue.metadata(repo: repo), body: issue.body)
        if !state.issueNumbers.contains(issue.number) { state.issueNumbers = (state.issueNumbers + [issue.number]).sorted() }
    }

    private func push(_ payload: Push, delivery: String, host: InletHost) throws {
        let repo = payload.repository.fullName
        let listed = try host.decodedState(ListedRepositories.self, StateKeys.repositories) ?? [:]
        guard let entry = listed[repo] else {
            // Perhaps new since the last discovery: let discovery decide, unless the filters
            // would leave it out anyway (a push to an archived, forked or excluded repository).
            if ownedHere(payload.repository), accepts(payload.repository) {
                host.log(.info, "github: push \(delivery) to \(repo), not yet discovered; asking discovery")
                try enqueueDiscovery(host: host, priority: Self.pushPriority)
            }
            return
        }
        let branch = entry.branch ?? payload.repository.defaultBranch
        guard let branch, payload.ref == "refs/heads/\(branch)" else {
            host.log(.debug, "github: push to \(payload.ref) of \(repo) ignored (the connector follows \(entry.branch ?? "no branch"))")
            return
        }
        // Recorded in state, not in the job's args: a repo job already queued absorbs this one.
        try host.setState(StateKeys.dirty(repo), payload.after ?? "1")
        try host.enqueue(kind: "repo", args: ["repo": .string(repo)], priority: Self.pushPriority, uniqueKey: Self.repoJobKey(repo))
        host.log(.info, "github: push to \(repo) \(branch) (\(payload.after ?? "?")): repository sync queued")
    }

    private func repositoryEvent(_ payload: RepositoryEvent, host: InletHost) throws {
        let repo = payload.repository.fullName
        switch payload.action {
        case "deleted":
            let listed = try host.decodedState(ListedRepositories.self, StateKeys.repositories) ?? [:]
            guard listed[repo] != nil else { return }
            try removeRepository(repo, host: host)
            try host.setEncodedState(StateKeys.repositories, listed.filter { $0.key != repo })
        default:
            // created, renamed, archived, unarchived, transferred, publicized, privatized, edited:
            // the listing says what is taken now (a rename is the old name gone, the new one new).
            guard ownedHere(payload.repository) || payload.action == "transferred" else { return }
            host.log(.info, "github: repository \(repo) \(payload.action ?? "changed"); discovery queued")
            try enqueueDiscovery(host: host, priority: Self.pushPriority)
        }
    }

    /// The repository of an event, when discovery took it (others are not this source's).
    private func known(_ repository: GitHub.Repository, _ event: WebhookEvent, host: InletHost) throws -> String? {
        let listed = try host.decodedState(ListedRepositories.self, StateKeys.repositories) ?? [:]
        guard listed[repository.fullName] != nil else {
            host.log(.debug, "github: \(event.name) delivery \(event.deliveryID) for \(repository.fullName), a repository this source does not take; ignored")
            return nil
        }
        return repository.fullName
    }

    private func ownedHere(_ repository: GitHub.Repository) -> Bool {
        repository.fullName.lowercased().hasPrefix(settings.owner.lowercased() + "/")
    }

    private func updateRepositoryState(_ repo: String, host: InletHost, _ body: (inout RepositoryState) throws -> Void) throws {
        var state = try host.decodedState(RepositoryState.self, StateKeys.repository(repo)) ?? RepositoryState()
        try body(&state)
        try host.setEncodedState(StateKeys.repository(repo), state)
    }

    private func decode<T: Decodable>(_ type: T.Type, _ event: WebhookEvent) throws -> T {
        do {
            return try GitHub.decode(T.self, from: event.body)
        } catch {
            // The same bytes will never decode: quarantine rather than retry.
            throw ConnectorError.failed("github: \(event.name) delivery \(event.deliveryID): unexpected payload (\(error))")
        }
    }

    private struct Acknowledged: Decodable {
        var action: String?
        var zen: String?
    }

    private struct Push: Decodable {
        var ref: String
        var after: String?
        var repository: GitHub.Repository
    }

    private struct IssueEvent: Decodable {
        var action: String
        var issue: GitHub.Issue
        var repository: GitHub.Repository
    }

    private struct PullRequestEvent: Decodable {
        var action: String
        var pullRequest: GitHub.PullRequest
        var repository: GitHub.Repository
    }

    private struct CommentEvent: Decodable {
        var action: String
        var issue: GitHub.Issue
        var comment: GitHub.Comment
        var repository: GitHub.Repository
    }

    private struct RepositoryEvent: Decodable {
        var action: String?
        var repository: GitHub.Repository
    }
}
