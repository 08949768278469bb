import Foundation
import GRDB
import Logging
import ServiceLifecycle

/// Periodic upkeep of the queue: expired leases back to the queue (or quarantine), finished jobs
/// pruned after `queue.retention`, the WAL truncated so it cannot grow without bound, gauges.
package struct QueueMaintenance: Service {
    package let queue: JobQueue
    package let retention: Duration
    package let clock: any ScheduleClock
    package let logger: Logger
    /// How long the HTTP service keeps a cached answer (ETag) before forgetting it.
    static let httpCacheLifetime: Duration = .seconds(30 * 24 * 3600)
    /// How often expired leases are looked for.
    package var rescueEvery: Duration = .seconds(10)

    package init(queue: JobQueue, retention: Duration, clock: any ScheduleClock, logger: Logger) {
        self.queue = queue
        self.retention = retention
        self.clock = clock
        self.logger = logger
    }

    package func run() async throws {
        var ticks = 0
        let quarantineGauge = QuarantineGauge()
        let quarantine = QuarantineStore(database: queue.database, queue: queue)
        while !(Task.isCancelled || Task.isShuttingDownGracefully) {
            let period = rescueEvery
            _ = try? await cancelWhenGracefulShutdown { try await Task.sleep(for: period) }
            guard !(Task.isCancelled || Task.isShuttingDownGracefully) else { return }
            ticks += 1
            do {
                let report = try queue.rescue(now: clock.now)
                InletMetrics.attemptsInterrupted(report.attempts)
                if !report.requeued.isEmpty || !report.quarantined.isEmpty {
                    logger.warning("expired leases: \(report.requeued.count) job(s) requeued, \(report.quarantined.count) quarantined")
                }
                InletMetrics.queueDepth(try queue.depth())
                quarantineGauge.refresh(try quarantine.counts())
                if ticks % 30 == 0 {  // every 5 minutes with the default period
                    let pruned = try queue.prune(finishedBefore: clock.now.addingTimeInterval(-retention.seconds))
                    if pruned > 0 { logger.info("pruned \(pruned) finished job(s) older than the retention") }
                    let evicted = try HTTPCacheStore(database: queue.database)
                        .evict(storedBefore: clock.now.addingTimeInterval(-Self.httpCacheLifetime.seconds))
                    if evicted > 0 {
                        logger.info("forgot \(evicted) HTTP answer(s) cached more than \(DurationFormat.string(from: Self.httpCacheLifetime)) ago")
                    }
                    await truncateWAL()
                }
            } catch {
                logger.error("queue maintenance: \(error)")
            }
        }
    }

    /// Empties the WAL file. The background checkpointer may hold the checkpoint lock for a moment
    /// (SQLite answers busy at once rather than wait): a few tries, then the next round.
    private func truncateWAL() async {
        for attempt in 1...5 {
            do {
                try await queue.database.pool.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
                return
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED {
                if attempt == 5 {
                    logger.debug("WAL not truncated this round (busy): \(error)")
                    return
                }
                try? await Task.sleep(for: .milliseconds(20))
            } catch {
                logger.error("cannot truncate the WAL: \(error)")
                return
            }
        }
    }
}
