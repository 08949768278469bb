import Foundation
import InletPluginKit

/// Mirrors one branch of a git repository: a record per file at the branch head, tombstones for
/// files that go, one `_digest` record for the whole repository. Incremental by commit.
final class GitConnector: Connector {
    static let name = "git"
    static let version = "1.0.0"
    static let summary = "Files of a git repository's branch, incremental by commit, with a repository digest"
    static var configSchema: String? { GitSettings.schema }

    /// Files between two checkpoints of a long sync.
    static let checkpointEvery = 2000
    /// The digest record's key (a file of that name at the root would share it).
    static let digestKey = "_digest"

    let settings: GitSettings
    let mirrorPath: String
    /// The configured URL without credentials, for metadata and messages.
    let displayURL: String

    init(config: ConnectorConfig, host: InletHost) throws {
        settings = try GitSettings(config: config)
        mirrorPath = (config.dataDirectory as NSString).appendingPathComponent("mirror.git")
        displayURL = Self.redacted(settings.url)
    }

    func sync(kind: String, args: JSONObject, host: InletHost) throws {
        guard kind == "sync" else { throw ConnectorError.failed("git: unknown job kind '\(kind)'") }
        let full = args["full"]?.boolValue == true
        let git = GitCommand(gitDirectory: mirrorPath)
        try updateMirror()
        if host.isCancelled { throw ConnectorError.retry("git: cancelled") }

        let branch = try settings.branch ?? defaultBranch(git)
        guard let commit = try resolve(git, "refs/heads/\(branch)^{commit}") else {
            let branches = try listBranches(git)
            if branches.isEmpty {
                host.log(.info, "git: \(displayURL) is an empty repository")
                return try finishEmpty(branch: branch, host: host)
            }
            throw ConnectorError.failed(
                "git: branch '\(branch)' does not exist in \(displayURL) (branches: \(branches.prefix(20).joined(separator: ", ")))")
        }
        let tree = try resolve(git, "\(commit)^{tree}") ?? ""

        let oldCommit = try host.stateString("commit")
        let oldTree = try host.stateString("tree")
        let oldFingerprint = try host.stateString("settings")
        let oldBranch = try host.stateString("branch")
        let sameSettings = oldFingerprint == settings.fingerprint && oldBranch == branch
        if !full, sameSettings, oldCommit == commit {
            host.progress(done: 0, total: 0)
            return
        }

        let listing = GitTree.parseListing(try git.check(["ls-tree", "-r", "-z", "--long", "--full-tree", commit]))
        var changes: [TreeChange]
        if !full, sameSettings, let oldCommit, try isAncestor(git, oldCommit, of: commit) {
            // The usual case: the branch moved forward. Renames are a delete plus an add.
            changes = GitTree.parseChanges(try git.check(["diff", "--name-status", "-z", "-M", "--no-ext-diff", oldCommit, commit]))
        } else if let oldTree, !oldTree.isEmpty, (try resolve(git, "\(oldTree)^{tree}")) != nil {
            // History rewritten (force push), settings changed, or a full sync: compare the trees,
            // so only what differs is emitted (with changed settings, every file is emitted again).
            let oldListing = GitTree.parseListing(try git.check(["ls-tree", "-r", "-z", "--long", "--full-tree", oldTree]))
            if !full, sameSettings {
                if oldCommit != nil { host.log(.info, "git: \(oldCommit ?? "") is no longer an ancestor of \(commit); comparing trees") }
                changes = GitTree.compare(old: oldListing, new: listing)
            } else {
                let paths = Set(listing.map(\.pathBytes))
                changes = listing.map { TreeChange(status: .modified, pathBytes: $0.pathBytes) }
                changes += oldListing.filter { !paths.contains($0.pathBytes) }.map { TreeChange(status: .deleted, pathBytes: $0.pathBytes) }
            }
        } else {
            if oldCommit != nil { host.log(.warning, "git: the previous tree \(oldTree ?? "?") is gone from the mirror; emitting every file") }
            changes = listing.map { TreeChange(status: .added, pathBytes: $0.pathBytes) }
        }

        let reader = try CatFileBatch(git: git)
        defer { reader.close() }
        var byPath: [[UInt8]: TreeEntry] = [:]
        byPath.reserveCapacity(listing.count)
        for entry in listing { byPath[entry.pathBytes] = entry }

        // When settings changed, records that the new filter no longer takes must go too.
        let dropUnaccepted = !sameSettings && oldCommit != nil
        var done = 0
        let total = changes.count
        host.progress(done: 0, total: total)
        for change in changes where change.status == .deleted {
            try step(&done, total: total, host: host)
            guard let path = change.path, settings.filter.accepts(path) || dropUnaccepted else { continue }
            try host.delete(key: path)
        }
        // First the plan (which blobs to read), then every read requested at once, so git inflates
        // the next blob while this thread stores the last one.
        var work: [(entry: TreeEntry, path: String, read: BlobRead)] = []
        for change in changes where change.status != .deleted {
            guard let entry = byPath[change.pathBytes], entry.type == "blob" else {
                try step(&done, total: total, host: host)
                continue
            }
            guard let path = entry.path else {
                try step(&done, total: total, host: host)
                try host.quarantine(key: GitTree.escaped(entry.pathBytes), error: "git: the path is not valid UTF-8, so it cannot be a key")
                continue
            }
            guard settings.filter.accepts(path) else {
                try step(&done, total: total, host: host)
                if dropUnaccepted { try host.delete(key: path) }
                continue
            }
            let read: BlobRead = (entry.size ?? 0) > settings.maxFileSize ? .head : host.hasBlob(entry.sha) ? .none : .whole
            work.append((entry, path, read))
        }
        reader.request(work.filter { $0.read != .none }.map(\.entry.sha))
        for item in work {
            try step(&done, total: total, host: host)
            try emitFile(item.entry, path: item.path, read: item.read, commit: commit, branch: branch, reader: reader, host: host)
        }

        try emitDigest(branch: branch, commit: commit, listing: listing, reader: reader, host: host)
        try host.setState("commit", commit)
        try host.setState("tree", tree)
        try host.setState("branch", branch)
        try host.setState("settings", settings.fingerprint)
        try host.checkpoint()
    }

