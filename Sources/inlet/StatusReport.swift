import Foundation
import InletCore

/// What `inlet status` shows: each source's state as the daemon recorded it, and the queue's size.
struct StatusReport {
    /// One source: configured, or only found in the database.
    struct Source {
        var name: String
        var inConfig: Bool
        /// The config's `enabled` (nil when not in the config).
        var enabled: Bool?
        /// Why the daemon disabled the source, if it did.
        var disabledReason: String?
        var connector: String?
        var schedule: String?
        var lastSyncAt: Date?
        var lastOutcome: String?
        var lastError: String?
        /// `status` (the daemon's source_status row) or `audit` (the newest attempt), nil when never synced.
        var lastSyncFrom: String?
        var nextRunAt: Date?
        var breakerState = "closed"
        var breakerOpenUntil: Date?
        var consecutiveFailures = 0
        var queued = 0
        var running = 0
        var quarantined = 0

        var queueDepth: Int { queued + running }
    }

    var databasePath: String
    var databaseExists: Bool
    /// The pid of the `inlet run` working on data_dir now, if one is.
    var daemonPID: Int32?
    /// What the daemon's supervisor says while the daemon is down between two starts.
    var daemonRestarting: String?
    /// The pid of the foreground `inlet sync` working on data_dir now, if one is.
    var syncPID: Int32?
    var sources: [Source] = []
    var queued = 0
    var running = 0
    var maxSize: Int

    var size: Int { queued + running }
    /// Of `queue.max_size`, to two decimals.
    var usagePercent: Double { maxSize > 0 ? (Double(size) * 10_000 / Double(maxSize)).rounded() / 100 : 0 }

    /// `2.0%`, or `<0.1%` rather than a misleading `0.0%` for a queue that is not empty.
    var usageText: String {
        usagePercent > 0 && usagePercent < 0.1 ? "<0.1%" : String(format: "%.1f%%", usagePercent)
    }

    /// Reads the database (when there is one) for every configured source, then for the sources
    /// it knows that the config no longer names.
    static func build(config: InletConfig, opened: OperatorDatabase?) throws -> StatusReport {
        // The lock file read once: its pid and its restart line belong together.
        let daemon = DaemonLock.runningDaemon(dataDirectory: config.dataDirectory)
        var report = StatusReport(
            databasePath: OperatorDatabase.path(of: config), databaseExists: opened != nil,
            daemonPID: daemon?.pid, daemonRestarting: daemon?.restarting,
            syncPID: DaemonLock.running(.sync, dataDirectory: config.dataDirectory)?.pid, maxSize: config.queue.maxSize)
        var statuses: [String: SourceStatusStore.Row] = [:]
        var latest: [String: AuditLog.Entry] = [:]
        var quarantined: [String: Int] = [:]
        var known = Set<String>()
        if let opened {
            statuses = try opened.sourceStatus.all()
            latest = try opened.audit.latestPerSource()
            quarantined = try opened.quarantine.counts()
            known = try opened.sourceStatus.knownSources()
            let depth = try opened.queue.depth()
            report.queued = depth[.queued] ?? 0
            report.running = depth[.running] ?? 0
        }

        func source(_ name: String, _ configured: SourceConfig?) throws -> Source {
            var source = Source(name: name, inConfig: configured != nil)
            source.enabled = configured?.isEnabled
            source.connector = configured?.connector
            source.schedule = configured?.schedule?.description
            if let status = statuses[name] {
                source.disabledReason = status.disabledReason
                // The stored next run of a source the daemon no longer schedules or runs (gone
                // from the config, disabled by it or the daemon, without a schedule) is not one.
                if let configured, configured.isEnabled, configured.schedule != nil, status.disabledReason == nil {
                    source.nextRunAt = status.nextRunAt
                }
                source.breakerState = status.breakerState
                source.breakerOpenUntil = status.openUntil
                source.consecutiveFailures = status.consecutiveFailures
                if status.lastSyncAt != nil || status.lastOutcome != nil {
                    source.lastSyncAt = status.lastSyncAt
                    source.lastOutcome = status.lastOutcome
                    source.lastError = status.lastError
                    source.lastSyncFrom = "status"
                }
            }
            if source.lastSyncFrom == nil, let entry = latest[name] {
                source.lastSyncAt = entry.finishedAt
                source.lastOutcome = entry.outcome
                source.lastError = entry.error
                source.lastSyncFrom = "audit"
            }
            if let opened {
                let depth = try opened.queue.depth(source: name)
                source.queued = depth[.queued] ?? 0
                source.running = depth[.running] ?? 0
            }
            source.quarantined = quarantined[name] ?? 0
            return source
        }

        for configured in config.sources {
            report.sources.append(try source(configured.name, configured))
        }
        let configured = Set(config.sources.map(\.name))
        for name in known.subtracting(configured).sorted() {
            report.sources.append(try source(name, nil))
        }
        return report
    }

