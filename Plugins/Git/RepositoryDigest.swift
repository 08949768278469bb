import Foundation
import InletPluginKit

/// One text an LLM can read for a whole repository, in the spirit of gitingest: a summary, the
/// directory tree, then the text files with headers, cut at ``limit`` with a notice.
struct RepositoryDigest {
    /// The digest's size bound (512 KB).
    static let limit = 512 * 1024
    /// Room kept for the summary and the truncation notice.
    static let reserve = 4 * 1024

    struct File {
        var path: String
        var sha: String
        var size: Int
    }

    var repository: String
    var branch: String
    var commit: String?
    var files: [File]
    var maxFileSize: Int

    /// What the digest says about itself, also the record's metadata.
    struct Summary {
        var files = 0
        var bytes = 0
        var languages: [(String, Int)] = []
        var includedFiles = 0
        var leftOutFiles = 0
        var leftOutBytes = 0
        var binaryFiles = 0
        var largeFiles = 0
        var treeTruncated = false
        var estimatedTokens = 0
        /// Characters / 4 over every text file under the size limit, digest or not.
        var estimatedTotalTokens = 0
        var truncated: Bool { leftOutFiles > 0 || treeTruncated }
    }

    /// Builds the digest, reading text files through `read(sha, limit)` until the budget is spent.
    func build(read: (String, Int) throws -> [UInt8]) throws -> (text: [UInt8], summary: Summary) {
        var summary = Summary()
        summary.files = files.count
        summary.bytes = files.reduce(0) { $0 + $1.size }
        var languageCounts: [String: Int] = [:]
        for file in files {
            if let language = FileClassifier.languageAndCategory(path: file.path).language { languageCounts[language, default: 0] += 1 }
        }
        summary.languages = languageCounts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }

        let budget = Self.limit - Self.reserve
        var body: [UInt8] = Array("Directory structure:\n".utf8)
        let tree = Self.tree(name: Self.repositoryName(repository), paths: files.map(\.path))
        if body.count + tree.utf8.count > budget {
            body += Self.cutAtLine(Array(tree.utf8), to: budget - body.count)
            body += Array("… (tree truncated)\n".utf8)
            summary.treeTruncated = true
        } else {
            body += Array(tree.utf8)
        }
        body += Array("\n".utf8)

        let separator = String(repeating: "=", count: 48)
        var budgetReached = false
        var textBytes = 0
        // The root README first, as gitingest does: the best opening for a reader.
        let ordered = files.filter { Self.isRootReadme($0.path) } + files.filter { !Self.isRootReadme($0.path) }
        for file in ordered {
            let binaryByName = FileClassifier.languageAndCategory(path: file.path).category == .binary
            if file.size <= maxFileSize, !binaryByName { textBytes += file.size }
            if budgetReached || body.count >= budget {
                summary.leftOutFiles += 1
                summary.leftOutBytes += file.size
                continue
            }
            if file.size > maxFileSize {
                summary.largeFiles += 1
                continue
            }
            if binaryByName {
                summary.binaryFiles += 1
                continue
            }
            let content = try read(file.sha, maxFileSize)
            if FileClassifier.isBinary(content[...]) {
                summary.binaryFiles += 1
                textBytes -= file.size
                continue
            }
            let header = Array("\(separator)\nFILE: \(file.path)\n\(separator)\n".utf8)
            let section = header + content + Array("\n\n".utf8)
            if body.count + section.count <= budget {
                body += section
                summary.includedFiles += 1
                continue
            }
            // The file that crosses the budget is cut at a line (left out whole when not even one
            // of its lines fits); every later file is left out.
            budgetReached = true
            summary.leftOutFiles += 1
            let kept = Self.cutAtLine(section, to: budget - body.count)
            if kept.count > header.count {
                body += kept + Array("\n".utf8)
                summary.leftOutBytes += section.count - kept.count
            } else {
                summary.leftOutBytes += file.size
            }
        }
        summary.estimatedTotalTokens = textBytes / 4

