/// Finds the word a user probably meant ("sourcs" → "sources"), for "did you mean" hints on
/// config keys, schema properties and, later, connector names.
package enum SpellingSuggestion {
    /// The candidate closest to `word`, or nil when none is close enough to be a plausible typo.
    ///
    /// Closeness is the optimal-string-alignment distance, ignoring case, so a swapped pair of
    /// letters ("gti" → "git") costs one edit. The allowed distance grows with the word: one edit
    /// for up to three letters, two up to six, three beyond, which keeps short words from
    /// "matching" unrelated ones. Ties go to the earlier candidate.
    package static func closest(to word: String, in candidates: some Sequence<String>) -> String? {
        let lowered = word.lowercased()
        let allowed = lowered.count <= 3 ? 1 : (lowered.count <= 6 ? 2 : 3)
        var best: (candidate: String, distance: Int)?
        for candidate in candidates {
            let distance = self.distance(lowered, candidate.lowercased())
            if distance <= allowed, distance < (best?.distance ?? Int.max) {
                best = (candidate, distance)
            }
        }
        return best?.candidate
    }

    /// Edits (insertions, deletions, substitutions, adjacent transpositions) from `a` to `b`.
    package static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a.unicodeScalars)
        let b = Array(b.unicodeScalars)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        // Three rolling rows suffice: transposition looks two rows back.
        var previousPrevious = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                var value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    value = min(value, previousPrevious[j - 2] + 1)
                }
                current[j] = value
            }
            (previousPrevious, previous, current) = (previous, current, previousPrevious)
        }
        return previous[b.count]
    }
}
