import Foundation
import GRDB

/// A job row: one unit of work for one source (`sync`, `webhook`, or a connector-defined kind).
package struct Job: Sendable, Equatable, FetchableRecord {
    package var id: Int64
    package var source: String
    package var kind: String
    /// A JSON object.
    package var args: String
    /// 1 (highest) … 10.
    package var priority: Int
    package var runAt: Date
    package var state: JobState
    /// Attempts started (a lease counts one, so an attempt cut short by a crash is counted).
    package var attempts: Int
    package var maxAttempts: Int
    package var leaseID: Int64?
    package var leaseOwner: String?
    package var leaseExpiresAt: Date?
    package var uniqueKey: String?
    /// How many later requests this job absorbed.
    package var coalesced: Int
    package var lastError: String?
    package var createdAt: Date
    package var updatedAt: Date
    package var startedAt: Date?
    package var finishedAt: Date?

    package init(row: Row) throws {
        id = row["id"]
        source = row["source"]
        kind = row["kind"]
        args = row["args"]
        priority = row["priority"]
        runAt = Date(timeIntervalSince1970: row["run_at"])
        let stateName: String = row["state"]
        state = JobState(rawValue: stateName) ?? .queued
        attempts = row["attempts"]
        maxAttempts = row["max_attempts"]
        leaseID = row["lease_id"]
        leaseOwner = row["lease_owner"]
        leaseExpiresAt = (row["lease_expires_at"] as Double?).map(Date.init(timeIntervalSince1970:))
        uniqueKey = row["unique_key"]
        coalesced = row["coalesced"]
        lastError = row["last_error"]
        createdAt = Date(timeIntervalSince1970: row["created_at"])
        updatedAt = Date(timeIntervalSince1970: row["updated_at"])
        startedAt = (row["started_at"] as Double?).map(Date.init(timeIntervalSince1970:))
        finishedAt = (row["finished_at"] as Double?).map(Date.init(timeIntervalSince1970:))
    }

    /// The columns ``init(selected:)`` reads, in its order (a lease returns them for every job
    /// it claims: by position, without looking each column up by name).
    static let selection = """
        id, source, kind, args, priority, run_at, state, attempts, max_attempts, lease_id, lease_owner,
        lease_expires_at, unique_key, coalesced, last_error, created_at, updated_at, started_at, finished_at
        """

    /// A job from a row of exactly ``selection``.
    init(selected row: Row) {
        id = row[0]
        source = row[1]
        kind = row[2]
        args = row[3]
        priority = row[4]
        runAt = Date(timeIntervalSince1970: row[5])
        let stateName: String = row[6]
        state = JobState(rawValue: stateName) ?? .queued
        attempts = row[7]
        maxAttempts = row[8]
        leaseID = row[9]
        leaseOwner = row[10]
        leaseExpiresAt = (row[11] as Double?).map(Date.init(timeIntervalSince1970:))
        uniqueKey = row[12]
        coalesced = row[13]
        lastError = row[14]
        createdAt = Date(timeIntervalSince1970: row[15])
        updatedAt = Date(timeIntervalSince1970: row[16])
        startedAt = (row[17] as Double?).map(Date.init(timeIntervalSince1970:))
        finishedAt = (row[18] as Double?).map(Date.init(timeIntervalSince1970:))
    }

    /// The fencing token of the current lease (nil unless running).
    package var lease: Lease? {
        guard state == .running, let leaseID else { return nil }
        return Lease(jobID: id, leaseID: leaseID, attempt: attempts)
    }
}

/// Where a job is in its life cycle.
package enum JobState: String, Sendable, CaseIterable, Codable {
    case queued, running, succeeded, quarantined, cancelled
}

/// A fencing token: a completion or heartbeat carrying it is refused once the lease moved on
/// (rescued after expiry, cancelled, or leased again), so a job never completes twice.
package struct Lease: Sendable, Hashable, CustomStringConvertible {
    package var jobID: Int64
    package var leaseID: Int64
    package var attempt: Int

    package init(jobID: Int64, leaseID: Int64, attempt: Int) {
        self.jobID = jobID
        self.leaseID = leaseID
        self.attempt = attempt
    }

    package var description: String { "job \(jobID) lease \(leaseID) attempt \(attempt)" }
}

/// A request to add a job.
package struct JobRequest: Sendable, Equatable {
    package var source: String
    package var kind: String
    package var args: String
    package var priority: Int
    package var runAt: Date?
    package var uniqueKey: String?
    package var maxAttempts: Int

    package init(
        source: String, kind: String = "sync", args: String = "{}", priority: Int = JobPriority.scheduled,
        runAt: Date? = nil, uniqueKey: String? = nil, maxAttempts: Int = 5
    ) {
        self.source = source
        self.kind = kind
        self.args = args
        self.priority = priority
        self.runAt = runAt
        self.uniqueKey = uniqueKey
        self.maxAttempts = maxAttempts
    }

    /// The unique key of a source's scheduled (or requested) sync: all such requests coalesce.
    package static func syncKey(source: String) -> String { "sync:\(source)" }
}

/// Priorities by origin: webhooks outrank requests from people, which outrank schedules.
package enum JobPriority {
    package static let webhook = 2
    package static let manual = 3
    package static let scheduled = 5
    /// A follow-up job a connector enqueues with priority 0 (the ABI header's default).
    package static let followUp = scheduled
}

/// What an enqueue did.
package enum EnqueueOutcome: Sendable, Equatable {
    case enqueued(Int64)
    /// A queued job with the same unique key absorbed the request.
    case coalesced(Int64)
    /// The queue holds `queue.max_size` jobs already.
    case full

    package var jobID: Int64? {
        switch self {
        case .enqueued(let id), .coalesced(let id): id
        case .full: nil
        }
    }
}

/// An error of the queue.
package struct JobQueueError: Error, CustomStringConvertible, Sendable {
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String { case leaseLost, notFound, invalidState, full, sourceUnavailable }
        private let base: Base
        private init(_ base: Base) { self.base = base }
        package static let leaseLost = Code(.leaseLost)
        package static let notFound = Code(.notFound)
        package static let invalidState = Code(.invalidState)
        package static let full = Code(.full)
        /// The job's source is gone from the config, or disabled: no worker would lease it.
        package static let sourceUnavailable = Code(.sourceUnavailable)
        package var description: String { base.rawValue }
    }

    package var code: Code
    package var message: String

    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    package var description: String { message }
}
