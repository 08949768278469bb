import Foundation
import GRDB

extension AuditLog {
    /// The newest audit row of each source's syncs (by `finished_at`), by source name: what
    /// `inlet status` shows as the last sync when the daemon has not written a `source_status` row.
    package func latestPerSource() throws -> [String: Entry] {
        try database.pool.read { db in
            // SQLite takes the bare columns of an aggregate query with max() from the row holding
            // the maximum. A scan of the audit rows (bounded by `queue.retention`): no index on
            // (source, finished_at), which every finished job would have to update, for one command.
            let rows = try Entry.fetchAll(db, sql: "SELECT *, max(finished_at) AS newest FROM audit WHERE kind = 'sync' GROUP BY source")
            return Dictionary(rows.map { ($0.source, $0) }, uniquingKeysWith: { first, _ in first })
        }
    }
}
