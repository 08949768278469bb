import Foundation
import InletCore

/// The end-of-sync summary, as text or as one JSON object.
enum SyncSummary {
    static func total(_ result: SyncRunner.Result) -> Int {
        max(Int(max(result.total, result.processed)), result.counts.written + result.counts.unchanged + result.failed)
    }

    /// The status a user reads: a run cut short by Ctrl-C is INTERRUPTED, whatever the plugin
    /// answered to being cancelled (most answer RETRY).
    static func status(_ result: SyncRunner.Result) -> String {
        result.interrupted && result.status != .ok ? "INTERRUPTED" : result.status.description
    }

    /// Items the plugin got through: all of them when it finished.
    static func processed(_ result: SyncRunner.Result) -> Int {
        result.status == .ok ? total(result) : max(Int(result.processed), result.counts.written + result.counts.unchanged + result.failed)
    }

    static func printText(_ result: SyncRunner.Result) {
        let verb = result.dryRun ? "would write" : "written"
        var lines = ["\(result.source): \(result.status == .ok ? (result.dryRun ? "OK (dry run, nothing written)" : "OK") : status(result))"]
        if let message = result.message, result.status != .ok {
            lines.append("  error      \(result.interrupted ? "interrupted: " : "")\(message)")
        }
        let stopped = result.status != .ok && processed(result) < total(result)
        let rows: [(String, String)] = [
            ("total", ProgressLine.grouped(UInt64(total(result))) + (stopped ? ", \(ProgressLine.grouped(UInt64(processed(result)))) processed before it stopped" : "")),
            ("unchanged", ProgressLine.grouped(UInt64(result.unchanged))),
            (verb, "\(ProgressLine.grouped(UInt64(result.counts.written))) (\(result.counts.inserted) new, \(result.counts.updated) updated)"),
            (result.dryRun ? "would delete" : "deleted", ProgressLine.grouped(UInt64(result.counts.deleted))),
            ("failed", ProgressLine.grouped(UInt64(result.failed))),
            ("duration", ProgressLine.format(result.duration)),
        ]
        for (name, value) in rows { lines.append("  \(name.padding(toLength: 12, withPad: " ", startingAt: 0)) \(value)") }
        if result.followUpsRun > 0 { lines.append("  follow-up jobs run: \(result.followUpsRun)") }
        if result.followUpsWaiting > 0 {
            lines.append("  follow-up jobs waiting: \(result.followUpsWaiting) (queued: the daemon, or the next `inlet sync` of this source that ends OK, runs them)")
        }
        if result.dryRun {
            for change in result.plannedChanges.prefix(1000) {
                lines.append("  would \(change.change == .inserted ? "insert" : change.change == .updated ? "update" : "delete") \(change.key)")
            }
            if result.plannedChanges.count > 1000 { lines.append("  … and \(result.plannedChanges.count - 1000) more (use --json for all)") }
        }
        print(lines.joined(separator: "\n"))
    }

    static func object(_ result: SyncRunner.Result) -> [String: Any] {
        var object: [String: Any] = [
            "source": result.source,
            "status": status(result),
            "interrupted": result.interrupted,
            "dry_run": result.dryRun,
            "total": total(result),
            "processed": processed(result),
            "unchanged": result.unchanged,
            "written": result.counts.written,
            "inserted": result.counts.inserted,
            "updated": result.counts.updated,
            "deleted": result.counts.deleted,
            "failed": result.failed,
            "quarantined": result.counts.quarantined,
            "follow_ups_run": result.followUpsRun,
            "follow_ups_waiting": result.followUpsWaiting,
            "duration_seconds": (result.duration.seconds * 1000).rounded() / 1000,
        ]
        if let message = result.message { object["message"] = message }
        if let retryAfter = result.retryAfter { object["retry_after_seconds"] = retryAfter.seconds }
        if result.dryRun {
            object["changes"] = result.plannedChanges.map { ["key": $0.key, "change": $0.change.rawValue] }
        }
        return object
    }

    /// One object: the source's summary, or with `asList` (for --all) `{"sources": [...]}`.
    static func printJSON(_ results: [SyncRunner.Result], asList: Bool) {
        let object: [String: Any] = !asList && results.count == 1 ? self.object(results[0]) : ["sources": results.map(self.object)]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        print(String(decoding: data, as: UTF8.self))
    }
}