        var notice = ""
        if summary.truncated {
            notice = "\n[Digest truncated at \(Self.limit / 1024) KB: \(summary.leftOutFiles) file(s), "
                + "\(Self.formatBytes(summary.leftOutBytes)) left out"
                + (summary.treeTruncated ? "; the directory tree was cut too" : "") + ".]\n"
        }
        summary.estimatedTokens = (body.count + notice.utf8.count) / 4
        var header = "Repository: \(repository)\nBranch: \(branch)\n"
        header += "Commit: \(commit ?? "(none: the repository is empty)")\n"
        header += "Files analyzed: \(summary.files) (\(summary.includedFiles) with their content below"
        if summary.binaryFiles > 0 { header += ", \(summary.binaryFiles) binary" }
        if summary.largeFiles > 0 { header += ", \(summary.largeFiles) over \(Self.formatBytes(maxFileSize))" }
        header += ")\nTotal size: \(Self.formatBytes(summary.bytes))\n"
        if !summary.languages.isEmpty {
            header += "Languages: " + summary.languages.prefix(12).map { "\($0.0) (\($0.1))" }.joined(separator: ", ") + "\n"
        }
        header += "Estimated tokens: \(Self.formatTokens(summary.estimatedTokens))"
        if summary.truncated { header += " (about \(Self.formatTokens(summary.estimatedTotalTokens)) for every text file)" }
        header += "\n\n"
        return (Array(header.utf8) + body + Array(notice.utf8), summary)
    }

    static func isRootReadme(_ path: String) -> Bool {
        !path.contains("/") && path.lowercased().hasPrefix("readme")
    }

    /// The last path component of a URL or path, without `.git`.
    static func repositoryName(_ repository: String) -> String {
        var name = repository
        while name.hasSuffix("/") { name.removeLast() }
        if let slash = name.lastIndex(where: { $0 == "/" || $0 == ":" }) { name = String(name[name.index(after: slash)...]) }
        if name.hasSuffix(".git") { name.removeLast(4) }
        return name.isEmpty ? "repository" : name
    }

    /// The directory tree as gitingest draws it: folders first, then files, each by name.
    static func tree(name: String, paths: [String]) -> String {
        final class Node {
            var children: [String: Node] = [:]
            var isFile = false
        }
        let root = Node()
        for path in paths {
            var node = root
            for part in path.split(separator: "/") {
                let key = String(part)
                if let child = node.children[key] { node = child } else {
                    let child = Node()
                    node.children[key] = child
                    node = child
                }
            }
            node.isFile = true
        }
        var out = "└── \(name)/\n"
        func draw(_ node: Node, prefix: String) {
            let ordered = node.children.sorted { lhs, rhs in
                let lhsFolder = !lhs.value.children.isEmpty, rhsFolder = !rhs.value.children.isEmpty
                return lhsFolder != rhsFolder ? lhsFolder : lhs.key < rhs.key
            }
            for (index, (key, child)) in ordered.enumerated() {
                let last = index == ordered.count - 1
                let folder = !child.children.isEmpty
                out += prefix + (last ? "└── " : "├── ") + key + (folder ? "/" : "") + "\n"
                if folder { draw(child, prefix: prefix + (last ? "    " : "│   ")) }
            }
        }
        draw(root, prefix: "    ")
        return out
    }

    /// At most `count` bytes, cut after the last newline (or at a UTF-8 boundary without one).
    static func cutAtLine(_ bytes: [UInt8], to count: Int) -> [UInt8] {
        guard count > 0 else { return [] }
        guard bytes.count > count else { return bytes }
        var end = count
        if let newline = bytes[..<count].lastIndex(of: UInt8(ascii: "\n")), newline > 0 { return Array(bytes[...newline]) }
        while end > 0, bytes[end] & 0xC0 == 0x80 { end -= 1 }
        return Array(bytes[..<end])
    }

    static func formatBytes(_ bytes: Int) -> String {
        if bytes < 1024 { return "\(bytes) B" }
        if bytes < 1024 * 1024 { return String(format: "%.1f KB", Double(bytes) / 1024) }
        return String(format: "%.1f MB", Double(bytes) / (1024 * 1024))
    }

    static func formatTokens(_ tokens: Int) -> String {
        if tokens < 1000 { return "\(tokens)" }
        if tokens < 1_000_000 { return String(format: "%.1fk", Double(tokens) / 1000) }
        return String(format: "%.1fM", Double(tokens) / 1_000_000)
    }
}
