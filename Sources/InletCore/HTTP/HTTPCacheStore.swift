import Foundation
import GRDB

/// The validators (ETag, Last-Modified) and the answer of cacheable GETs, per source and cache
/// key (URL + Accept), in the state database's `http_cache` table.
///
/// Written straight to the database when the answer arrives, not staged with the job: the
/// cached body is exactly what the plugin was handed, so a job that fails and runs again gets
/// that same body back on a 304 and decides from it, as the first attempt did; staging it would
/// throw the validators away with a failed attempt and spend the budget again on the retry.
/// Whether anything is new stays the plugin's call, made against its own committed checkpoint.
package struct HTTPCacheStore: Sendable {
    package let database: InletDatabase

    package init(database: InletDatabase) {
        self.database = database
    }

    /// A stored answer.
    package struct Entry: Sendable {
        package var etag: String?
        package var lastModified: String?
        package var status: Int
        package var headers: [(name: String, value: String)]
        package var body: [UInt8]
    }

    /// The cache key of a request: its URL and the Accept header it sent (the same URL can
    /// answer in several media types).
    package static func key(url: String, accept: String?) -> String {
        url + "\n" + (accept ?? "")
    }

    /// The stored answer, or nil.
    package func entry(source: String, key: String) throws -> Entry? {
        try database.pool.read { db in
            try Row.fetchOne(
                db, sql: "SELECT etag, last_modified, status, headers, body FROM http_cache WHERE source = ? AND cache_key = ?",
                arguments: [source, key]
            ).map { row in
                let headers = (try? HeaderText.parse(row["headers"] as String).get()) ?? []
                return Entry(
                    etag: row["etag"], lastModified: row["last_modified"], status: row["status"], headers: headers,
                    body: Array(row["body"] as Data))
            }
        }
    }

    /// Stores (or replaces) an answer.
    package func store(_ entry: Entry, source: String, key: String, url: String, now: Date) throws {
        try database.pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO http_cache (source, cache_key, url, etag, last_modified, status, headers, body, stored_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (source, cache_key) DO UPDATE SET
                        url = excluded.url, etag = excluded.etag, last_modified = excluded.last_modified,
                        status = excluded.status, headers = excluded.headers, body = excluded.body, stored_at = excluded.stored_at
                    """,
                arguments: [
                    source, key, url, entry.etag, entry.lastModified, entry.status, HeaderText.format(entry.headers),
                    Data(entry.body), now.timeIntervalSince1970,
                ])
        }
    }

    /// Forgets an answer (the server no longer sends validators for it).
    package func remove(source: String, key: String) throws {
        try database.pool.write { db in
            try db.execute(sql: "DELETE FROM http_cache WHERE source = ? AND cache_key = ?", arguments: [source, key])
        }
    }

    /// Forgets answers stored before `before`: URLs no longer asked for (a listing whose `since=`
    /// moved on, a removed source) would otherwise stay forever. An entry still in use is stored
    /// again by its next full answer; until then its URL costs one unconditional request.
    /// - Returns: how many answers were forgotten.
    @discardableResult
    package func evict(storedBefore before: Date) throws -> Int {
        try database.pool.write { db in
            try db.execute(sql: "DELETE FROM http_cache WHERE stored_at < ?", arguments: [before.timeIntervalSince1970])
            return db.changesCount
        }
    }
}
