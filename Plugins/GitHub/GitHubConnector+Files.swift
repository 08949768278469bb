import Foundation
import InletPluginKit

extension GitHubConnector {
    /// A `repo` job: the files when the head may have moved, then issues and pull requests.
    func syncRepository(_ repo: String, full: Bool, host: InletHost) throws {
        let listed = try host.decodedState(ListedRepositories.self, StateKeys.repositories) ?? [:]
        guard let entry = listed[repo] else {
            host.log(.info, "github: \(repo) is not among the repositories discovery took; nothing to do")
            return
        }
        var state = try host.decodedState(RepositoryState.self, StateKeys.repository(repo)) ?? RepositoryState()
        let dirty = try host.state(StateKeys.dirty(repo)) != nil
        // The listing's pushed_at moves with every push: while it stands still (and no push
        // webhook came), the head is not asked for at all.
        let headMayHaveMoved = full || dirty || state.head == nil || state.pushedAt != entry.pushedAt
            || state.fingerprint != settings.fileFingerprint || state.branch != entry.branch || state.unreachable == true
        if headMayHaveMoved {
            guard try syncFiles(repo, branch: entry.branch, pushedAt: entry.pushedAt, full: full, state: &state, host: host) else {
                return try host.setEncodedState(StateKeys.repository(repo), state)
            }
            if dirty { try host.setState(StateKeys.dirty(repo), nil as [UInt8]?) }
            try host.setEncodedState(StateKeys.repository(repo), state)
            try host.checkpoint()
        }
        if settings.issues || settings.pullRequests {
            try syncIssues(repo, hasIssues: entry.hasIssues, full: full, state: &state, host: host)
            try host.setEncodedState(StateKeys.repository(repo), state)
        }
    }

    /// Brings the file records to the branch head. Returns false when the repository answered
    /// 404 (gone, or access lost: GitHub answers the same for both): nothing is tombstoned here,
    /// a discovery is asked for once, and the listing decides (a repository it no longer shows
    /// is tombstoned; one it still shows keeps its records).
    private func syncFiles(
        _ repo: String, branch: String?, pushedAt: String?, full: Bool, state: inout RepositoryState, host: InletHost
    ) throws -> Bool {
        guard let branch else {
            // An empty repository has no default branch yet.
            try replaceFiles(repo, with: [:], head: "", tree: "", commit: "", branch: "", full: full, state: &state, host: host)
            state.pushedAt = pushedAt
            return true
        }
        // One small conditional request: the head commit's SHA alone (a 304 costs nothing).
        let response = try client.request(
            "/repos/\(repo)/commits/\(Self.segment(branch))", accept: "application/vnd.github.sha", host: host)
        switch response.status {
        case 404:
            if state.unreachable != true {
                host.log(.warning, "github: \(repo) answered 404 (deleted, renamed, or access lost); asking discovery")
                try enqueueDiscovery(host: host)
            }
            state.unreachable = true
            return false
        case 409:
            // "Git Repository is empty."
            try replaceFiles(repo, with: [:], head: "", tree: "", commit: "", branch: branch, full: full, state: &state, host: host)
            state.pushedAt = pushedAt
            state.unreachable = nil
            return true
        default:
            try GitHubClient.check(response, "GET /repos/\(repo)/commits/\(branch)")
        }
        state.unreachable = nil
        let head = response.text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard head.count == 40, head.allSatisfy(\.isHexDigit) else {
            throw ConnectorError.retry("github: GET /repos/\(repo)/commits/\(branch) did not answer a commit SHA")
        }
        // A cached answer (304) may be older than the checkpoint: the SHA decides, not the flag.
        if !full, head == state.head, state.fingerprint == settings.fileFingerprint, state.branch == branch {
            state.pushedAt = pushedAt
            return true
        }
        let tree = try fetchTree(repo, commit: head, host: host)
        var blobs: [String: GitHub.Tree.Entry] = [:]
        for entry in tree.entries where entry.type == "blob" && settings.files.accepts(entry.path) { blobs[entry.path] = entry }
        try replaceFiles(repo, with: blobs, head: head, tree: tree.sha, commit: head, branch: branch, full: full, state: &state, host: host)
        state.pushedAt = pushedAt
        return true
    }

    /// Emits what differs from the recorded files and tombstones what went; updates the state.
    private func replaceFiles(
        _ repo: String, with blobs: [String: GitHub.Tree.Entry], head: String, tree: String, commit: String, branch: String,
        full: Bool, state: inout RepositoryState, host: InletHost
    ) throws {
        let recorded = try host.decodedState([String: String].self, StateKeys.files(repo)) ?? [:]
        let sameSettings = state.fingerprint == settings.fileFingerprint && state.branch == branch
        for path in recorded.keys.sorted() where blobs[path] == nil {
            try host.delete(key: RecordKeys.file(repo, path))
        }
        let changed = blobs.values.filter { full || !sameSettings || recorded[$0.path] != $0.sha }.sorted { $0.path < $1.path }
        host.progress(done: 0, total: changed.count)
        for (index, entry) in changed.enumerated() {
            if index % 64 == 0, host.isCancelled { throw ConnectorError.retry("github: cancelled after \(index) of \(changed.count) files of \(repo)") }
            try emitFile(repo, entry, commit: commit, branch: branch, host: host)
            // Records only: the head moves in the state at the end, so a sync cut short starts
            // again from the same head and re-emits what it did (unchanged for the sink).
            if (index + 1) % Self.checkpointEvery == 0 { try host.checkpoint() }
            host.progress(done: index + 1, total: changed.count)
        }
        try host.setEncodedState(StateKeys.files(repo), blobs.mapValues(\.sha))
        state.head = head
        state.tree = tree
        state.branch = branch
        state.fingerprint = settings.fileFingerprint
    }

