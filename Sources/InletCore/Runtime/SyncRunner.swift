import Foundation
import Logging

/// Runs one job of a source in the foreground: calls the plugin on its own thread, then commits
/// what it staged together with its state in one transaction when it returns OK, or discards it.
/// Used by `inlet sync`; the daemon's workers use the same commit rule.
package struct SyncRunner: Sendable {
    package let database: InletDatabase
    package let logger: Logger

    package init(database: InletDatabase, logger: Logger) {
        self.database = database
        self.logger = logger
    }

    /// What one sync did (or, dry, would do).
    package struct Result: Sendable {
        package var source: String
        package var status: PluginStatus
        package var message: String?
        package var retryAfter: Duration?
        /// Committed changes (checkpoints included); in a dry run, the changes it would make.
        package var counts = CommitCounts()
        /// Items the plugin reported processing, of how many.
        package var processed: UInt64 = 0
        package var total: UInt64 = 0
        /// Emits the host refused (bad key, bad metadata, …).
        package var rejected = 0
        package var duration: Duration = .zero
        package var dryRun = false
        /// Per key, the planned change, for a dry run (changed keys only).
        package var plannedChanges: [(key: String, change: DocumentChange)] = []
        /// Follow-up jobs that ran after the sync.
        package var followUpsRun = 0
        /// Follow-up jobs committed by this call, not yet run.
        package var followUps: [StagedBatch.FollowUpJob] = []
        /// The user cut the run short (Ctrl-C) before the plugin finished.
        package var interrupted = false

        package init(source: String, status: PluginStatus, message: String? = nil, retryAfter: Duration? = nil) {
            self.source = source
            self.status = status
            self.message = message
            self.retryAfter = retryAfter
        }

        /// Items that failed: quarantined by the plugin or refused by the host.
        package var failed: Int { counts.quarantined + rejected }
        /// Items processed that wrote nothing. A run that did not finish counts only the items
        /// it processed, not the rest of the total the plugin announced.
        package var unchanged: Int {
            let reached = status == .ok && total > 0 ? total : processed
            let seen = max(Int(reached), counts.written + counts.unchanged + failed)
            return max(0, seen - counts.written - failed)
        }
    }

    /// Runs `kind` with `args` on `instance`, then every follow-up job it enqueued (coalesced by
    /// unique key), each committed on its own.
    /// - Parameters:
    ///   - observe: receives the live call, so a caller can show progress or cancel it.
    package func run(
        instance: ConnectorInstance, kind: String = "sync", args: String = "{}", dryRun: Bool = false,
        observe: @Sendable (PluginCall) -> Void = { _ in }
    ) async -> Result {
        var result = await runOne(instance: instance, kind: kind, args: args, dryRun: dryRun, observe: observe)
        guard result.status == .ok, !dryRun else { return result }
        var queue = result.followUps
        var seenKeys = Set<String>()
        var ran = 0
        while !queue.isEmpty, result.status == .ok {
            let job = queue.removeFirst()
            if let key = job.uniqueKey, !seenKeys.insert(key).inserted { continue }
            if ran >= Self.followUpLimit {
                logger.warning("stopping after \(Self.followUpLimit) follow-up jobs of \(instance.source)")
                break
            }
            ran += 1
            let next = await runOne(instance: instance, kind: job.kind, args: job.args, dryRun: false, observe: observe)
            result.counts = result.counts + next.counts
            result.rejected += next.rejected
            result.duration += next.duration
            queue.append(contentsOf: next.followUps)
            if next.status != .ok {
                result.status = next.status
                result.message = "follow-up \(job.kind): \(next.message ?? "")"
            }
        }
        result.followUpsRun = ran
        return result
    }

    /// A bound on follow-ups in the foreground, so a connector that enqueues itself ends.
    static let followUpLimit = 100_000

    private func runOne(
        instance: ConnectorInstance, kind: String, args: String, dryRun: Bool, observe: @Sendable (PluginCall) -> Void
    ) async -> Result {
        let started = ContinuousClock.now
        let committer = BatchCommitter(database: database)
        let source = instance.source
        let commit: (@Sendable (StagedBatch) throws -> BatchCommitter.Report)? =
            dryRun ? nil : { @Sendable (batch: StagedBatch) throws -> BatchCommitter.Report in try committer.commit(batch, source: source) }
        var callLogger = logger
        callLogger[metadataKey: "source"] = "\(source)"
        let call = PluginCall(
            source: source, mode: .job(commit: commit), logger: callLogger,
            documents: committer.documents, state: committer.state, http: instance.http)
        observe(call)
        let outcome = await instance.sync(kind: kind, args: args, call: call)

        var result = Result(source: source, status: outcome.status, message: outcome.message, retryAfter: outcome.retryAfter)
        result.dryRun = dryRun
        for report in call.checkpoints {
            result.counts = result.counts + report.counts
            result.followUps += report.followUps
        }
        if outcome.status == .ok {
            let batch = call.takeStaged()
            do {
                let report = try committer.commit(batch, source: source, dryRun: dryRun)
                result.counts = result.counts + report.counts
                result.followUps += report.followUps
                if dryRun { result.plannedChanges = report.changes.filter { $0.change != .unchanged && $0.change != .alreadyDeleted } }
            } catch {
                result.status = .retry
                result.message = error.description
            }
        }
        let progress = call.progress
        result.processed = progress.done
        result.total = progress.total
        result.rejected = progress.rejected
        result.duration = ContinuousClock.now - started
        return result
    }
}
