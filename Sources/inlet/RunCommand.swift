import ArgumentParser
import Foundation
import InletCore
import InletHTTP
import Logging
import Metrics
import Prometheus
import ServiceLifecycle

/// `inlet run`: the daemon.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the daemon: every source on its schedule, through one durable job queue.",
        discussion: """
            Jobs live in data_dir/inlet.db and survive kill -9: at the next start, jobs that were \
            running run again (the cut-short attempt counts) and nothing committed is lost. \
            SIGTERM/SIGINT stop leasing, let running jobs finish within shutdown_grace, give the \
            rest back and exit 0. SIGHUP re-reads the config; a bad one is refused and the old \
            one keeps running. One daemon per data_dir (a lock file enforces it). If the HTTP \
            server cannot listen on `listen`, the daemon stops the same way and exits 1.

            Plugins run in the daemon's process. The daemon runs as the child of a small \
            supervisor (this process): when a plugin crashes it, it is started again (after 1 s, \
            backing off to 60 s while it keeps crashing), the crashed attempt is charged to the \
            job whose plugin call crashed it, and the other jobs it held go back uncounted.

            The HTTP server listens on `listen` (default 127.0.0.1:8080): POST \
            /webhooks/SOURCE (signed GitHub deliveries, stored before the answer), GET /health, \
            GET /metrics (Prometheus) and, with admin.token set, the admin API under /v1.
            """
    )

    @OptionGroup var options: ConfigOptions

    @Flag(help: ArgumentHelp(
        "Run the daemon in this process, without the supervisor that starts it again when a plugin crashes it.",
        discussion: "For a service manager that restarts it itself (systemd's Restart=on-failure, a container's restart policy)."))
    var noSupervisor = false

    func run() async throws {
        let supervised = Supervisor.isSupervised
        if supervised { Supervisor.holdSignals() }
        let config = try options.load()
        try options.bootstrapLogging(config)
        MemoryTuning.keepFreedMemoryMapped()
        let logger = Logger(label: "inlet")

        let lock: DaemonLock
        if let adopted = Supervisor.adoptLock(dataDirectory: config.dataDirectory) {
            // Started by the supervisor, which holds data_dir's lock for this process.
            lock = adopted
        } else {
            do {
                lock = try DaemonLock(dataDirectory: config.dataDirectory, role: .daemon)
            } catch {
                printError("error: \(error)")
                throw ExitCode(1)
            }
            // A supervised daemon whose data_dir changed (a config edited since) runs unsupervised
            // under its supervisor rather than start a second supervisor.
            if !noSupervisor && !supervised {
                let code = await Supervisor.run(lock: lock, logger: logger)
                withExtendedLifetime(lock) {}
                if code != 0 { throw ExitCode(code) }
                return
            }
        }
        defer { withExtendedLifetime(lock) {} }

        let database = try openDatabase(config)
        // A plugin call that crashes this process names its job in data_dir's crash file first.
        do {
            try CrashRecord.arm(dataDirectory: config.dataDirectory)
        } catch {
            logger.warning("crashes will not be traced to their job: \(error)")
        }
        // And the job of every call it starts, so that after a kill the jobs leased ahead of
        // their workers go back uncounted.
        do {
            try CrashRecord.armCalls(dataDirectory: config.dataDirectory)
        } catch {
            logger.warning("after a kill, every job this process holds will be charged an attempt: \(error)")
        }
        // Commits never wait for a checkpoint: a thread of its own copies the WAL back.
        let checkpointer = try BackgroundCheckpointer(pool: database.pool)
        defer { checkpointer.stop() }
        // Every metric goes to one Prometheus registry, which GET /metrics renders.
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory.inlet(registry: registry))
        let configured = ConfiguredSources(config: config)
        for failure in configured.catalog.failures { logger.warning("\(failure)") }
        for problem in configured.problems { logger.error("\(problem)") }

        let clock = SystemScheduleClock()
        let wakeup = Wakeup()
        let queue = JobQueue(database: database, maxSize: config.queue.maxSize)
        // One HTTP service for every source's `host->http`: shared connections, the ETag cache in
        // the database, rate limits, and upstream failures fed to each source's breaker.
        let http = HTTPService(database: database, clock: clock)
        let orchestrator = Orchestrator(
            sources: configured, database: database, clock: clock, logger: logger, wakeup: wakeup, http: http)
        let owner = "\(ProcessInfo.processInfo.hostName):\(getpid()):\(UUID().uuidString.prefix(8))"
        let runner = JobRunner(queue: queue, clock: clock, logger: logger, watchdog: config.watchdog)
        let pool = WorkerPool(
            orchestrator: orchestrator, queue: queue, runner: runner, wakeup: wakeup, workers: config.workers, owner: owner,
            shutdownGrace: config.shutdownGrace, clock: clock, logger: logger)
        let scheduler = SchedulerService(
            config: config, unrunnable: Set(configured.problems.map(\.source)), queue: queue, database: database, clock: clock,
            logger: logger)
        let maintenance = QueueMaintenance(queue: queue, retention: config.queue.retention, clock: clock, logger: logger)
        let live = LiveConfig(config)
        let surface = HTTPSurface(
            config: live, queue: queue, committer: GroupCommitter(database: database), registry: registry,
            runtime: { await orchestrator.snapshot() }, availability: orchestrator.availability, wakeup: wakeup, logger: logger)
        let listen = config.listen
        let server = surface.service(listen: listen) { port in
            logger.notice("HTTP server listening on \(listen.host):\(port)")
        }
        let configPath = options.configPath
        let reload = ReloadService(logger: logger) {
            let fresh: InletConfig
            do {
                fresh = try ConfigLoader.load(path: configPath)
            } catch let error as ConfigErrors {
                return error.errors.map(\.description)
            } catch {
                return ["\(error)"]
            }
            let reconfigured = ConfiguredSources(config: fresh)
            if !reconfigured.problems.isEmpty { return reconfigured.problems.map(\.description) }
            await orchestrator.reload(reconfigured)
            scheduler.reload(fresh)
            queue.setMaxSize(fresh.queue.maxSize)
            // Against what is in force: the start-up values, not the last reload's (a key changed
            // and changed back is in force again; one changed twice is still not).
            let running = config
            let restartOnly = [
                ("listen", fresh.listen != running.listen), ("data_dir", fresh.dataDirectory != running.dataDirectory),
                ("workers", fresh.workers != running.workers), ("shutdown_grace", fresh.shutdownGrace != running.shutdownGrace),
                ("watchdog", fresh.watchdog != running.watchdog), ("log", fresh.log != running.log),
                ("queue.retention", fresh.queue.retention != running.queue.retention),
                ("queue.synchronous", fresh.queue.synchronous != running.queue.synchronous),
            ].filter(\.1).map(\.0)
            if !restartOnly.isEmpty {
                logger.warning("\(restartOnly.joined(separator: ", ")) differs from what the daemon started with: takes effect at the next restart")
            }
            live.update(fresh)
            return []
        }

        logger.notice(
            "inlet running: \(config.sources.count) source(s), \(config.workers) worker(s), database \(database.path)",
            metadata: ["owner": "\(owner)"])
        // A service that fails (the port is taken) stops the daemon as SIGTERM does, then exits 1.
        let group = DaemonGroup.make(
            services: [pool, scheduler, maintenance, reload, server], signals: [.sigterm, .sigint], logger: logger)
        do {
            try await group.run()
        } catch {
            logger.error("inlet stopped: \(error)")
            throw ExitCode(1)
        }
        logger.notice("inlet stopped")
    }
}

