import Foundation
import GRDB

/// Checkpoints of each source: (source, key) → bytes. Written only inside the transaction that
/// commits the records they describe.
package struct StateStore: Sendable {
    package let database: InletDatabase

    package init(database: InletDatabase) {
        self.database = database
    }

    /// The committed value of a key, or nil.
    package func value(source: String, key: String) throws -> [UInt8]? {
        try database.pool.read { db in
            try Data.fetchOne(db, sql: "SELECT value FROM state WHERE source = ? AND key = ?", arguments: [source, key])
        }.map { Array($0) }
    }

    /// All committed keys and values of a source.
    package func values(source: String) throws -> [String: [UInt8]] {
        try database.pool.read { db in
            var out: [String: [UInt8]] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT key, value FROM state WHERE source = ?", arguments: [source]) {
                out[row["key"]] = Array(row["value"] as Data)
            }
            return out
        }
    }

    /// Writes staged values inside the caller's transaction.
    package func apply(_ staged: [String: [UInt8]?], source: String, now: Date, in db: Database) throws {
        let timestamp = StorageClock.format(now)
        for (key, value) in staged {
            if let value {
                try db.cachedStatement(sql: """
                        INSERT INTO state (source, key, value, updated_at) VALUES (?, ?, ?, ?)
                        ON CONFLICT (source, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
                        """).execute(arguments: [source, key, Data(value), timestamp])
            } else {
                try db.cachedStatement(sql: "DELETE FROM state WHERE source = ? AND key = ?").execute(arguments: [source, key])
            }
        }
    }
}
