import ArgumentParser
import Foundation
import InletCore

/// `inlet quarantine list|show|retry|drop`: jobs out of attempts and items connectors put aside.
struct QuarantineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quarantine",
        abstract: "List and inspect quarantined jobs and items; retry or drop them.",
        discussion: """
            Retrying a job entry queues the job again with fresh attempts; retrying an item entry queues a \
            sync of its source (connectors re-read what they could not process). Works beside a running \
            daemon. Exits 1 when an entry does not exist or cannot be retried (among others when its \
            source is no longer in the config or is disabled: the daemon would never run its job).
            """,
        subcommands: [List.self, Show.self, Retry.self, Drop.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List quarantine entries, last seen first: id, source, kind, key, job, bytes, times seen, last seen, error.")

        @OptionGroup var options: ConfigOptions

        @Option(help: "Only entries of this source.")
        var source: String?

        @Flag(help: "Print one JSON array of entries (without their bytes).")
        var json = false

        /// Beyond this many the text says how many more there are.
        static let shown = 1000

        func run() async throws {
            let config = try options.load()
            let opened = try OperatorDatabase.open(config)
            let (entries, total) = try exitingOnFailure { () throws -> ([QuarantineStore.Entry], Int) in
                let counts = try opened.quarantine.counts()
                let total = source.map { counts[$0] ?? 0 } ?? counts.values.reduce(0, +)
                return (try opened.quarantine.list(source: source, limit: json ? Int(Int32.max) : Self.shown), total)
            }
            if json {
                JSONOutput.print(entries.map { QuarantineOutput.object($0, withBytes: false) })
                return
            }
            if entries.isEmpty {
                print(source.map { "The quarantine holds nothing of source '\($0)'." } ?? "The quarantine is empty.")
                return
            }
            print(QuarantineOutput.table(entries, now: Date()))
            if total > entries.count { print("… and \(total - entries.count) older (use --json for all)") }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show an entry: its error, and its bytes as text, or as a hex dump of the first 256 bytes.")

        @OptionGroup var options: ConfigOptions

        @Argument(help: "The entry's id.")
        var id: Int64

        @Flag(help: "Print one JSON object; the bytes as text, or base64 with \"bytes_encoding\": \"base64\".")
        var json = false

        func run() async throws {
            let config = try options.load()
            let opened = try OperatorDatabase.open(config)
            let entry = try exitingOnFailure { () throws -> QuarantineStore.Entry in
                guard let entry = try opened.quarantine.entry(id: id) else {
                    throw JobQueueError(.notFound, "no quarantine entry \(id)")
                }
                return entry
            }
            if json {
                JSONOutput.print(QuarantineOutput.object(entry, withBytes: true))
            } else {
                print(QuarantineOutput.details(entry, now: Date()))
            }
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Retry an entry (or --all): its job runs again, or its source syncs again; the entry leaves the quarantine.",
            discussion: "With --all every entry is retried, least recently seen first, and each is reported; exits 1 when any failed.")

        @OptionGroup var options: ConfigOptions

        @Argument(help: "The entry's id.")
        var id: Int64?

        @Flag(help: "Retry every entry.")
        var all = false

        @Flag(help: "Print JSON: one object, or with --all an array of one object per entry.")
        var json = false

        func validate() throws {
            if all && id != nil { throw ValidationError("give an ID or --all, not both") }
            if !all && id == nil { throw ValidationError("give the ID of an entry to retry, or --all") }
        }

        func run() async throws {
            let config = try options.load()
            let opened = try OperatorDatabase.open(config)
            let store = opened.quarantine
            // Retried for a source gone from the config or disabled, the job would wait for good.
            let maxAttempts = { (source: String) in try opened.runnableSource(named: source).retry.maxAttempts }

            if let id {
                let entry = try exitingOnFailure { () throws -> QuarantineStore.Entry in
                    guard let entry = try store.entry(id: id) else { throw JobQueueError(.notFound, "no quarantine entry \(id)") }
                    return entry
                }
                let report = try exitingOnFailure {
                    RetryReport(entry: entry, outcome: try store.retry(id: id, maxAttempts: maxAttempts(entry.source)))
                }
                if json { JSONOutput.print(report.object) } else { print(report.text) }
                return
            }

            let entries = try exitingOnFailure { try store.list(limit: Int(Int32.max)).reversed() }
            var reports: [RetryReport] = []
            // Retrying a job removes every entry of that job: later entries of it are already done.
            var requeued = Set<Int64>()
            for entry in entries {
                if let jobID = entry.jobID, requeued.contains(jobID) {
                    reports.append(RetryReport(entry: entry, outcome: .jobRequeued(jobID), withEarlierEntry: true))
                    continue
                }
                do {
                    let outcome = try store.retry(id: entry.id, maxAttempts: maxAttempts(entry.source))
                    if case .jobRequeued(let jobID) = outcome { requeued.insert(jobID) }
                    reports.append(RetryReport(entry: entry, outcome: outcome))
                } catch {
                    reports.append(RetryReport(entry: entry, failure: "\(error)"))
                }
            }
            if json {
                JSONOutput.print(reports.map(\.object))
            } else if reports.isEmpty {
                print("The quarantine is empty: nothing to retry.")
            } else {
                for report in reports {
                    if report.failure != nil { printError(report.text) } else { print(report.text) }
                }
                let failed = reports.filter { $0.failure != nil }.count
                print("\(reports.count - failed) of \(reports.count) entr\(reports.count == 1 ? "y" : "ies") retried\(failed > 0 ? ", \(failed) failed" : "")")
            }
            if reports.contains(where: { $0.failure != nil }) { throw ExitCode(1) }
        }
    }

    struct Drop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove an entry from the quarantine (a job whose last entry it was is cancelled, pruned after queue.retention).")

        @OptionGroup var options: ConfigOptions

        @Argument(help: "The entry's id.")
        var id: Int64

        @Flag(help: "Print one JSON object.")
        var json = false

        func run() async throws {
            let config = try options.load()
            let opened = try OperatorDatabase.open(config)
            let (entry, cancelled) = try exitingOnFailure { () throws -> (QuarantineStore.Entry?, Int64?) in
                let entry = try opened.quarantine.entry(id: id)
                return (entry, try opened.quarantine.drop(id: id))
            }
            if json {
                JSONOutput.print(["id": id, "dropped": true, "source": JSONOutput.orNull(entry?.source),
                                  "job_id": JSONOutput.orNull(entry?.jobID), "job_cancelled": cancelled != nil])
            } else if let jobID = cancelled {
                print("quarantine entry \(id) dropped; job \(jobID) cancelled, pruned after queue.retention (`inlet jobs retry \(jobID)` runs it again)")
            } else if let jobID = entry?.jobID {
                print("quarantine entry \(id) dropped; job \(jobID) has other entries and stays quarantined")
            } else {
                print("quarantine entry \(id) dropped")
            }
        }
    }
}

