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

    /// The args of the job that hands stored delivery `id` to the connector; the event and the
    /// sender's id (GitHub's delivery GUID) are there for people matching a delivery to its job.
    package static func jobArgs(deliveryID id: Int64, event: String, guid: String) -> String {
        #"{"delivery":\#(id),"event":"\#(JSONText.escaped(event))","guid":"\#(JSONText.escaped(guid))"}"#
    }

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
    ///
    /// A delivery id stored before is a redelivery. Its job is left alone while it is queued,
    /// running or succeeded (`duplicate`). When that job will never run again (cancelled,
    /// quarantined, or gone), the redelivery queues it again: GitHub's "Redeliver" button is how
    /// an operator sends a dropped event once more, and answering "duplicate" would lose it.
    package static func store(
        source: String, deliveryID: String, event: String, headers: String, body: [UInt8], maxAttempts: Int,
        queue: JobQueue, now: Date, in db: Database
    ) throws -> StoreOutcome {
        if let existing = try Row.fetchOne(
            db.cachedStatement(sql: """
                SELECT d.id, d.job_id, j.state FROM webhook_deliveries d LEFT JOIN jobs j ON j.id = d.job_id
                WHERE d.source = ? AND d.delivery_id = ?
                """),
            arguments: [source, deliveryID])
        {
            return try redeliver(
                row: existing["id"], jobID: existing["job_id"], state: existing["state"], source: source, deliveryID: deliveryID, event: event,
                headers: headers, body: body, maxAttempts: maxAttempts, queue: queue, now: now, in: db)
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
        try db.cachedStatement(sql: "UPDATE jobs SET args = ? WHERE id = ?").execute(arguments: [jobArgs(deliveryID: id, event: event, guid: deliveryID), jobID])
        return .queued(deliveryID: id, jobID: jobID)
    }

    /// A delivery id stored before, as row `row` with job `jobID` in `state` (nil: no such job).
    private static func redeliver(
        row: Int64, jobID: Int64?, state: String?, source: String, deliveryID: String, event: String, headers: String,
        body: [UInt8], maxAttempts: Int, queue: JobQueue, now: Date, in db: Database
    ) throws -> StoreOutcome {
        switch state.flatMap(JobState.init(rawValue:)) {
        case .queued, .running, .succeeded:
            return .duplicate(jobID: jobID)
        case .quarantined:
            // The same job again, as `inlet jobs retry` would, its quarantine entries gone.
            guard let jobID, try queue.requeue(id: jobID, now: now, bounded: true, in: db) else { return .full }
            return .queued(deliveryID: row, jobID: jobID)
        case .cancelled, nil:
            // A new job for the stored row, which takes what this delivery says (a redelivery
            // carries the same payload; its headers name this attempt).
            let outcome = try queue.enqueue(
                JobRequest(source: source, kind: "webhook", args: jobArgs(deliveryID: row, event: event, guid: deliveryID), priority: JobPriority.webhook, maxAttempts: maxAttempts),
                now: now, in: db)
            guard case .enqueued(let newJob) = outcome else { return .full }
            try db.execute(
                sql: "UPDATE webhook_deliveries SET event = ?, headers = ?, body = ?, received_at = ?, job_id = ? WHERE id = ?",
                arguments: [event, headers, Data(body), now.timeIntervalSince1970, newJob, row])
            return .queued(deliveryID: row, jobID: newJob)
        }
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
