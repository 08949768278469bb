/// What one plugin call staged since its last commit: records, tombstones, state, quarantined
/// items and follow-up jobs. Committed together in one transaction, or not at all.
package struct StagedBatch: Sendable {
    /// A record as the host copied it from the plugin.
    package struct Record: Sendable, Equatable {
        package var key: String
        package var kind: String
        /// A JSON object, as text.
        package var metadata: String
        /// Git blob id of the content, or of an existing blob the record refers to.
        package var blobSHA: String?
        /// The bytes, when the plugin sent them (nil for metadata-only or by-reference records).
        package var content: [UInt8]?
    }

    /// What happens to one key.
    package enum Operation: Sendable, Equatable {
        case upsert(Record)
        case delete
    }

    /// An item the plugin put aside.
    package struct QuarantinedItem: Sendable, Equatable {
        package var key: String
        package var error: String
        package var bytes: [UInt8]?
    }

    /// A follow-up job the plugin asked for.
    package struct FollowUpJob: Sendable, Equatable {
        package var kind: String
        package var args: String
        package var priority: Int
        package var uniqueKey: String?
    }

    /// Per key, the last operation staged (emitting a key again replaces the earlier emit).
    package private(set) var operations: [String: Operation] = [:]
    /// Per state key, the staged value (nil = remove).
    package private(set) var state: [String: [UInt8]?] = [:]
    package private(set) var quarantined: [QuarantinedItem] = []
    package private(set) var followUps: [FollowUpJob] = []
    /// Bytes of content held, to report memory use.
    package private(set) var contentBytes = 0
    /// Blob ids whose bytes this batch carries: a later record may refer to them by id alone.
    package private(set) var stagedBlobs: Set<String> = []

    package init() {}

    package var isEmpty: Bool { operations.isEmpty && state.isEmpty && quarantined.isEmpty && followUps.isEmpty }

    package mutating func upsert(_ record: Record) {
        if case .upsert(let old)? = operations[record.key] { contentBytes -= old.content?.count ?? 0 }
        contentBytes += record.content?.count ?? 0
        if record.content != nil, let sha = record.blobSHA { stagedBlobs.insert(sha) }
        operations[record.key] = .upsert(record)
    }

    package mutating func delete(key: String) {
        if case .upsert(let old)? = operations[key] { contentBytes -= old.content?.count ?? 0 }
        operations[key] = .delete
    }

    package mutating func setState(_ key: String, _ value: [UInt8]?) { state[key] = .some(value) }

    /// The staged value of a state key: `.some(nil)` when staged as removed, nil when not staged.
    package func stagedState(_ key: String) -> [UInt8]?? { state[key] }

    package mutating func quarantine(_ item: QuarantinedItem) { quarantined.append(item) }

    package mutating func enqueue(_ job: FollowUpJob) { followUps.append(job) }
}