/// What a retry did to one entry, as a line and as JSON.
struct RetryReport {
    var entry: QuarantineStore.Entry
    var outcome: QuarantineStore.RetryOutcome?
    var failure: String?
    /// The entry left with an earlier entry of the same job (`--all`).
    var withEarlierEntry = false

    init(entry: QuarantineStore.Entry, outcome: QuarantineStore.RetryOutcome, withEarlierEntry: Bool = false) {
        self.entry = entry
        self.outcome = outcome
        self.withEarlierEntry = withEarlierEntry
    }

    init(entry: QuarantineStore.Entry, failure: String) {
        self.entry = entry
        self.failure = failure
    }

    var text: String {
        let prefix = "quarantine entry \(entry.id) (\(entry.source) \(entry.kind) \(entry.key))"
        if let failure { return "error: \(prefix): \(failure)" }
        switch outcome {
        case .jobRequeued(let jobID):
            return withEarlierEntry
                ? "\(prefix): removed with the retry of job \(jobID)"
                : "\(prefix): job \(jobID) queued again with fresh attempts"
        case .syncEnqueued(.enqueued(let jobID)):
            return "\(prefix): sync of '\(entry.source)' queued as job \(jobID)"
        case .syncEnqueued(.coalesced(let jobID)):
            return "\(prefix): merged into the sync of '\(entry.source)' already queued as job \(jobID)"
        case .syncEnqueued(.full), nil:
            return "\(prefix): the queue is full"
        }
    }

