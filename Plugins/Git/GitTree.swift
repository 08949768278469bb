import Foundation

/// One file of a tree, as `git ls-tree -r -z --long` lists it.
struct TreeEntry: Equatable {
    var mode: String
    var type: String
    var sha: String
    /// nil for submodules (`-`).
    var size: Int?
    /// The path's raw bytes (git paths need not be UTF-8).
    var pathBytes: [UInt8]
    var path: String? { String(validating: pathBytes, as: UTF8.self) }
}

/// One change of `git diff --name-status -z`.
struct TreeChange: Equatable {
    enum Status: Equatable { case added, modified, deleted }
    var status: Status
    var pathBytes: [UInt8]
}

enum GitTree {
    /// Parses `git ls-tree -r -z --long` output: `<mode> SP <type> SP <sha> SP+ <size> TAB <path> NUL`.
    static func parseListing(_ bytes: [UInt8]) -> [TreeEntry] {
        var entries: [TreeEntry] = []
        for record in bytes.split(separator: 0, omittingEmptySubsequences: true) {
            guard let tab = record.firstIndex(of: UInt8(ascii: "\t")) else { continue }
            let fields = record[record.startIndex..<tab].split(separator: UInt8(ascii: " "), omittingEmptySubsequences: true)
            guard fields.count == 4 else { continue }
            let text = { (slice: ArraySlice<UInt8>) in String(decoding: slice, as: UTF8.self) }
            entries.append(TreeEntry(
                mode: text(fields[0]), type: text(fields[1]), sha: text(fields[2]), size: Int(text(fields[3])),
                pathBytes: Array(record[(tab + 1)...])))
        }
        return entries
    }

    /// Parses `git diff --name-status -z [-M]` output. A rename or copy is a delete of the old
    /// path (renames only) plus an add of the new one; a type change is a modification.
    static func parseChanges(_ bytes: [UInt8]) -> [TreeChange] {
        let fields = bytes.split(separator: 0, omittingEmptySubsequences: false).map(Array.init)
        var changes: [TreeChange] = []
        var i = 0
        while i < fields.count {
            let status = fields[i]
            guard let letter = status.first else { i += 1; continue }
            switch letter {
            case UInt8(ascii: "R"), UInt8(ascii: "C"):
                guard i + 2 < fields.count else { return changes }
                if letter == UInt8(ascii: "R") { changes.append(TreeChange(status: .deleted, pathBytes: fields[i + 1])) }
                changes.append(TreeChange(status: .added, pathBytes: fields[i + 2]))
                i += 3
            default:
                guard i + 1 < fields.count else { return changes }
                let kind: TreeChange.Status
                switch letter {
                case UInt8(ascii: "A"): kind = .added
                case UInt8(ascii: "D"): kind = .deleted
                default: kind = .modified  // M, T, U, X
                }
                changes.append(TreeChange(status: kind, pathBytes: fields[i + 1]))
                i += 2
            }
        }
        return changes
    }

    /// The changes between two listings, by path and (blob id, mode): the fallback when the old
    /// commit is no longer an ancestor of the new one.
    static func compare(old: [TreeEntry], new: [TreeEntry]) -> [TreeChange] {
        var before: [[UInt8]: TreeEntry] = [:]
        for entry in old { before[entry.pathBytes] = entry }
        var changes: [TreeChange] = []
        for entry in new {
            if let previous = before.removeValue(forKey: entry.pathBytes) {
                if previous.sha != entry.sha || previous.mode != entry.mode {
                    changes.append(TreeChange(status: .modified, pathBytes: entry.pathBytes))
                }
            } else {
                changes.append(TreeChange(status: .added, pathBytes: entry.pathBytes))
            }
        }
        for path in before.keys.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            changes.append(TreeChange(status: .deleted, pathBytes: path))
        }
        return changes
    }

    /// A path for messages and quarantine keys: invalid UTF-8 bytes as `\xNN`.
    static func escaped(_ bytes: [UInt8]) -> String {
        if let text = String(validating: bytes, as: UTF8.self) { return text }
        var out = ""
        var index = 0
        while index < bytes.count {
            // Decode the longest valid prefix scalar by scalar; escape what does not decode.
            var decoded = false
            for length in (1...4).reversed() where index + length <= bytes.count {
                if let piece = String(validating: bytes[index..<(index + length)], as: UTF8.self), piece.unicodeScalars.count == 1 {
                    out += piece
                    index += length
                    decoded = true
                    break
                }
            }
            if !decoded {
                out += String(format: "\\x%02X", bytes[index])
                index += 1
            }
        }
        return out
    }
}