    var object: [String: Any] {
        [
            "database": ["path": databasePath, "exists": databaseExists],
            "daemon": [
                "running": daemonPID != nil, "pid": JSONOutput.orNull(daemonPID.map(Int.init)),
                "restarting": JSONOutput.orNull(daemonRestarting),
            ],
            "sync": ["running": syncPID != nil, "pid": JSONOutput.orNull(syncPID.map(Int.init))],
            "sources": sources.map { source -> [String: Any] in
                [
                    "name": source.name,
                    "in_config": source.inConfig,
                    "enabled": JSONOutput.orNull(source.enabled),
                    "disabled_reason": JSONOutput.orNull(source.disabledReason),
                    "connector": JSONOutput.orNull(source.connector),
                    "schedule": JSONOutput.orNull(source.schedule),
                    "last_sync_at": JSONOutput.time(source.lastSyncAt),
                    "last_outcome": JSONOutput.orNull(source.lastOutcome),
                    "last_error": JSONOutput.orNull(source.lastError),
                    "last_sync_from": JSONOutput.orNull(source.lastSyncFrom),
                    "next_run_at": JSONOutput.time(source.nextRunAt),
                    "breaker_state": source.breakerState,
                    "breaker_open_until": JSONOutput.time(source.breakerOpenUntil),
                    "consecutive_failures": source.consecutiveFailures,
                    "queue_depth": source.queueDepth,
                    "queued": source.queued,
                    "running": source.running,
                    "quarantined": source.quarantined,
                ]
            },
            "queue": [
                "size": size, "queued": queued, "running": running, "max_size": maxSize, "usage_percent": usagePercent,
            ],
        ]
    }

    func text(now: Date) -> String {
        var lines: [String] = []
        if !databaseExists {
            lines.append("\(OperatorDatabase.missingMessage(databasePath: databasePath))")
        }
        if sources.isEmpty {
            lines.append("No sources.")
        } else {
            var table = TextTable(
                ["SOURCE", "STATE", "CONNECTOR", "SCHEDULE", "LAST SYNC", "NEXT RUN", "BREAKER", "QUEUE", "RUNNING", "QUARANTINE"],
                rightAligned: [7, 8, 9])
            var notes: [String] = []
            for source in sources {
                let state: String
                switch (source.enabled, source.disabledReason) {
                case (nil, _): state = "-"
                case (_, .some(let reason)):
                    state = "disabled (daemon)"
                    // The watchdog's verdict says who disabled it; a load error does not.
                    notes.append("\(source.name): \(reason.hasPrefix("disabled by") ? reason : "disabled by the daemon: \(reason)")")
                case (false, nil): state = "disabled"
                case (true, nil): state = "enabled"
                }
                let lastSync: String
                if let at = source.lastSyncAt {
                    lastSync = "\(source.lastOutcome ?? "?"), \(TimeText.relative(at, now: now))"
                } else {
                    lastSync = source.lastOutcome ?? "never"
                }
                if let error = source.lastError { notes.append("\(source.name): last error: \(TextTable.cell(error, limit: 200))") }
                var breaker = source.breakerState
                if let until = source.breakerOpenUntil, source.breakerState != "closed" {
                    breaker += " (until \(TimeText.relative(until, now: now)))"
                }
                table.append([
                    source.inConfig ? source.name : "\(source.name) (not in config)",
                    state, source.connector ?? "-", source.schedule ?? (source.inConfig ? "on demand" : "-"), lastSync,
                    source.nextRunAt.map { TimeText.relative($0, now: now) } ?? "-", breaker,
                    "\(source.queueDepth)", "\(source.running)", "\(source.quarantined)",
                ])
            }
            lines.append(table.render())
            lines += notes
        }
        lines.append(
            "queue: \(ProgressLine.grouped(UInt64(size))) of \(ProgressLine.grouped(UInt64(maxSize))) (\(usageText)): "
                + "\(queued) queued, \(running) running")
        if let daemonPID, let daemonRestarting {
            lines.append("daemon: running (pid \(daemonPID)), \(daemonRestarting)")
        } else if let daemonPID {
            lines.append("daemon: running (pid \(daemonPID))")
        } else {
            // Next runs and queued jobs wait for one.
            lines.append("daemon: not running (no live pid in inlet.lock; schedules and queued jobs wait for `inlet run`)")
            if let syncPID { lines.append("sync: an `inlet sync` is running (pid \(syncPID))") }
            if running > 0 { lines.append(OperatorDatabase.orphanedNote(running: running, syncPID: syncPID)) }
        }
        return lines.joined(separator: "\n")
    }
}
