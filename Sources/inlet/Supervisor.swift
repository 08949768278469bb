import CInletHost
import Foundation
import InletCore
import Logging
import Synchronization

/// `inlet run` by default: a small parent process that holds data_dir's lock and runs the daemon
/// as its child, so that a plugin that crashes the daemon (plugins run in its process) does not
/// take the service down: the child is started again after a backoff (1 s, doubling to 60 s),
/// and its start charges the crash to the job whose plugin call caused it (the crash file) and
/// gives the other jobs back uncounted. SIGTERM, SIGINT and SIGHUP are passed to the child. A
/// first start that exits (1 or 2: a bad config, a port taken) or a graceful stop (0) ends the
/// supervisor with the child's code; a child that fails after a restart is started again.
/// Killed with -9, the supervisor takes the child with it (the kernel's parent-death signal).
enum Supervisor {
    /// Set in the child's environment: the descriptor of the lock the supervisor holds, and the
    /// supervisor's pid.
    static let lockVariable = "INLET_SUPERVISOR_LOCK_FD"
    static let parentVariable = "INLET_SUPERVISOR_PID"

    /// Restarts after crashes back off from 1 s to 60 s; a child that ran a minute resets it.
    static let firstBackoff = Duration.seconds(1)
    static let longestBackoff = Duration.seconds(60)

    /// Runs the daemon as a child until it exits by itself (its exit code) or is stopped.
    static func run(lock: DaemonLock, logger: Logger) async -> Int32 {
        let descriptor = lock.inheritableDescriptor
        return await withCheckedContinuation { continuation in
            // One thread for the supervisor's whole life: the kernel's parent-death signal is
            // tied to the thread that started the child, which must not end before it.
            let thread = Thread { continuation.resume(returning: supervise(lockDescriptor: descriptor, logger: logger)) }
            thread.name = "inlet-supervisor"
            thread.start()
        }
    }

