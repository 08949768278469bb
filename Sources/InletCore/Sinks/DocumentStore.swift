import Foundation
import GRDB

/// The embedded sink: documents (one row per source and key, versioned, tombstoned on delete)
/// and their bodies in `blobs`, content-addressed by git's blob id.
package struct DocumentStore: Sendable {
    package let database: InletDatabase

    package init(database: InletDatabase) {
        self.database = database
    }

    /// True when the blob with this id is stored.
    package func hasBlob(_ sha: String) -> Bool {
        (try? database.pool.read { db in
            try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM blobs WHERE sha = ?)", arguments: [sha])
        }) ?? false
    }

    /// Applies one source's staged operations inside the caller's transaction.
    /// - Returns: what happened to each key, in key order.
    /// - Throws: ``StorageError`` when a record refers to a blob that is not stored.
    package func apply(
        _ batch: StagedBatch, source: String, now: Date, in db: Database
    ) throws -> [(key: String, change: DocumentChange)] {
        let timestamp = StorageClock.format(now)
        let select = try db.cachedStatement(
            sql: "SELECT kind, metadata, blob_sha, deleted FROM documents WHERE source = ? AND key = ?")
        let insertBlob = try db.cachedStatement(
            sql: "INSERT INTO blobs (sha, size, content) VALUES (?, ?, ?) ON CONFLICT (sha) DO NOTHING")
        let blobExists = try db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM blobs WHERE sha = ?)")
        let insert = try db.cachedStatement(sql: """
            INSERT INTO documents (source, key, kind, metadata, blob_sha, version, deleted, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, 1, 0, ?, ?)
            """)
        let update = try db.cachedStatement(sql: """
            UPDATE documents SET kind = ?, metadata = ?, blob_sha = ?, deleted = 0, version = version + 1, updated_at = ?
            WHERE source = ? AND key = ?
            """)
        let tombstone = try db.cachedStatement(
            sql: "UPDATE documents SET deleted = 1, version = version + 1, updated_at = ? WHERE source = ? AND key = ?")

        var changes: [(key: String, change: DocumentChange)] = []
        changes.reserveCapacity(batch.operations.count)
        for key in batch.operations.keys.sorted() {
            let existing = try Row.fetchOne(select, arguments: [source, key])
            switch batch.operations[key]! {
            case .delete:
                if let existing, existing["deleted"] as Bool == false {
                    try tombstone.execute(arguments: [timestamp, source, key])
                    changes.append((key, .deleted))
                } else {
                    changes.append((key, .alreadyDeleted))
                }
            case .upsert(let record):
                if let sha = record.blobSHA {
                    if let content = record.content {
                        try insertBlob.execute(arguments: [sha, content.count, Data(content)])
                    } else if try Bool.fetchOne(blobExists, arguments: [sha]) != true {
                        throw StorageError(
                            .missingBlob,
                            "record '\(key)' of source '\(source)' refers to blob \(sha), which is not stored")
                    }
                }
                if let existing {
                    let same = existing["deleted"] as Bool == false
                        && existing["kind"] as String == record.kind
                        && existing["metadata"] as String == record.metadata
                        && existing["blob_sha"] as String? == record.blobSHA
                    if same {
                        changes.append((key, .unchanged))
                    } else {
                        try update.execute(arguments: [record.kind, record.metadata, record.blobSHA, timestamp, source, key])
                        changes.append((key, .updated))
                    }
                } else {
                    try insert.execute(arguments: [source, key, record.kind, record.metadata, record.blobSHA, timestamp, timestamp])
                    changes.append((key, .inserted))
                }
            }
        }
        return changes
    }
}

/// How timestamps are stored: UTC ISO 8601 with milliseconds, which sorts as text.
package enum StorageClock {
    package static func format(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: true).timeSeparator(.colon).timeZone(separator: .omitted))
    }
}
