import Foundation
import GRDB

/// Commits what a plugin call staged — records, tombstones, state, quarantined items — in ONE
/// transaction, so a checkpoint is never ahead of the records it describes.
package struct BatchCommitter: Sendable {
    package let database: InletDatabase
    package let documents: DocumentStore
    package let state: StateStore

    package init(database: InletDatabase) {
        self.database = database
        self.documents = DocumentStore(database: database)
        self.state = StateStore(database: database)
    }

    /// The outcome of one commit.
    package struct Report: Sendable {
        package var counts = CommitCounts()
        /// Per key, what changed (every key of the batch, in key order).
        package var changes: [(key: String, change: DocumentChange)] = []
        /// The follow-up jobs the batch carried, for whoever enqueues them after the commit.
        package var followUps: [StagedBatch.FollowUpJob] = []
    }

    /// Commits `batch` for `source`. With `dryRun`, computes the same report and rolls back.
    /// - Throws: ``StorageError`` (nothing of the batch is then visible).
    package func commit(_ batch: StagedBatch, source: String, dryRun: Bool = false, now: Date = Date()) throws(StorageError) -> Report {
        do {
            var report = Report()
            try database.pool.writeWithoutTransaction { db in
                try db.inTransaction(.immediate) {
                    report = try apply(batch, source: source, now: now, in: db)
                    return dryRun ? .rollback : .commit
                }
            }
            return report
        } catch let error as StorageError {
            throw error
        } catch {
            throw StorageError(.writeFailed, "cannot commit source '\(source)' to \(database.path): \(error)", cause: error)
        }
    }

    /// Applies `batch` inside the caller's transaction (which may also complete a job, so the
    /// records, their checkpoint and the job's state commit together).
    package func apply(_ batch: StagedBatch, source: String, now: Date, in db: Database) throws -> Report {
        var report = Report()
        // Most finished jobs staged nothing after their last checkpoint: no statement to prepare.
        guard !batch.isEmpty else { return report }
        report.changes = try documents.apply(batch, source: source, now: now, in: db)
        try state.apply(batch.state, source: source, now: now, in: db)
        // An item put aside again (every sync meets the same bad file) updates its one entry.
        for item in batch.quarantined {
            let bytes = item.bytes.map { Data($0) }
            let at = StorageClock.format(now)
            try db.execute(
                sql: """
                    UPDATE quarantine SET error = ?, bytes = ?, seen = seen + 1, last_seen_at = ?
                    WHERE kind = 'item' AND source = ? AND key = ?
                    """,
                arguments: [item.error, bytes, at, source, item.key])
            guard db.changesCount == 0 else { continue }
            try db.execute(
                sql: "INSERT INTO quarantine (source, kind, key, error, bytes, created_at) VALUES (?, 'item', ?, ?, ?, ?)",
                arguments: [source, item.key, item.error, bytes, at])
        }
        for entry in report.changes { report.counts.count(entry.change) }
        report.counts.quarantined = batch.quarantined.count
        report.counts.stateKeys = batch.state.count
        report.counts.followUps = batch.followUps.count
        report.followUps = batch.followUps
        return report
    }
}
