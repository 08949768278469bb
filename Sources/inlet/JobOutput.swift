import Foundation
import InletCore

/// Jobs and their audit rows as text and as JSON.
enum JobOutput {
    /// Every column of a job; `args` as a JSON value, times as ISO 8601.
    static func object(_ job: Job) -> [String: Any] {
        [
            "id": job.id,
            "source": job.source,
            "kind": job.kind,
            "args": JSONOutput.embedded(job.args),
            "priority": job.priority,
            "state": job.state.rawValue,
            "attempts": job.attempts,
            "max_attempts": job.maxAttempts,
            "run_at": JSONOutput.time(job.runAt),
            "unique_key": JSONOutput.orNull(job.uniqueKey),
            "coalesced": job.coalesced,
            "last_error": JSONOutput.orNull(job.lastError),
            "lease_id": JSONOutput.orNull(job.leaseID),
            "lease_owner": JSONOutput.orNull(job.leaseOwner),
            "lease_expires_at": JSONOutput.time(job.leaseExpiresAt),
            "created_at": JSONOutput.time(job.createdAt),
            "updated_at": JSONOutput.time(job.updatedAt),
            "started_at": JSONOutput.time(job.startedAt),
            "finished_at": JSONOutput.time(job.finishedAt),
        ]
    }

    /// One finished attempt.
    static func object(_ entry: AuditLog.Entry) -> [String: Any] {
        [
            "attempt": entry.attempt,
            "outcome": entry.outcome,
            "records_written": entry.recordsWritten,
            "records_deleted": entry.recordsDeleted,
            "items_quarantined": entry.itemsQuarantined,
            "duration_ms": entry.durationMilliseconds,
            "error": JSONOutput.orNull(entry.error),
            "finished_at": JSONOutput.time(entry.finishedAt),
        ]
    }

    /// The jobs as an aligned table.
    static func table(_ jobs: [Job], now: Date) -> String {
        var table = TextTable(["ID", "SOURCE", "KIND", "STATE", "PRI", "ATTEMPTS", "RUN AT", "LAST ERROR"], rightAligned: [0, 4])
        for job in jobs {
            table.append([
                "\(job.id)", job.source, job.kind, job.state.rawValue, "\(job.priority)", "\(job.attempts)/\(job.maxAttempts)",
                TimeText.relative(job.runAt, now: now), TextTable.cell(job.lastError),
            ])
        }
        return table.render()
    }

    /// Every field of a job, then its attempts.
    static func details(_ job: Job, history: [AuditLog.Entry], now: Date) -> String {
        var fields: [(String, String)] = [
            ("source", job.source),
            ("kind", job.kind),
            ("state", job.state.rawValue),
            ("priority", "\(job.priority)"),
            ("attempts", "\(job.attempts)/\(job.maxAttempts)"),
            ("run at", TimeText.detailed(job.runAt, now: now)),
            ("unique key", job.uniqueKey ?? "-"),
            ("coalesced", job.coalesced == 0 ? "0" : "\(job.coalesced) later request\(job.coalesced == 1 ? "" : "s") merged in"),
        ]
        if let owner = job.leaseOwner {
            fields.append(("lease", "\(owner), id \(job.leaseID.map(String.init) ?? "-"), expires \(TimeText.detailed(job.leaseExpiresAt, now: now))"))
        } else {
            fields.append(("lease", "-"))
        }
        fields += [
            ("created at", TimeText.detailed(job.createdAt, now: now)),
            ("updated at", TimeText.detailed(job.updatedAt, now: now)),
            ("started at", TimeText.detailed(job.startedAt, now: now)),
            ("finished at", TimeText.detailed(job.finishedAt, now: now)),
            ("last error", job.lastError ?? "-"),
        ]
        var lines = ["job \(job.id)"]
        for (name, value) in fields {
            let label = name.padding(toLength: 12, withPad: " ", startingAt: 0)
            let indented = value.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\n" + String(repeating: " ", count: 15))
            lines.append("  \(label) \(indented)")
        }
        lines.append("  args")
        lines += prettyArgs(job.args).split(separator: "\n", omittingEmptySubsequences: false).map { "    " + $0 }

        if history.isEmpty {
            lines.append("history: no finished attempt")
        } else {
            lines.append("history (\(history.count) attempt\(history.count == 1 ? "" : "s"))")
            var table = TextTable(
                ["ATTEMPT", "OUTCOME", "WRITTEN", "DELETED", "QUARANTINED", "DURATION", "FINISHED", "ERROR"],
                rightAligned: [0, 2, 3, 4, 5])
            // A retried job starts its attempts again at 1: the line between says so. (A rate
            // limit is not counted as an attempt: the next one has the same number.)
            var restarts = Set<Int>()
            for (index, entry) in history.enumerated() {
                if index > 0 {
                    let previous = history[index - 1]
                    if entry.attempt < previous.attempt || (entry.attempt == previous.attempt && previous.outcome != "rate_limited") {
                        restarts.insert(index)
                    }
                }
                table.append([
                    "\(entry.attempt)", entry.outcome, "\(entry.recordsWritten)", "\(entry.recordsDeleted)", "\(entry.itemsQuarantined)",
                    ProgressLine.format(.milliseconds(entry.durationMilliseconds)), TimeText.detailed(entry.finishedAt, now: now),
                    TextTable.cell(entry.error, limit: 80),
                ])
            }
            for (index, line) in table.render().split(separator: "\n").enumerated() {
                if restarts.contains(index - 1) { lines.append("  -- queued again (jobs retry, quarantine retry or the admin API): attempts start again --") }
                lines.append("  " + line)
            }
        }
        return lines.joined(separator: "\n")
    }

    /// The args object indented, keys sorted; the raw text when it is not JSON.
    static func prettyArgs(_ args: String) -> String {
        guard let value = try? JSONSerialization.jsonObject(with: Data(args.utf8), options: [.fragmentsAllowed]),
            let data = try? JSONSerialization.data(
                withJSONObject: value, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed])
        else { return args }
        // Foundation prints an empty object across lines; `{}` says the same in one.
        if let object = value as? [String: Any], object.isEmpty { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}