    /// Counts one item, reports progress, polls for cancellation and checkpoints now and then.
    /// Checkpoints commit records only: the `commit` state moves at the end, so a sync cut short
    /// starts again from the same commit and re-emits what it did (unchanged for the sink).
    private func step(_ done: inout Int, total: Int, host: InletHost) throws {
        done += 1
        if done % 64 == 0, host.isCancelled { throw ConnectorError.retry("git: cancelled after \(done) of \(total) files") }
        if done % Self.checkpointEvery == 0 { try host.checkpoint() }
        host.progress(done: done, total: total)
    }

    /// How much of a blob a file needs.
    enum BlobRead: Equatable {
        /// Nothing: the sink has the blob; the record refers to it.
        case none
        /// The first 8 KB, for the binary test of a file over the size limit.
        case head
        /// All of it, for the body.
        case whole
    }

    /// Emits one file; its blob's answer (unless `read` is `.none`) is the next one pending.
    private func emitFile(
        _ entry: TreeEntry, path: String, read: BlobRead, commit: String, branch: String, reader: CatFileBatch, host: InletHost
    ) throws {
        let size = entry.size ?? 0
        var metadata: [String: JSONValue] = [
            "repo": .string(displayURL), "branch": .string(branch), "path": .string(path), "commit_sha": .string(commit),
            "blob_sha": .string(entry.sha), "size": .int(size), "mode": .string(entry.mode),
        ]
        func describe(_ classification: FileClassification, tooLarge: Bool) {
            metadata.merge(classification.metadata(tooLarge: tooLarge)) { _, new in new }
        }
        switch read {
        case .head:
            // One byte past the probe, so a character cut by it is not taken for invalid UTF-8.
            let (head, _) = try reader.answer(entry.sha, limit: FileClassifier.binaryProbeLength + 1)
            describe(FileClassifier.classify(path: path, content: head[...]), tooLarge: true)
            try host.emit(key: path, kind: "file", metadata: metadata)
        case .none:
            // The sink stores only text bodies (binaries are metadata-only), so a blob it has is text.
            describe(FileClassifier.classify(path: path, content: []), tooLarge: false)
            try host.emit(key: path, kind: "file", metadata: metadata, blobSHA: entry.sha)
        case .whole:
            let (content, _) = try reader.answer(entry.sha)
            let classification = FileClassifier.classify(path: path, content: content[...])
            describe(classification, tooLarge: false)
            if classification.isBinary {
                try host.emit(key: path, kind: "file", metadata: metadata)
            } else {
                try host.emit(key: path, kind: "file", metadata: metadata, content: content, blobSHA: entry.sha)
            }
        }
    }

