import Foundation
import GRDB

/// Writes the stored documents as JSON Lines: one object per record, with its metadata, blob id
/// and content, so users and scripts see exactly what was ingested.
package struct JSONLinesExport: Sendable {
    package struct Options: Sendable {
        package var source: String?
        package var includeDeleted = false
        package var includeContent = true
        package init(source: String? = nil, includeDeleted: Bool = false, includeContent: Bool = true) {
            self.source = source
            self.includeDeleted = includeDeleted
            self.includeContent = includeContent
        }
    }

    package let database: InletDatabase

    package init(database: InletDatabase) {
        self.database = database
    }

    /// Streams every matching record to `write`, one line at a time (each line ends with `\n`).
    /// - Returns: the number of records written.
    @discardableResult
    package func run(_ options: Options, write: (Data) throws -> Void) throws -> Int {
        var conditions: [String] = []
        var arguments: StatementArguments = []
        if let source = options.source {
            conditions.append("d.source = ?")
            _ = arguments.append(contentsOf: [source])
        }
        if !options.includeDeleted { conditions.append("d.deleted = 0") }
        let content = options.includeContent ? "b.content" : "NULL"
        let sql = """
            SELECT d.source, d.key, d.kind, d.metadata, d.blob_sha, d.version, d.deleted, d.updated_at, \(content) AS content
            FROM documents d LEFT JOIN blobs b ON b.sha = d.blob_sha
            \(conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND "))
            ORDER BY d.source, d.key
            """
        return try database.pool.read { db in
            var count = 0
            let rows = try Row.fetchCursor(db, sql: sql, arguments: arguments)
            while let row = try rows.next() {
                try write(Self.line(row, includeContent: options.includeContent))
                count += 1
            }
            return count
        }
    }

    static func line(_ row: Row, includeContent: Bool) throws -> Data {
        var object: [String: Any] = [
            "source": row["source"] as String,
            "key": row["key"] as String,
            "kind": row["kind"] as String,
            "version": row["version"] as Int,
            "deleted": row["deleted"] as Bool,
            "updated_at": row["updated_at"] as String,
            "blob_sha": (row["blob_sha"] as String?) ?? NSNull(),
            "metadata": (try? JSONSerialization.jsonObject(with: Data((row["metadata"] as String).utf8))) ?? [:],
        ]
        if includeContent {
            if let bytes = row["content"] as Data? {
                if let text = String(validating: bytes, as: UTF8.self) {
                    object["content"] = text
                } else {
                    object["content"] = bytes.base64EncodedString()
                    object["content_encoding"] = "base64"
                }
            } else {
                object["content"] = NSNull()
            }
        }
        var data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        data.append(0x0A)
        return data
    }
}