    private static func supervise(lockDescriptor: Int32, logger: Logger) -> Int32 {
        let child = Atomic<Int32>(0)
        let stopping = Atomic<Bool>(false)
        // waitpid needs SIGCHLD at its default (a parent may have left it ignored).
        signal(SIGCHLD, SIG_DFL)
        var sources: [any DispatchSourceSignal] = []
        for number in [SIGTERM, SIGINT, SIGHUP] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                if number != SIGHUP { stopping.store(true, ordering: .sequentiallyConsistent) }
                let pid = child.load(ordering: .sequentiallyConsistent)
                if pid > 0 { kill(pid, number) }
            }
            source.resume()
            sources.append(source)
        }
        defer { for source in sources { source.cancel() } }

        var backoff = firstBackoff
        var restarts = 0
        while true {
            let started = ContinuousClock.now
            let pid: Int32
            do {
                pid = try spawn(lockDescriptor: lockDescriptor)
            } catch {
                logger.error("cannot start the daemon: \(error)")
                return 1
            }
            child.store(pid, ordering: .sequentiallyConsistent)
            var status: Int32 = 0
            var stopSent: ContinuousClock.Instant?
            while true {
                // The daemon ignores SIGTERM until its handlers are in place: a stop is sent
                // again every second until it takes.
                if stopping.load(ordering: .sequentiallyConsistent), stopSent.map({ ContinuousClock.now - $0 >= .seconds(1) }) ?? true {
                    kill(pid, SIGTERM)
                    stopSent = ContinuousClock.now
                }
                let reaped = waitpid(pid, &status, WNOHANG)
                if reaped == pid { break }
                if reaped == -1 && errno != EINTR {
                    logger.error("cannot wait for the daemon (pid \(pid)): \(String(cString: strerror(errno)))")
                    child.store(0, ordering: .sequentiallyConsistent)
                    return 1
                }
                usleep(20_000)
            }
            child.store(0, ordering: .sequentiallyConsistent)
            // What the dead daemon left running goes with it: the Swift runtime's crash
            // backtracer (done once the daemon is gone, yet it lingers) or a git subprocess.
            kill(-pid, SIGKILL)
            let signal = status & 0x7f
            let code = (status >> 8) & 0xff
            if stopping.load(ordering: .sequentiallyConsistent) {
                // Stopped as asked: by its own graceful stop (its code), or by the signal itself.
                return signal == 0 ? code : (signal == SIGTERM || signal == SIGINT ? 0 : 1)
            }
            // The first start's answer is the command's (a bad config, a port taken); after a
            // crash the service is kept up: a config broken meanwhile waits to be fixed.
            if signal == 0 && (restarts == 0 || code == 0) { return code }
            if ContinuousClock.now - started > .seconds(60) { backoff = firstBackoff }
            let why = signal == 0
                ? "exited with code \(code) after a restart (its error is above)"
                : [SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS].contains(signal)
                    ? "died of \(JobQueue.signalName(signal)) (a job whose plugin call crashed it is charged the attempt; the others go back uncounted)"
                    : "died of \(JobQueue.signalName(signal)) (the jobs whose plugin calls had started are charged an attempt; those leased ahead go back uncounted)"
            logger.error("the daemon (pid \(pid)) \(why): starting it again in \(DurationFormat.string(from: backoff))")
            // `inlet status` says so meanwhile.
            let next = Date().addingTimeInterval(backoff.seconds)
            let brief = signal == 0 ? "it exited with code \(code)" : "it died of \(JobQueue.signalName(signal))"
            DaemonLock.describe(
                descriptor: lockDescriptor, role: .daemon,
                restarting: "restarting: \(brief) at \(Date().formatted(.iso8601)); next start at \(next.formatted(.iso8601))")
            defer { DaemonLock.describe(descriptor: lockDescriptor, role: .daemon) }
            let until = ContinuousClock.now + backoff
            while ContinuousClock.now < until {
                if stopping.load(ordering: .sequentiallyConsistent) { return 0 }
                usleep(50_000)
            }
            backoff = min(backoff * 2, longestBackoff)
            restarts += 1
        }
    }

    /// Starts this executable again with the same arguments, as the supervised daemon: default
    /// signal handling, the lock as its descriptor 3 (named in its environment), nothing else
    /// of this process's descriptors. `/proc/self/exe` itself, so that a binary replaced by an
    /// upgrade restarts the build that is running.
    private static func spawn(lockDescriptor: Int32) throws -> Int32 {
        var environment = ProcessInfo.processInfo.environment
        environment[lockVariable] = "3"
        environment[parentVariable] = "\(getpid())"
        // The runtime's crash backtrace without its interactive prompt, which would wait on a
        // terminal for good (the daemon runs in a process group of its own).
        if environment["SWIFT_BACKTRACE"] == nil { environment["SWIFT_BACKTRACE"] = "interactive=no" }
        let arguments = CommandLine.arguments
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: Int32 = 0
        let result = inlet_spawn_daemon("/proc/self/exe", argv, envp, lockDescriptor, &pid)
        guard result == 0 else { throw SupervisorError("cannot start /proc/self/exe: \(String(cString: strerror(result)))") }
        return pid
    }

    /// Whether this process is a daemon a supervisor started (it then never supervises).
    static var isSupervised: Bool { ProcessInfo.processInfo.environment[parentVariable] != nil }

    /// In the child, first thing: the stop and reload signals are ignored until the daemon's
    /// handlers take them (the supervisor sends a stop again until it takes).
    static func holdSignals() {
        for number in [SIGTERM, SIGINT, SIGHUP] { signal(number, SIG_IGN) }
    }

    /// In the child: the supervisor's lock, and the kernel's promise to end this process with
    /// the supervisor. Nil when this process was not started by a supervisor.
    static func adoptLock(dataDirectory: String) -> DaemonLock? {
        let environment = ProcessInfo.processInfo.environment
        guard let text = environment[lockVariable], let descriptor = Int32(text),
            let parent = environment[parentVariable].flatMap(Int32.init),
            let lock = DaemonLock(inherited: descriptor, dataDirectory: dataDirectory)
        else { return nil }
        if inlet_die_with_parent(parent) != 0 { exit(1) }  // the supervisor is already gone
        // Not handed on to what this process starts (git, a crash backtracer): the lock must go
        // when the supervisor and this process have. Nor are the variables.
        _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
        unsetenv(lockVariable)
        unsetenv(parentVariable)
        return lock
    }

    struct SupervisorError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}