    private func emitDigest(branch: String, commit: String?, listing: [TreeEntry], reader: CatFileBatch?, host: InletHost) throws {
        let files = listing.compactMap { entry -> RepositoryDigest.File? in
            guard entry.type == "blob", let path = entry.path, settings.filter.accepts(path) else { return nil }
            return RepositoryDigest.File(path: path, sha: entry.sha, size: entry.size ?? 0)
        }
        let digest = RepositoryDigest(repository: displayURL, branch: branch, commit: commit, files: files, maxFileSize: settings.maxFileSize)
        let (text, summary) = try digest.build { sha, limit in
            guard let reader else { return [] }
            return try reader.read(sha, limit: limit).bytes
        }
        let metadata: [String: JSONValue] = [
            "repo": .string(displayURL), "branch": .string(branch), "commit_sha": commit.map(JSONValue.string) ?? .null,
            "files": .int(summary.files), "size": .int(summary.bytes), "included_files": .int(summary.includedFiles),
            "estimated_tokens": .int(summary.estimatedTokens), "estimated_total_tokens": .int(summary.estimatedTotalTokens),
            "truncated": .bool(summary.truncated),
            "left_out_files": .int(summary.leftOutFiles), "left_out_bytes": .int(summary.leftOutBytes),
            "languages": .object(Dictionary(uniqueKeysWithValues: summary.languages.map { ($0.0, JSONValue.int($0.1)) })),
        ]
        try host.emit(key: Self.digestKey, kind: "digest", metadata: metadata, content: text)
    }

    /// An empty repository: no files, only the digest, and no commit to remember.
    private func finishEmpty(branch: String, host: InletHost) throws {
        if try host.stateString("commit") == nil, try host.stateString("empty") == "1" { return }
        try emitDigest(branch: branch, commit: nil, listing: [], reader: nil, host: host)
        try host.setState("empty", "1")
    }

    // MARK: - The mirror

    /// Clones the mirror on first use (into a temporary folder, renamed when complete), else
    /// fetches into it.
    private func updateMirror() throws {
        let fileManager = FileManager.default
        if !Self.isRemoteOrExisting(settings.url) {
            throw ConnectorError.failed("git: repository '\(settings.url)' does not exist")
        }
        if fileManager.fileExists(atPath: mirrorPath + "/HEAD") {
            let git = GitCommand(gitDirectory: mirrorPath)
            _ = try git.check(["remote", "set-url", "origin", settings.url])
            let output = try git.run(["fetch", "--prune", "--quiet", "--no-write-fetch-head", "origin"])
            guard output.status == 0 else { throw fetchError(output, verb: "fetch") }
            return
        }
        let staging = mirrorPath + ".tmp-\(getpid())"
        try? fileManager.removeItem(atPath: staging)
        let output = try GitCommand(gitDirectory: nil).run(["clone", "--mirror", "--quiet", "--no-hardlinks", settings.url, staging])
        guard output.status == 0 else {
            try? fileManager.removeItem(atPath: staging)
            throw fetchError(output, verb: "clone")
        }
        try? fileManager.removeItem(atPath: mirrorPath)
        do {
            try fileManager.moveItem(atPath: staging, toPath: mirrorPath)
        } catch {
            throw ConnectorError.retry("git: cannot move the new mirror into \(mirrorPath): \(error)")
        }
    }