    var object: [String: Any] {
        var object: [String: Any] = [
            "id": entry.id, "source": entry.source, "kind": entry.kind, "key": entry.key,
            "job_id": NSNull(), "error": JSONOutput.orNull(failure),
        ]
        switch outcome {
        case .jobRequeued(let jobID):
            object["result"] = "job_requeued"
            object["job_id"] = jobID
        case .syncEnqueued(.enqueued(let jobID)):
            object["result"] = "sync_enqueued"
            object["job_id"] = jobID
        case .syncEnqueued(.coalesced(let jobID)):
            object["result"] = "sync_coalesced"
            object["job_id"] = jobID
        case .syncEnqueued(.full), nil:
            object["result"] = "failed"
        }
        return object
    }
}

/// Quarantine entries as text and as JSON.
enum QuarantineOutput {
    /// How much of binary bytes the text shows.
    static let hexDumpLimit = 256

    static func object(_ entry: QuarantineStore.Entry, withBytes: Bool) -> [String: Any] {
        var object: [String: Any] = [
            "id": entry.id, "source": entry.source, "kind": entry.kind, "key": entry.key, "error": entry.error,
            "job_id": JSONOutput.orNull(entry.jobID), "created_at": entry.createdAt, "seen": entry.seen,
            "last_seen_at": entry.lastSeenAt,
            "size": JSONOutput.orNull(entry.bytes?.count),
        ]
        if withBytes {
            if let bytes = entry.bytes {
                if let text = String(validating: bytes, as: UTF8.self) {
                    object["bytes"] = text
                    object["bytes_encoding"] = "utf8"
                } else {
                    object["bytes"] = Data(bytes).base64EncodedString()
                    object["bytes_encoding"] = "base64"
                }
            } else {
                object["bytes"] = NSNull()
                object["bytes_encoding"] = NSNull()
            }
        }
        return object
    }

    static func table(_ entries: [QuarantineStore.Entry], now: Date) -> String {
        var table = TextTable(["ID", "SOURCE", "KIND", "KEY", "JOB", "BYTES", "TIMES", "LAST SEEN", "ERROR"], rightAligned: [0, 4, 5, 6])
        for entry in entries {
            table.append([
                "\(entry.id)", entry.source, entry.kind, TextTable.cell(entry.key, limit: 40), entry.jobID.map(String.init) ?? "-",
                entry.bytes.map { ProgressLine.grouped(UInt64($0.count)) } ?? "-", "\(entry.seen)", lastSeen(entry, now: now),
                TextTable.cell(entry.error),
            ])
        }
        return table.render()
    }

    static func details(_ entry: QuarantineStore.Entry, now: Date) -> String {
        let stored = TimeText.parseStored(entry.createdAt).map { TimeText.detailed($0, now: now) } ?? entry.createdAt
        let lastSeen = TimeText.parseStored(entry.lastSeenAt).map { TimeText.detailed($0, now: now) } ?? entry.lastSeenAt
        var lines = [
            "quarantine entry \(entry.id)",
            "  source      \(entry.source)",
            "  kind        \(entry.kind)",
            "  key         \(entry.key)",
            "  job         \(entry.jobID.map { "\($0) (`inlet jobs show \($0)`)" } ?? "-")",
            "  created at  \(stored)",
            "  seen        \(entry.seen == 1 ? "once" : "\(entry.seen) times, last \(lastSeen)")",
            "  error       \(entry.error.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\n              "))",
        ]
        guard let bytes = entry.bytes else {
            lines.append("  bytes       none")
            return lines.joined(separator: "\n")
        }
        let size = "\(ProgressLine.grouped(UInt64(bytes.count))) byte\(bytes.count == 1 ? "" : "s")"
        if let text = ByteDisplay.text(bytes) {
            lines.append("  bytes       \(size), text:")
            lines.append(text)
        } else if bytes.count > hexDumpLimit {
            lines.append("  bytes       \(size), binary; the first \(hexDumpLimit):")
            lines.append(ByteDisplay.hexDump(bytes.prefix(hexDumpLimit)))
        } else {
            lines.append("  bytes       \(size), binary:")
            lines.append(ByteDisplay.hexDump(bytes[...]))
        }
        return lines.joined(separator: "\n")
    }

    private static func lastSeen(_ entry: QuarantineStore.Entry, now: Date) -> String {
        let stored = entry.lastSeenAt
        return TimeText.parseStored(stored).map { TimeText.relative($0, now: now) } ?? stored
    }
}
