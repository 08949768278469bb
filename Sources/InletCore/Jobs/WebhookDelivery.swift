import Foundation
import GRDB

/// A verified webhook delivery as stored: what the connector's `webhook` entry receives.
package struct WebhookDelivery: Sendable, Equatable, FetchableRecord {
    package var id: Int64
    package var source: String
    /// The sender's delivery id (GitHub's `X-GitHub-Delivery`).
    package var deliveryID: String
    /// The event name (GitHub's `X-GitHub-Event`).
    package var event: String
    /// A JSON object of the headers that matter, lowercase names.
    package var headers: String
    package var body: [UInt8]
    package var jobID: Int64?
    package var receivedAt: Date

    package init(row: Row) {
        id = row["id"]
        source = row["source"]
        deliveryID = row["delivery_id"]
        event = row["event"]
        headers = row["headers"]
        body = Array(row["body"] as Data)
        jobID = row["job_id"]
        receivedAt = Date(timeIntervalSince1970: row["received_at"])
    }

    /// The args of the job that hands delivery `id` to the connector.
    package static func jobArgs(deliveryID id: Int64) -> String { #"{"delivery":\#(id)}"# }

    /// What storing a delivery did.
    package enum StoreOutcome: Sendable, Equatable {
        /// Stored, with the job that will hand it to the connector.
        case queued(deliveryID: Int64, jobID: Int64)
        /// The same delivery id was stored before: nothing new.
        case duplicate(jobID: Int64?)
        /// The queue is at `queue.max_size`: nothing stored.
        case full
    }

    /// Stores a delivery and enqueues its `webhook` job in the caller's transaction: when this
    /// commits, the delivery can no longer be lost.
    package static func store(
        source: String, deliveryID: String, event: String, headers: String, body: [UInt8], maxAttempts: Int,
        queue: JobQueue, now: Date, in db: Database
    ) throws -> StoreOutcome {
        if let existing = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT job_id FROM webhook_deliveries WHERE source = ? AND delivery_id = ?"),
            arguments: [source, deliveryID])
        {
            return .duplicate(jobID: existing["job_id"])
        }
        // The job first, then the delivery with its job id, then the job's args: updating the
        // delivery row instead would write its body (a few KB, overflow pages) a second time.
        let outcome = try queue.enqueue(
            JobRequest(source: source, kind: "webhook", args: "{}", priority: JobPriority.webhook, maxAttempts: maxAttempts),
            now: now, in: db)
        guard case .enqueued(let jobID) = outcome else { return .full }
        try db.cachedStatement(sql: """
            INSERT INTO webhook_deliveries (source, delivery_id, event, headers, body, received_at, job_id) VALUES (?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [source, deliveryID, event, headers, Data(body), now.timeIntervalSince1970, jobID])
        let id = db.lastInsertedRowID
        try db.cachedStatement(sql: "UPDATE jobs SET args = ? WHERE id = ?").execute(arguments: [jobArgs(deliveryID: id), jobID])
        return .queued(deliveryID: id, jobID: jobID)
    }

    /// The delivery a `webhook` job carries (its args name it).
    package static func forJob(args: String, in database: InletDatabase) throws -> WebhookDelivery? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(args.utf8)) as? [String: Any],
            let id = (object["delivery"] as? NSNumber)?.int64Value
        else { return nil }
        return try database.pool.read { db in
            try WebhookDelivery.fetchOne(db, sql: "SELECT * FROM webhook_deliveries WHERE id = ?", arguments: [id])
        }
    }
}