    private func emitFile(_ repo: String, _ entry: GitHub.Tree.Entry, commit: String, branch: String, host: InletHost) throws {
        let size = entry.size ?? 0
        var metadata: [String: JSONValue] = [
            "repo": .string(repo), "branch": .string(branch), "path": .string(entry.path), "commit_sha": .string(commit),
            "blob_sha": .string(entry.sha), "size": .int(size), "mode": .string(entry.mode),
        ]
        func describe(_ classification: FileClassification, tooLarge: Bool) {
            metadata.merge(classification.metadata(tooLarge: tooLarge)) { _, new in new }
        }
        let key = RecordKeys.file(repo, entry.path)
        if size > settings.maxFileSize {
            // Not fetched: the path alone classifies it.
            describe(FileClassifier.classify(path: entry.path), tooLarge: true)
            return try host.emit(key: key, kind: "file", metadata: metadata)
        }
        if host.hasBlob(entry.sha) {
            // The sink stores text bodies only (binaries are metadata-only), so a blob it has is text.
            describe(FileClassifier.classify(path: entry.path, content: []), tooLarge: false)
            return try host.emit(key: key, kind: "file", metadata: metadata, blobSHA: entry.sha)
        }
        let content = try fetchBlob(repo, sha: entry.sha, host: host)
        let classification = FileClassifier.classify(path: entry.path, content: content[...])
        describe(classification, tooLarge: false)
        if classification.isBinary {
            try host.emit(key: key, kind: "file", metadata: metadata)
        } else {
            try host.emit(key: key, kind: "file", metadata: metadata, content: content, blobSHA: entry.sha)
        }
    }

    /// A blob's bytes. Immutable by SHA, so not worth the host's ETag cache.
    private func fetchBlob(_ repo: String, sha: String, host: InletHost) throws -> [UInt8] {
        let response = try client.get("/repos/\(repo)/git/blobs/\(sha)", accept: "application/vnd.github.raw+json", cacheable: false, host: host)
        // A server that ignores the raw media type answers JSON with base64 content.
        if let type = response.header("content-type"), type.hasPrefix("application/json") {
            struct Blob: Decodable { var content: String; var encoding: String }
            let blob = try GitHubClient.decode(Blob.self, response, "blob \(sha) of \(repo)")
            guard blob.encoding == "base64", let data = Data(base64Encoded: blob.content, options: .ignoreUnknownCharacters) else {
                return Array(blob.content.utf8)
            }
            return Array(data)
        }
        return response.body
    }

    /// The commit's whole tree: one recursive request, or, when GitHub truncates it, each
    /// subtree on its own (recursively, and level by level below a subtree still too large).
    private func fetchTree(_ repo: String, commit: String, host: InletHost) throws -> (sha: String, entries: [GitHub.Tree.Entry]) {
        let root = try tree(repo, commit, recursive: true, host: host)
        guard root.truncated == true else { return (root.sha, root.tree) }
        host.log(.info, "github: the tree of \(repo) at \(commit) is truncated; walking its subtrees")
        return (root.sha, try walk(repo, tree: root.sha, prefix: "", host: host))
    }

    private func walk(_ repo: String, tree sha: String, prefix: String, host: InletHost) throws -> [GitHub.Tree.Entry] {
        let level = try tree(repo, sha, recursive: false, host: host)
        var out: [GitHub.Tree.Entry] = []
        for var entry in level.tree {
            entry.path = prefix + entry.path
            out.append(entry)
            guard entry.type == "tree" else { continue }
            let sub = try tree(repo, entry.sha, recursive: true, host: host)
            if sub.truncated == true {
                out += try walk(repo, tree: entry.sha, prefix: entry.path + "/", host: host)
            } else {
                out += sub.tree.map { child in
                    var child = child
                    child.path = entry.path + "/" + child.path
                    return child
                }
            }
        }
        return out
    }

    private func tree(_ repo: String, _ sha: String, recursive: Bool, host: InletHost) throws -> GitHub.Tree {
        // Trees are immutable by SHA: no validators to keep.
        let path = "/repos/\(repo)/git/trees/\(sha)" + (recursive ? "?recursive=1" : "")
        return try GitHubClient.decode(GitHub.Tree.self, try client.get(path, cacheable: false, host: host), "tree \(sha) of \(repo)")
    }
}