/// One daemon (or foreground sync) per data_dir: an exclusive `flock` on `data_dir/inlet.lock`,
/// held for the process's life (the kernel releases it when the process dies, even by kill -9).
/// The file names its holder (pid and role), so a process that finds it held can tell a daemon,
/// which takes queued jobs, from another foreground sync, which does not.
final class DaemonLock {
    /// Who holds the lock.
    enum Role: String {
        case daemon = "run"
        case sync
    }

    private let descriptor: Int32
    /// False for the lock a supervised daemon inherited: its supervisor empties the file.
    private let owned: Bool

    /// The lock a supervisor holds for its daemon, passed down as an open descriptor (not closed
    /// on exec); nil unless `descriptor` is data_dir's lock file.
    init?(inherited descriptor: Int32, dataDirectory: String) {
        let path = (dataDirectory as NSString).appendingPathComponent("inlet.lock")
        var held = stat()
        var named = stat()
        guard fstat(descriptor, &held) == 0, stat(path, &named) == 0, held.st_dev == named.st_dev, held.st_ino == named.st_ino
        else { return nil }
        self.descriptor = descriptor
        self.owned = false
    }

    /// The descriptor of the held lock, for a supervisor to pass to its daemon.
    var inheritableDescriptor: Int32 { descriptor }

