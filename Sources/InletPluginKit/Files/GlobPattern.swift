/// A glob over relative `/`-separated paths, with the folder connector's semantics.
///
/// `**` as a whole segment is zero or more segments (`**/*.c` matches `a.c` and `x/y/a.c`);
/// `*` and `?` stay within one segment (and match dot files); `[abc]`, `[a-z]`, `[!x]` classes;
/// `\x` a literal `x`. A leading `/` or `./` is ignored; a trailing `/` means everything below
/// (`build/` = `build/**`).
public struct GlobPattern: Sendable, Hashable, CustomStringConvertible {
    /// The pattern as written.
    public let pattern: String
    private let segments: [Segment]

    private enum Segment: Sendable, Hashable {
        case anySegments
        case pattern([Unicode.Scalar])
    }

    /// Compiles a pattern.
    /// - Throws: ``ConnectorError`` (failed) for an empty pattern.
    public init(_ pattern: String) throws {
        self.pattern = pattern
        var text = Substring(pattern)
        while true {
            if text.hasPrefix("/") { text = text.dropFirst() } else if text.hasPrefix("./") { text = text.dropFirst(2) } else { break }
        }
        guard !text.isEmpty else { throw ConnectorError.failed("empty glob pattern '\(pattern)'") }
        var body = String(text)
        if body.hasSuffix("/") { body += "**" }
        var segments: [Segment] = []
        for part in Self.splitSegments(body) where !part.isEmpty {
            if part == ["*", "*"] {
                if segments.last != .anySegments { segments.append(.anySegments) }
            } else {
                segments.append(.pattern(part))
            }
        }
        guard !segments.isEmpty else { throw ConnectorError.failed("empty glob pattern '\(pattern)'") }
        self.segments = segments
    }

    public var description: String { pattern }

    /// True when the relative path matches the whole pattern.
    public func matches(_ path: String) -> Bool {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true).map { Array($0.unicodeScalars) }
        return Self.match(segments, parts)
    }

    /// Splits on `/`, keeping `\/` escapes inside a segment.
    private static func splitSegments(_ text: String) -> [[Unicode.Scalar]] {
        var out: [[Unicode.Scalar]] = [[]]
        var escaped = false
        for scalar in text.unicodeScalars {
            if escaped {
                out[out.count - 1].append(scalar)
                escaped = false
            } else if scalar == "\\" {
                out[out.count - 1].append(scalar)
                escaped = true
            } else if scalar == "/" {
                out.append([])
            } else {
                out[out.count - 1].append(scalar)
            }
        }
        return out
    }

    /// The classic wildcard algorithm lifted to segments: `**` is the star, every other segment
    /// pattern consumes exactly one path segment, so backtracking to the last `**` suffices.
    private static func match(_ pattern: [Segment], _ path: [[Unicode.Scalar]]) -> Bool {
        var gi = 0, pj = 0
        var starGi = -1, starPj = 0
        while pj < path.count {
            if gi < pattern.count {
                switch pattern[gi] {
                case .anySegments:
                    gi += 1
                    starGi = gi
                    starPj = pj
                    continue
                case .pattern(let segment):
                    if matchSegment(segment, path[pj]) {
                        gi += 1
                        pj += 1
                        continue
                    }
                }
            }
            if starGi < 0 { return false }
            gi = starGi
            starPj += 1
            pj = starPj
        }
        while gi < pattern.count, pattern[gi] == .anySegments { gi += 1 }
        return gi == pattern.count
    }

    /// Matches one segment pattern (`*`, `?`, classes, escapes) against one path segment.
    static func matchSegment(_ pattern: [Unicode.Scalar], _ string: [Unicode.Scalar]) -> Bool {
        var pi = 0, si = 0
        var starPi = -1, starSi = 0
        while si < string.count {
            if pi < pattern.count {
                let c = pattern[pi]
                if c == "*" {
                    while pi < pattern.count, pattern[pi] == "*" { pi += 1 }
                    starPi = pi
                    starSi = si
                    continue
                }
                if c == "?" {
                    pi += 1
                    si += 1
                    continue
                }
                if c == "[" {
                    var next = pi + 1
                    switch matchClass(pattern, &next, string[si]) {
                    case true?:
                        pi = next
                        si += 1
                        continue
                    case nil where string[si] == "[":
                        pi += 1
                        si += 1
                        continue
                    default: break
                    }
                } else {
                    var literal = c
                    var advance = 1
                    if c == "\\", pi + 1 < pattern.count {
                        literal = pattern[pi + 1]
                        advance = 2
                    }
                    if string[si] == literal {
                        pi += advance
                        si += 1
                        continue
                    }
                }
            }
            // Mismatch: let the last `*` swallow one more character, or fail.
            if starPi < 0 { return false }
            pi = starPi
            starSi += 1
            si = starSi
        }
        while pi < pattern.count, pattern[pi] == "*" { pi += 1 }
        return pi == pattern.count
    }

    /// A class starting after `[` at `pattern[index]`: true/false, or nil when unterminated (then
    /// `[` is literal). On a verdict, `index` moves past the closing `]`.
    private static func matchClass(_ pattern: [Unicode.Scalar], _ index: inout Int, _ scalar: Unicode.Scalar) -> Bool? {
        var i = index
        var negate = false, matched = false
        if i < pattern.count, pattern[i] == "!" || pattern[i] == "^" {
            negate = true
            i += 1
        }
        let first = i
        while true {
            if i >= pattern.count { return nil }
            if pattern[i] == "]", i > first { break }
            if pattern[i] == "\\", i + 1 < pattern.count { i += 1 }
            let low = pattern[i]
            var high = low
            i += 1
            if i + 1 < pattern.count, pattern[i] == "-", pattern[i + 1] != "]" {
                i += 1
                if pattern[i] == "\\", i + 1 < pattern.count { i += 1 }
                high = pattern[i]
                i += 1
            }
            if scalar.value >= low.value, scalar.value <= high.value { matched = true }
        }
        index = i + 1
        return matched != negate
    }
}

/// Which relative paths a connector takes: those matching an include and no exclude.
public struct PathFilter: Sendable, Hashable {
    public let include: [GlobPattern]
    public let exclude: [GlobPattern]

    /// - Parameters:
    ///   - include: globs to take; empty means everything (`**`).
    ///   - exclude: globs to leave out.
    /// - Throws: ``ConnectorError`` (failed) naming a bad pattern.
    public init(include: [String] = [], exclude: [String] = []) throws {
        self.include = try include.map(GlobPattern.init)
        self.exclude = try exclude.map(GlobPattern.init)
    }

    /// True when `path` matches an include (or there are none) and no exclude.
    public func accepts(_ path: String) -> Bool {
        if !include.isEmpty, !include.contains(where: { $0.matches(path) }) { return false }
        return !exclude.contains(where: { $0.matches(path) })
    }
}
