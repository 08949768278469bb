/// What committing one staged operation did (or, in a dry run, would do) to the documents table.
package enum DocumentChange: String, Sendable, Codable {
    case inserted, updated, unchanged, deleted
    /// A tombstone for a key that was absent or already deleted.
    case alreadyDeleted = "already_deleted"
}

/// Counts of one commit (or of a whole sync, summed).
package struct CommitCounts: Sendable, Equatable, Codable {
    package var inserted = 0
    package var updated = 0
    package var unchanged = 0
    package var deleted = 0
    package var quarantined = 0
    package var stateKeys = 0
    package var followUps = 0

    package init() {}

    /// Records whose stored document changed.
    package var written: Int { inserted + updated }

    package mutating func count(_ change: DocumentChange) {
        switch change {
        case .inserted: inserted += 1
        case .updated: updated += 1
        case .unchanged, .alreadyDeleted: unchanged += 1
        case .deleted: deleted += 1
        }
    }

    package static func + (lhs: CommitCounts, rhs: CommitCounts) -> CommitCounts {
        var sum = lhs
        sum.inserted += rhs.inserted
        sum.updated += rhs.updated
        sum.unchanged += rhs.unchanged
        sum.deleted += rhs.deleted
        sum.quarantined += rhs.quarantined
        sum.stateKeys += rhs.stateKeys
        sum.followUps += rhs.followUps
        return sum
    }
}
