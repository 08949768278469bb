import ArgumentParser
import Foundation
import InletCore

/// `inlet jobs list|show|retry|cancel`: the durable queue, read and steered while the daemon runs.
struct JobsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs",
        abstract: "List and inspect the queue's jobs; retry a finished job or cancel a pending one.",
        discussion: "Works beside a running daemon. Exits 1 when the job does not exist or is in the wrong state.",
        subcommands: [List.self, Show.self, Retry.self, Cancel.self]
    )

    /// A job state on the command line.
    enum StateOption: String, ExpressibleByArgument, CaseIterable {
        case queued, running, succeeded, quarantined, cancelled

        var state: JobState { JobState(rawValue: rawValue)! }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List jobs, newest first: id, source, kind, state, priority, attempts, due time, last error.")

        @OptionGroup var options: ConfigOptions

        @Option(help: "Only jobs in this state.")
        var state: StateOption?

        @Option(help: "Only jobs of this source.")
        var source: String?

        @Option(help: "At most this many jobs.")
        var limit = 50

        @Flag(help: "Print one JSON array of jobs (times in ISO 8601); a cut list is said on standard error.")
        var json = false

        func validate() throws {
            if limit < 1 { throw ValidationError("--limit must be at least 1, got \(limit)") }
        }

        func run() async throws {
            let config = try options.load()
            let opened = try OperatorDatabase.open(config)
            // One more than shown tells whether there are more.
            var jobs = try exitingOnFailure { try opened.queue.list(state: state?.state, source: source, limit: limit < Int.max ? limit + 1 : limit) }
            let more = jobs.count > limit
            jobs = Array(jobs.prefix(limit))
            if json {
                JSONOutput.print(jobs.map(JobOutput.object))
                // On standard error: standard output stays one JSON array.
                if more { printError("… and more (the first \(limit) shown; --limit N for more)") }
            } else if jobs.isEmpty {
                print("No jobs\(filterDescription).")
            } else {
                print(JobOutput.table(jobs, now: Date()))
                if more { print("… and more (the first \(limit) shown; --limit N for more)") }
                let running = jobs.filter { $0.state == .running }.count
                if running > 0, opened.daemon == nil { print(OperatorDatabase.orphanedNote(running: running, syncPID: opened.sync?.pid)) }
            }
        }

        private var filterDescription: String {
            var parts: [String] = []
            if let state { parts.append(state.rawValue) }
            if let source { parts.append("of source '\(source)'") }
            return parts.isEmpty ? "" : " (" + parts.joined(separator: ", ") + ")"
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show every field of a job, its args, and the history of its attempts.")

        @OptionGroup var options: ConfigOptions

        @Argument(help: "The job's id.")
        var id: Int64

        @Flag(help: "Print one JSON object: the job's fields and \"history\".")
        var json = false

        func run() async throws {
            let config = try options.load()
            let opened = try OperatorDatabase.open(config)
            let (job, history) = try exitingOnFailure { () throws -> (Job, [AuditLog.Entry]) in
                guard let job = try opened.queue.job(id: id) else { throw JobQueueError(.notFound, "no job \(id)") }
                return (job, try opened.audit.entries(jobID: id))
            }
            if json {
                var object = JobOutput.object(job)
                object["history"] = history.map(JobOutput.object)
                JSONOutput.print(object)
            } else {
                print(JobOutput.details(job, history: history, now: Date()))
            }
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Queue a finished job (succeeded, quarantined or cancelled) again, with fresh attempts.",
            discussion: """
                Its quarantine entries are removed. Exits 1 when the job is queued or running, or when its \
                source is no longer in the config or is disabled (the daemon would never run it).
                """)

        @OptionGroup var options: ConfigOptions

        @Argument(help: "The job's id.")
        var id: Int64

        @Flag(help: "Print the job, as queued again, as one JSON object.")
        var json = false

        func run() async throws {
            let config = try options.load()
            let opened = try OperatorDatabase.open(config)
            let (before, job) = try exitingOnFailure { () throws -> (Job?, Job) in
                let before = try opened.queue.job(id: id)
                // Queued for a source gone from the config or disabled, the job would wait for good.
                if let before { _ = try opened.runnableSource(named: before.source) }
                return (before, try opened.queue.retry(id: id))
            }
            if json {
                JSONOutput.print(JobOutput.object(job))
            } else {
                let was = before.map { " (was \($0.state.rawValue))" } ?? ""
                print("job \(job.id) (\(job.source) \(job.kind)) queued again\(was): attempts \(job.attempts)/\(job.maxAttempts), due now")
            }
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cancel a queued or running job.",
            discussion: """
                A running job's lease is revoked at once and its attempt gets an audit row (outcome \
                cancelled); a worker still running it (the daemon's or an `inlet sync`'s) stops at its next \
                heartbeat and commits nothing more (what its checkpoints committed before stays). \
                Exits 1 when the job already finished.
                """)

        @OptionGroup var options: ConfigOptions

        @Argument(help: "The job's id.")
        var id: Int64

        @Flag(help: "Print the cancelled job as one JSON object.")
        var json = false

        func run() async throws {
            let config = try options.load()
            let opened = try OperatorDatabase.open(config)
            let (before, job) = try exitingOnFailure { () throws -> (Job?, Job) in
                let before = try opened.queue.job(id: id)
                return (before, try opened.queue.cancel(id: id))
            }
            if json {
                JSONOutput.print(JobOutput.object(job))
            } else if before?.state == .running, opened.daemon != nil {
                print("job \(job.id) (\(job.source) \(job.kind)) cancelled while running: its worker stops at its next heartbeat and commits nothing more (its checkpoints so far stay)")
            } else {
                print("job \(job.id) (\(job.source) \(job.kind)) cancelled")
            }
        }
    }
}
