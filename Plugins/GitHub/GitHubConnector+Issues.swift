import Foundation
import InletPluginKit

extension GitHubConnector {
    /// Issues and pull requests changed since the cursor.
    ///
    /// The issue listing names both (a pull request is an issue to GitHub), newest update first:
    /// the walk stops at the first item already processed, so an unchanged repository costs one
    /// conditional request (a 304, free). Its URL changes only when `since` moves, which it does
    /// only after a walk longer than one page. Pull requests' refs and merge state are only in
    /// the pull listing, walked (newest first, to the cursor) only when the issue listing shows a
    /// changed pull request. Walking newest first, an item updated during the walk can jump
    /// ahead of the pages read, but none can be skipped that was older than the walk's start, so
    /// the cursor stops at the first answer's `Date`.
    func syncIssues(_ repo: String, hasIssues: Bool, full: Bool, state: inout RepositoryState, host: InletHost) throws {
        let previous = full ? nil : state.cursor
        let seen = full ? [] : Set(state.seenAtCursor)
        func processed(_ number: Int, _ updated: String) -> Bool {
            guard let previous else { return false }
            return updated < previous || (updated == previous && seen.contains(number))
        }
        var newest: [(number: Int, updated: String)] = []
        var startedAt: String?
        var pullsChanged = false
        var walkPulls = !hasIssues && settings.pullRequests
        var pages = 0
        var issueNumbers = Set(state.issueNumbers)

        if hasIssues {
            var path = "/repos/\(repo)/issues?state=all&sort=updated&direction=desc&per_page=100"
            if let since = full ? nil : state.since { path += "&since=\(since)" }
            try client.pages(path, host: host, onFirst: { response in
                startedAt = response.header("date").flatMap(Timestamps.iso(httpDate:))
                if response.status == 410 {
                    // Issues are turned off for this repository; pull requests remain.
                    walkPulls = settings.pullRequests
                    return false
                }
                if response.status == 404 {
                    host.log(.warning, "github: the issues of \(repo) answered 404; skipped until discovery sees it again")
                    return false
                }
                return true
            }) { response in
                pages += 1
                let items = try GitHubClient.decode([GitHub.Issue].self, response, "issues of \(repo)")
                for item in items {
                    if processed(item.number, item.updatedAt) { return false }
                    newest.append((item.number, item.updatedAt))
                    if item.pullRequest != nil {
                        pullsChanged = true
                    } else if settings.issues {
                        try host.emitText(key: RecordKeys.issue(repo, item.number), kind: "issue", metadata: item.metadata(repo: repo), body: item.body)
                        state.noteWritten("issue/\(item.number)", item.updatedAt)
                        issueNumbers.insert(item.number)
                    }
                }
                state.issueNumbers = issueNumbers.sorted()
                try host.setEncodedState(StateKeys.repository(repo), state)
                try host.checkpoint()
                return true
            }
        }
        if (pullsChanged && settings.pullRequests) || walkPulls {
            var pullNumbers = Set(state.pullNumbers)
            try client.pages("/repos/\(repo)/pulls?state=all&sort=updated&direction=desc&per_page=100", host: host) { response in
                if startedAt == nil { startedAt = response.header("date").flatMap(Timestamps.iso(httpDate:)) }
                let items = try GitHubClient.decode([GitHub.PullRequest].self, response, "pull requests of \(repo)")
                for item in items {
                    if processed(item.number, item.updatedAt) { return false }
                    newest.append((item.number, item.updatedAt))
                    try host.emitText(key: RecordKeys.pull(repo, item.number), kind: "pull_request", metadata: item.metadata(repo: repo), body: item.body)
                    state.noteWritten("pull/\(item.number)", item.updatedAt)
                    pullNumbers.insert(item.number)
                }
                state.pullNumbers = pullNumbers.sorted()
                try host.setEncodedState(StateKeys.repository(repo), state)
                try host.checkpoint()
                return true
            }
        }
        guard var cursor = newest.map(\.updated).max() else { return }
        if let startedAt, startedAt < cursor { cursor = startedAt }
        if let previous, cursor < previous { cursor = previous }
        var atCursor = Set(newest.filter { $0.updated == cursor }.map(\.number))
        if cursor == previous { atCursor.formUnion(seen) }
        state.cursor = cursor
        state.seenAtCursor = atCursor.sorted()
        if pages > 1 { state.since = cursor }
    }
}
