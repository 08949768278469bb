import ArgumentParser
import Dispatch
import Foundation
import InletCore
import Logging
import Synchronization

/// `inlet sync`: one sync of a source (or of every source) in the foreground.
struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Run one sync of a source in the foreground, with progress and a summary.",
        discussion: """
            On a terminal a live progress line is shown; otherwise progress goes to the log as JSON lines. \
            The summary (total, unchanged, written, deleted, failed, duration) is printed at the end, as \
            one JSON object with --json. Ctrl-C cancels: nothing after the last checkpoint is written. \
            Follow-up jobs the connector asks for are queued with the commit that asks for them and, \
            after a sync that ended OK, run here one at a time with the source's retry policy (a kill -9 \
            loses none: the daemon, or the next sync of the source that ends OK, runs what is left). \
            Exits 1 when a sync or a follow-up job failed, 130 when interrupted, 2 for a disabled \
            source while the daemon runs. While `inlet run` holds the data_dir, the sync is queued for \
            the daemon instead (a disabled source, or one the daemon cannot run now, is refused; \
            `--dry-run` runs in the foreground, writing nothing); while another `inlet sync` holds \
            it, the sync is refused.
            """
    )

    @OptionGroup var options: ConfigOptions

    @Argument(help: "The source to sync.")
    var source: String?

    @Flag(help: "Sync every enabled source, one after the other.")
    var all = false

    @Flag(help: "Write nothing; say what would be written.")
    var dryRun = false

    @Flag(help: "Re-read everything instead of trusting the checkpoint (the connector decides what that means).")
    var full = false

    @Flag(help: "Print the summary as one JSON object on standard output.")
    var json = false

    func validate() throws {
        if all && source != nil { throw ValidationError("give a SOURCE or --all, not both") }
        if !all && source == nil { throw ValidationError("give a SOURCE to sync, or --all") }
    }

    func run() async throws {
        let config = try options.load()
        try options.bootstrapLogging(config)
        let logger = Logger(label: "inlet.sync")

        let chosen: [SourceConfig]
        if all {
            chosen = config.sources.filter(\.isEnabled)
        } else if let match = config.sources.first(where: { $0.name == source }) {
            chosen = [match]
        } else {
            let names = config.sources.map(\.name)
            let hint = SpellingSuggestion.closest(to: source!, in: names).map { "; did you mean '\($0)'?" } ?? ""
            printError("error: no source '\(source!)' in \(config.file)\(hint) (sources: \(names.joined(separator: ", ")))")
            throw ExitCode(2)
        }

        let sources = ConfiguredSources(config: config)
        let problems = chosen.flatMap { sources.problems(of: $0.name) }
        if !problems.isEmpty {
            for problem in problems { printError("error: \(problem)") }
            throw ExitCode(2)
        }

        // A sync in the foreground and the daemon must not run one source at once (its
        // checkpoint would be written by both): while the daemon holds data_dir, the sync is
        // handed to it as a job instead. Another foreground sync takes no jobs: it is waited
        // for. A dry run writes nothing and needs no lock.
        var lock: DaemonLock?
        if !dryRun {
            do {
                lock = try DaemonLock(dataDirectory: config.dataDirectory, role: .sync)
            } catch let error as DaemonLock.LockError where error.isHeld && error.holder?.role == .sync {
                printError("error: \(error): wait for it to finish (or stop it), then sync again")
                throw ExitCode(1)
            } catch let error as DaemonLock.LockError where error.isHeld {
                try handOverToDaemon(chosen, config: config)
                return
            } catch {
                printError("error: \(error)")
                throw ExitCode(1)
            }
        }
        defer { withExtendedLifetime(lock) {} }

        // A dry run writes no records, but opening the database migrates it: not under a
        // daemon of an earlier build, as the other operator commands.
        if dryRun { try OperatorDatabase.refuseToMigrateUnderADaemon(config) }
        let database = try openDatabase(config)
        // Follow-up jobs go through the queue, so a kill -9 leaves them there. Holding data_dir
        // alone, this process owns every lease: jobs still running were left by a stopped
        // process, and go back to the queue as at a daemon's start (their cut-short attempt
        // counted). Nor is there a daemon to prune finished jobs: this does it too.
        let queue = JobQueue(database: database, maxSize: config.queue.maxSize)
        let owner = "sync:\(ProcessInfo.processInfo.hostName):\(getpid()):\(UUID().uuidString.prefix(8))"
        if !dryRun { try exitingOnFailure { try tidy(queue, config: config, owner: owner, logger: logger) } }
        // A dry run reads the ETag cache but stores nothing.
        let http = HTTPService(database: database, storesAnswers: !dryRun)
        let live = LiveCall()
        let interrupt = InterruptHandler(live: live)
        defer { interrupt.stop() }

        var results: [SyncRunner.Result] = []
        for source in chosen {
            if interrupt.interrupted { break }
            let instance: ConnectorInstance
            do {
                instance = try await sources.instantiate(source, logger: logger, http: http)
            } catch {
                logger.error("\(error)", metadata: ["source": "\(source.name)"])
                let status: PluginStatus = error.code == .createDeferred ? (error.retryAfter == nil ? .retry : .rateLimited) : .failed
                var failed = SyncRunner.Result(source: source.name, status: status, message: error.description)
                failed.retryAfter = error.retryAfter
                failed.dryRun = dryRun
                results.append(failed)
                record(failed, in: database, logger: logger)
                if !json { SyncSummary.printText(failed) }
                continue
            }
            let display = ProgressDisplay(source: source.name, live: live, logger: logger, terminal: isatty(STDERR_FILENO) != 0)
            display.start()
            let args = full ? #"{"full":true}"# : "{}"
            // The source's timeout and the watchdog's grace hold here as in the daemon: a call
            // that never returns cannot keep `inlet sync` (a cron job) up for ever.
            let runner = SyncRunner(
                database: database, logger: logger,
                followUps: .queued(.init(queue: queue, source: source, owner: owner, watchdog: config.watchdog)),
                limits: .init(timeout: source.timeout, grace: config.watchdog.cancelGrace))
            var result = await runner.run(instance: instance, args: args, dryRun: dryRun, interrupted: interrupt.check) {
                live.set($0)
            }
            result.interrupted = interrupt.interrupted
            display.stop()
            live.set(nil)
            await instance.destroy()
            results.append(result)
            record(result, in: database, logger: logger)
            if !json { SyncSummary.printText(result) }
        }
        if json { SyncSummary.printJSON(results, asList: all) }
        if interrupt.interrupted { throw ExitCode(130) }
        if results.contains(where: { $0.status != .ok }) { throw ExitCode(1) }
    }
}