    private func fetchError(_ output: GitCommand.Output, verb: String) -> ConnectorError {
        let text = output.stderr.replacingOccurrences(of: settings.url, with: displayURL)
        // A repository that is not there (or not a repository) will not appear by retrying soon.
        let permanent = ["does not appear to be a git repository", "not found", "Repository not found"].contains { text.contains($0) }
        return ConnectorError(permanent ? .failed : .retry, "git: \(verb) of \(displayURL) failed: \(text)")
    }

    static func isRemoteOrExisting(_ url: String) -> Bool {
        GitSettings.isRemote(url) || FileManager.default.fileExists(atPath: url)
    }

    /// The mirror's HEAD branch (the remote's default when the mirror was cloned); when HEAD is
    /// detached or names a branch that is not there: `main`, `master`, or the only branch.
    private func defaultBranch(_ git: GitCommand) throws -> String {
        let output = try git.run(["symbolic-ref", "-q", "HEAD"])
        let ref = output.stdoutText
        var headName: String?
        if output.status == 0, ref.hasPrefix("refs/heads/") {
            let name = String(ref.dropFirst("refs/heads/".count))
            if try resolve(git, "refs/heads/\(name)^{commit}") != nil { return name }
            headName = name
        }
        let branches = try listBranches(git)
        if branches.isEmpty { return headName ?? "main" }
        for candidate in ["main", "master"] where branches.contains(candidate) { return candidate }
        if branches.count == 1 { return branches[0] }
        throw ConnectorError.failed(
            "git: cannot tell the default branch of \(displayURL) (its HEAD is \(headName.map { "'\($0)', which does not exist" } ?? "detached")); "
                + "set `branch:` to one of: \(branches.prefix(20).joined(separator: ", "))")
    }

    private func resolve(_ git: GitCommand, _ revision: String) throws -> String? {
        let output = try git.run(["rev-parse", "--verify", "--quiet", "--end-of-options", revision])
        return output.status == 0 && !output.stdoutText.isEmpty ? output.stdoutText : nil
    }

    private func isAncestor(_ git: GitCommand, _ old: String, of new: String) throws -> Bool {
        guard try resolve(git, "\(old)^{commit}") != nil else { return false }
        let output = try git.run(["merge-base", "--is-ancestor", old, new])
        switch output.status {
        case 0: return true
        case 1: return false
        default: throw ConnectorError.retry("git merge-base failed (\(output.status)): \(output.stderr)")
        }
    }

    private func listBranches(_ git: GitCommand) throws -> [String] {
        let text = String(decoding: try git.check(["for-each-ref", "--format=%(refname:strip=2)", "refs/heads"]), as: UTF8.self)
        return text.split(separator: "\n").map(String.init)
    }

    /// The URL without a password or token (`https://user:token@host/x` → `https://host/x`).
    static func redacted(_ url: String) -> String {
        guard let scheme = url.range(of: "://") else { return url }
        let rest = url[scheme.upperBound...]
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return url }
        return String(url[..<scheme.upperBound]) + String(rest[rest.index(after: at)...])
    }
}

extension TreeChange {
    var path: String? { String(validating: pathBytes, as: UTF8.self) }
}

@_cdecl("inlet_connector_register")
public func inletConnectorRegister(_ hostABI: UInt32) -> UnsafeRawPointer? {
    ConnectorExport.register(GitConnector.self, hostABI: hostABI)
}