    init(dataDirectory: String, role: Role) throws {
        do {
            try Directory.create(dataDirectory)
        } catch {
            throw LockError("data_dir: \(error)")
        }
        owned = true
        let path = (dataDirectory as NSString).appendingPathComponent("inlet.lock")
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw LockError("cannot open \(path): \(String(cString: strerror(errno)))") }
        // A holder whose named process is gone is a supervised daemon the kernel is killing with
        // its supervisor (kill -9 of `inlet run`): its lock goes within moments.
        var tries = 0
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0, tries < 100,
            let holder = Holder(file: path), kill(holder.pid, 0) != 0, errno == ESRCH
        {
            tries += 1
            usleep(50_000)
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            let holder = Holder(file: path)
            let who = switch holder?.role {
            case .daemon: "`inlet run`"
            case .sync: "`inlet sync`"
            case nil: "another `inlet run` (or `inlet sync`)"
            }
            let pid = holder.map { " (pid \($0.pid))" } ?? ""
            throw LockError("\(who)\(pid) is using \(dataDirectory) (\(path) is locked)", holder: holder, isHeld: true)
        }
        Self.describe(descriptor: descriptor, role: role)
    }

    deinit {
        // Emptied on the way out: a later reader finds no holder (after kill -9 the pid it
        // names is dead, which `runningDaemon` checks).
        if owned { _ = ftruncate(descriptor, 0) }
        close(descriptor)
    }

    /// The `inlet run` holding `dataDirectory` now, as its lock file tells (pid alive, role
    /// `run`), without taking the lock: taken even briefly, it would make a daemon starting
    /// at that moment refuse to.
    static func runningDaemon(dataDirectory: String) -> Holder? {
        running(.daemon, dataDirectory: dataDirectory)
    }

    /// The process in `role` holding `dataDirectory` now, as its lock file tells (pid alive).
    static func running(_ role: Role, dataDirectory: String) -> Holder? {
        let path = (dataDirectory as NSString).appendingPathComponent("inlet.lock")
        guard let holder = Holder(file: path), holder.role == role else { return nil }
        return kill(holder.pid, 0) == 0 || errno == EPERM ? holder : nil
    }

    /// What a held lock file says of its holder: its pid, then its role, a line each. Nil when
    /// it cannot be read (the holder has only just taken it and not yet written).
    struct Holder {
        var pid: Int32
        var role: Role?
        /// A third line a supervisor writes while its daemon is down between two starts.
        var restarting: String?

        init?(file: String) {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return nil }
            let lines = text.split(separator: "\n")
            guard let first = lines.first, let pid = Int32(first) else { return nil }
            self.pid = pid
            role = lines.dropFirst().first.flatMap { Role(rawValue: String($0)) }
            restarting = lines.dropFirst(2).first.map(String.init)
        }
    }

    /// Rewrites the holder's lines of the lock file open as `descriptor`: this process's pid,
    /// `role`, and `restarting` when its daemon is down between two starts.
    static func describe(descriptor: Int32, role: Role, restarting: String? = nil) {
        // Written over the old text, then cut to length: a reader never sees the file empty.
        let text = "\(getpid())\n\(role.rawValue)\n" + (restarting.map { "\($0)\n" } ?? "")
        let length = text.utf8.count
        _ = text.withCString { pwrite(descriptor, $0, length, 0) }
        _ = ftruncate(descriptor, off_t(length))
    }

    struct LockError: Error, CustomStringConvertible {
        var description: String
        /// Who holds it, as far as its file tells.
        var holder: Holder?
        /// Another process holds the lock (as opposed to a folder that cannot be used).
        var isHeld = false
        init(_ description: String, holder: Holder? = nil, isHeld: Bool = false) {
            self.description = description
            self.holder = holder
            self.isHeld = isHeld
        }
    }
}
