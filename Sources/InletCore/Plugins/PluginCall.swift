import Foundation
import Logging
import Synchronization

/// The host's side of one call of a plugin entry point (`inlet_call *` in C): what the call
/// staged, its progress, its error, its cancellation flag. Every host service resolves its call
/// handle to one of these.
package final class PluginCall: Sendable {
    /// What a call may do besides logging.
    package enum Mode: Sendable {
        /// `create`: log and set_error only.
        case setup
        /// A job: stage records and state; `checkpoint` commits through `commit` (nil in a dry run,
        /// where nothing is written and staging simply continues).
        case job(commit: (@Sendable (StagedBatch) throws -> BatchCommitter.Report)?)
    }

    /// Live counters of a call, for progress lines and the summary.
    package struct Progress: Sendable, Equatable {
        package var done: UInt64 = 0
        package var total: UInt64 = 0
        /// Records emitted (staged upserts), tombstones, items quarantined, emits refused.
        package var emitted = 0
        package var deleted = 0
        package var quarantined = 0
        package var rejected = 0
    }

    package let source: String
    package let mode: Mode
    package let logger: Logger
    let documents: DocumentStore?
    let state: StateStore?
    /// The host's HTTP service for `host->http`; nil where the host offers none (the plugin then
    /// gets FAILED with a message).
    package let http: HTTPService?

    private let staged = Mutex(StagedBatch())
    private let error = Mutex<(message: String, retryAfterMilliseconds: UInt64)?>(nil)
    private let progressState = Mutex(Progress())
    private let checkpointReports = Mutex<[BatchCommitter.Report]>([])
    private let cancelled = Atomic<Bool>(false)
    /// Buffers handed out by state_get and not yet freed, freed when the call ends at the latest.
    private let buffers = Mutex<Set<UInt>>([])

    /// The queued job this call runs, if any: a crash on its thread is charged to it.
    package let jobID: Int64?

    package init(
        source: String, mode: Mode, logger: Logger, documents: DocumentStore? = nil, state: StateStore? = nil,
        http: HTTPService? = nil, jobID: Int64? = nil
    ) {
        self.jobID = jobID
        self.source = source
        self.mode = mode
        self.logger = logger
        self.documents = documents
        self.state = state
        self.http = http
    }

    deinit {
        for address in buffers.withLock({ $0 }) { free(UnsafeMutableRawPointer(bitPattern: address)) }
    }

    // MARK: - What the owner reads

    /// Asks the plugin to stop (it sees `is_cancelled` turn true). Release and acquire: what the
    /// canceller wrote before (Ctrl-C's count) is seen by whoever sees the call cancelled.
    package func cancel() { cancelled.store(true, ordering: .releasing) }
    package var isCancelled: Bool { cancelled.load(ordering: .acquiring) }
    package var progress: Progress { progressState.withLock { $0 } }
    /// The message and retry-after the plugin gave with its status.
    package var reportedError: (message: String, retryAfterMilliseconds: UInt64)? { error.withLock { $0 } }
    /// Commits made by `checkpoint` during the call.
    package var checkpoints: [BatchCommitter.Report] { checkpointReports.withLock { $0 } }

    /// Takes what is staged and not yet committed, leaving the call's staging empty.
    package func takeStaged() -> StagedBatch {
        staged.withLock { batch in
            let taken = batch
            batch = StagedBatch()
            return taken
        }
    }

    // MARK: - Services (called by the C bridge, on plugin threads)

    func setError(_ message: String, retryAfterMilliseconds: UInt64) {
        error.withLock { $0 = (message, retryAfterMilliseconds) }
    }

    func log(_ level: Logger.Level, _ message: String) {
        logger.log(level: level, "\(message)")
    }

    func reportProgress(done: UInt64, total: UInt64) {
        progressState.withLock {
            $0.done = done
            $0.total = total
        }
    }

    /// Refuses a service that needs a job, during `create`.
    /// Whether `service` may be used now: only during a job, not in `create` (logged).
    func requireJob(_ service: String) -> Bool {
        if case .job = mode { return true }
        logger.error("\(service) is not available during create")
        return false
    }

    func emit(_ record: StagedBatch.Record) -> PluginStatus {
        guard requireJob("emit") else { return .failed }
        staged.withLock { $0.upsert(record) }
        progressState.withLock { $0.emitted += 1 }
        return .ok
    }

    /// Refuses what the plugin passed (logged, FAILED). An item refused (an emit, a tombstone,
    /// a quarantine) counts as failed in the summary, once even when the plugin then quarantines
    /// its `key`, as the header suggests; a refused enqueue is not an item.
    func refuse(_ reason: String, key: String? = nil, countsAsItem: Bool = true) -> PluginStatus {
        logger.error("refused: \(reason)")
        guard countsAsItem else { return .failed }
        progressState.withLock { $0.rejected += 1 }
        if let key { _ = refusedKeys.withLock { $0.insert(key) } }
        return .failed
    }

    /// Keys of emits refused in this call, not yet quarantined.
    private let refusedKeys = Mutex<Set<String>>([])

    func delete(key: String) -> PluginStatus {
        guard requireJob("delete_record") else { return .failed }
        staged.withLock { $0.delete(key: key) }
        progressState.withLock { $0.deleted += 1 }
        return .ok
    }

    func stateValue(_ key: String) throws -> [UInt8]? {
        if let value = staged.withLock({ $0.stagedState(key) }) { return value }
        return try state?.value(source: source, key: key)
    }

    func setState(_ key: String, _ value: [UInt8]?) -> PluginStatus {
        guard requireJob("state_set") else { return .failed }
        staged.withLock { $0.setState(key, value) }
        return .ok
    }

    func quarantine(_ item: StagedBatch.QuarantinedItem) -> PluginStatus {
        guard requireJob("quarantine_item") else { return .failed }
        logger.warning("item quarantined: \(item.key): \(item.error)")
        staged.withLock { $0.quarantine(item) }
        // An emit of this key refused earlier is the same failed item: counted once, as quarantined.
        let refusedBefore = refusedKeys.withLock { $0.remove(item.key) != nil }
        progressState.withLock {
            $0.quarantined += 1
            if refusedBefore { $0.rejected -= 1 }
        }
        return .ok
    }

    func enqueue(_ job: StagedBatch.FollowUpJob) -> PluginStatus {
        guard requireJob("enqueue") else { return .failed }
        staged.withLock { $0.enqueue(job) }
        return .ok
    }

    /// True when the blob is stored, or staged with its bytes in this call (committed together).
    func hasBlob(_ sha: String) -> Bool {
        if staged.withLock({ $0.stagedBlobs.contains(sha) }) { return true }
        return documents?.hasBlob(sha) ?? false
    }

    /// Commits what is staged now. In a dry run, keeps staging (nothing is ever written).
    func checkpoint() -> PluginStatus {
        guard requireJob("checkpoint"), case .job(let commit) = mode else { return .failed }
        guard let commit else { return .ok }
        let batch = takeStaged()
        do {
            let report = try commit(batch)
            checkpointReports.withLock { $0.append(report) }
            return .ok
        } catch {
            // Keep the batch for the next attempt to commit (the call's end, or the next checkpoint).
            staged.withLock { current in
                var merged = batch
                for (key, operation) in current.operations {
                    switch operation {
                    case .upsert(let record): merged.upsert(record)
                    case .delete: merged.delete(key: key)
                    }
                }
                for (key, value) in current.state { merged.setState(key, value) }
                for item in current.quarantined { merged.quarantine(item) }
                for job in current.followUps { merged.enqueue(job) }
                current = merged
            }
            if let lost = error as? JobQueueError, lost.code == .leaseLost {
                // The operator cancelled the job (or it was rescued elsewhere): expected, not a fault.
                logger.notice("checkpoint refused: \(lost)")
            } else {
                logger.error("checkpoint failed: \(error)")
            }
            return .retry
        }
    }

    /// One request through the host's HTTP service, on the calling (plugin) thread; it stops
    /// early when this call is cancelled.
    func performHTTP(_ request: UpstreamRequest) throws(HTTPServiceError) -> UpstreamResponse {
        guard let http else {
            throw HTTPServiceError(.unavailable, "source '\(source)': http: this host context offers no HTTP service")
        }
        return try http.perform(request, source: source, logger: logger, isCancelled: { [self] in isCancelled })
    }

    func rememberBuffer(_ pointer: UnsafeMutableRawPointer) {
        _ = buffers.withLock { $0.insert(UInt(bitPattern: pointer)) }
    }

    /// Frees a buffer this call handed out; false when it was not one of ours (or freed already).
    func forgetBuffer(_ pointer: UnsafeMutableRawPointer) -> Bool {
        buffers.withLock { $0.remove(UInt(bitPattern: pointer)) != nil }
    }
}