extension SyncCommand {
    /// Gives back the jobs a stopped process left running and prunes finished jobs past
    /// `queue.retention`, as a daemon does at its start.
    func tidy(_ queue: JobQueue, config: InletConfig, owner: String, logger: Logger) throws {
        let now = Date()
        _ = try queue.rescueAtStart(owner: owner, sources: config.sources, now: now, logger: logger)
        // This process's own follow-ups: one whose plugin crashes it is named for the next start.
        try CrashRecord.arm(dataDirectory: config.dataDirectory)
        try CrashRecord.armCalls(dataDirectory: config.dataDirectory)
        _ = try queue.prune(finishedBefore: now.addingTimeInterval(-config.queue.retention.seconds))
    }

    /// Records how the sync ended as the source's last sync, as the daemon records its own, so
    /// that `inlet status` and `/health` do not say "never" after a foreground sync. A dry run
    /// and a sync the user interrupted leave the previous record. How the follow-up jobs ended
    /// is not the sync's (the daemon records only its `sync` jobs too).
    func record(_ result: SyncRunner.Result, in database: InletDatabase, logger: Logger) {
        guard !result.dryRun, !(result.interrupted && result.syncStatus != .ok) else { return }
        let outcome = switch result.syncStatus {
        case .ok: "succeeded"
        case .retry: "retry"
        case .rateLimited: "rate_limited"
        case .failed: "failed"
        default: "crashed"
        }
        do {
            try database.pool.write { db in
                try SourceStatusRecorder.recordSync(
                    source: result.source, outcome: outcome, error: result.syncStatus == .ok ? nil : result.syncMessage, at: Date(), in: db)
            }
        } catch {
            logger.warning("cannot record the sync of '\(result.source)' in source_status: \(error)")
        }
    }

