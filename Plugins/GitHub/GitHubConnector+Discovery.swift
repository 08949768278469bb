import Foundation
import InletPluginKit

extension GitHubConnector {
    /// The discovery job: lists the owner's repositories over every page, keeps those the
    /// filters take, enqueues one coalesced `repo` job each, and tombstones the records of
    /// repositories that are gone (or that the filters no longer take).
    func discover(full: Bool, host: InletHost) throws {
        let listed = try listRepositories(host: host)
        var kept: ListedRepositories = [:]
        var records: [(String, [String: JSONValue])] = []
        for repo in listed where accepts(repo) {
            kept[repo.fullName] = ListedRepository(branch: repo.defaultBranch, pushedAt: repo.pushedAt?.iso, hasIssues: repo.hasIssues ?? true)
            records.append((repo.fullName, repo.metadata))
        }
        // Only a complete listing may remove anything: an error above threw before this point.
        let previous = try host.decodedState(ListedRepositories.self, StateKeys.repositories) ?? [:]
        for repo in previous.keys.sorted() where kept[repo] == nil {
            try removeRepository(repo, host: host)
        }
        for (repo, metadata) in records {
            try host.emit(key: RecordKeys.repository(repo), kind: "repository", metadata: metadata)
            var args: [String: JSONValue] = ["repo": .string(repo)]
            if full { args["full"] = .bool(true) }
            try host.enqueue(kind: "repo", args: args, uniqueKey: Self.repoJobKey(repo))
        }
        try host.setEncodedState(StateKeys.repositories, kept)
        host.log(.info, "github: \(settings.owner): \(listed.count) repositories listed, \(kept.count) taken, \(previous.keys.filter { kept[$0] == nil }.count) removed")
    }

    func accepts(_ repo: GitHub.Repository) -> Bool {
        if settings.skipArchived, repo.archived == true { return false }
        if settings.skipForks, repo.fork == true { return false }
        return settings.repositories.accepts(repo.name)
    }

    /// Every repository of the owner. `owner_type: auto` tries the organisation listing first and
    /// remembers which one answered.
    private func listRepositories(host: InletHost) throws -> [GitHub.Repository] {
        if client.isApp { return try listInstallationRepositories(host: host) }
        var kinds: [String]
        switch settings.ownerType {
        case .org: kinds = ["orgs"]
        case .user: kinds = ["users"]
        case .auto:
            let known = try host.stateString(StateKeys.ownerType)
            kinds = known == "users" ? ["users", "orgs"] : ["orgs", "users"]
        }
        let owner = Self.segment(settings.owner)
        while let kind = kinds.first {
            kinds.removeFirst()
            // `type=all` for an organisation; a user's own repositories (not those they only joined).
            let path = "/\(kind)/\(owner)/repos?per_page=100&type=\(kind == "orgs" ? "all" : "owner")"
            var repositories: [GitHub.Repository] = []
            var notFound = false
            try client.pages(path, host: host, onFirst: { response in
                if response.status == 404, !kinds.isEmpty {
                    notFound = true
                    return false
                }
                if response.status == 404 {
                    throw ConnectorError.failed("github: owner '\(settings.owner)' not found (GET \(path) answered 404)")
                }
                return true
            }) { response in
                repositories += try GitHubClient.decode([GitHub.Repository].self, response, "repository listing of \(settings.owner)")
                host.progress(done: repositories.count, total: 0)
                return true
            }
            if notFound { continue }
            if settings.ownerType == .auto { try host.setState(StateKeys.ownerType, kind) }
            return repositories
        }
        throw ConnectorError.failed("github: owner '\(settings.owner)' not found")
    }

    /// A GitHub App sees what its installation was granted, private repositories included
    /// (`/users/OWNER/repos` would show a user's public ones only): the installation's listing,
    /// kept to the owner's repositories.
    private func listInstallationRepositories(host: InletHost) throws -> [GitHub.Repository] {
        struct Page: Decodable { var repositories: [GitHub.Repository] }
        var repositories: [GitHub.Repository] = []
        try client.pages("/installation/repositories?per_page=100", host: host) { response in
            repositories += try GitHubClient.decode(Page.self, response, "installation repositories").repositories
            host.progress(done: repositories.count, total: 0)
            return true
        }
        let prefix = settings.owner.lowercased() + "/"
        return repositories.filter { $0.fullName.lowercased().hasPrefix(prefix) }
    }
}