    /// Queues a sync job per source for the running daemon (coalesced with one already queued).
    func handOverToDaemon(_ sources: [SourceConfig], config: InletConfig) throws {
        // The daemon leases no job of a disabled source: queued, it would wait for good.
        let disabled = sources.filter { !$0.isEnabled }
        if !disabled.isEmpty {
            for source in disabled {
                printError(
                    "error: source '\(source.name)' is disabled (enabled: false at \(source.location(of: "enabled"))), so the daemon running on "
                        + "\(config.dataDirectory) does not run it: enable it and send the daemon SIGHUP, or stop the daemon to sync it here")
            }
            throw ExitCode(2)
        }
        try OperatorDatabase.refuseToMigrateUnderADaemon(config)
        let database = try openDatabase(config)
        // Nor one the daemon cannot run now (its plugin did not load, the watchdog disabled it).
        let statuses = try SourceStatusStore(database: database).all()
        let queue = JobQueue(database: database, maxSize: config.queue.maxSize)
        var queued: [[String: Any]] = []
        var failed = false
        for source in sources {
            if let why = statuses[source.name]?.disabledReason {
                failed = true
                printError("error: source '\(source.name)' cannot run in the daemon running on \(config.dataDirectory) now: \(Orchestrator.cause(why)); nothing queued")
                continue
            }
            let args = full ? #"{"full":true}"# : "{}"
            let outcome = try queue.enqueue(JobRequest(
                source: source.name, args: args, priority: JobPriority.manual,
                uniqueKey: JobRequest.syncKey(source: source.name), maxAttempts: source.retry.maxAttempts))
            switch outcome {
            case .enqueued(let id):
                queued.append(["source": source.name, "job": id, "coalesced": false])
                if !json { print("\(source.name): the daemon is running on \(config.dataDirectory): queued sync job \(id) (see `inlet jobs show \(id)`)") }
            case .coalesced(let id):
                queued.append(["source": source.name, "job": id, "coalesced": true])
                if !json { print("\(source.name): the daemon is running on \(config.dataDirectory): a sync is already queued as job \(id) (see `inlet jobs show \(id)`)") }
            case .full:
                failed = true
                printError("error: \(source.name): the daemon is running and its queue is full (queue.max_size); nothing queued")
            }
        }
        if json {
            let data = try JSONSerialization.data(withJSONObject: ["queued": queued], options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        }
        if failed { throw ExitCode(1) }
    }
}

/// The call running now, for the progress display and Ctrl-C.
final class LiveCall: Sendable {
    private let current = Mutex<PluginCall?>(nil)
    func set(_ call: PluginCall?) { current.withLock { $0 = call } }
    var call: PluginCall? { current.withLock { $0 } }
}

/// Ctrl-C (and SIGTERM) cancel the running call; a second one exits at once.
final class InterruptHandler {
    /// What the signal handlers share with the command.
    private final class State: Sendable {
        let count = Atomic<Int>(0)
        let live: LiveCall
        init(live: LiveCall) { self.live = live }
    }

    private let state: State
    private var sources: [any DispatchSourceSignal] = []

    init(live: LiveCall) {
        let state = State(live: live)
        self.state = state
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                if state.count.add(1, ordering: .relaxed).newValue > 1 { exit(130) }
                printError("\ninterrupted: cancelling (press Ctrl-C again to quit at once)")
                state.live.call?.cancel()
            }
            source.resume()
            sources.append(source)
        }
    }

    var interrupted: Bool { state.count.load(ordering: .relaxed) > 0 }

    /// `interrupted`, for a closure that may run on any thread.
    var check: @Sendable () -> Bool {
        let state = self.state
        return { state.count.load(ordering: .relaxed) > 0 }
    }

    func stop() {
        for source in sources { source.cancel() }
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
}

/// Shows the live progress line on a terminal, or logs progress every few seconds otherwise.
final class ProgressDisplay: Sendable {
    private let source: String
    private let live: LiveCall
    private let logger: Logger
    private let terminal: Bool
    private let task = Mutex<Task<Void, Never>?>(nil)

    init(source: String, live: LiveCall, logger: Logger, terminal: Bool) {
        self.source = source
        self.live = live
        self.logger = logger
        self.terminal = terminal
    }

    func start() {
        let started = ContinuousClock.now
        let handle = Task { [source, live, logger, terminal] in
            var lastLog = ContinuousClock.now
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(terminal ? 100 : 500))
                guard let call = live.call else { continue }
                let progress = call.progress
                let elapsed = ContinuousClock.now - started
                let changed = progress.emitted + progress.quarantined + progress.rejected
                if terminal {
                    let line = ProgressLine.render(done: progress.done, total: progress.total, changed: changed, elapsed: elapsed)
                    FileHandle.standardError.write(Data("\r\u{1B}[K\(source): \(line)".utf8))
                } else if ContinuousClock.now - lastLog >= .seconds(2) {
                    lastLog = ContinuousClock.now
                    logger.info(
                        "progress",
                        metadata: [
                            "source": "\(source)", "done": "\(progress.done)", "total": "\(progress.total)",
                            "changed": "\(changed)", "elapsed_s": "\(Int(elapsed.seconds))",
                        ])
                }
            }
        }
        task.withLock { $0 = handle }
    }

    func stop() {
        task.withLock { $0?.cancel() }
        if terminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}
