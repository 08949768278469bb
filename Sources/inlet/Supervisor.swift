import CInletABI
import Foundation
import InletCore
import Logging
import Synchronization

/// `inlet run` by default: a small parent process that holds data_dir's lock and runs the daemon
/// as its child, so that a plugin that crashes the daemon (plugins run in its process) does not
/// take the service down: the child is started again at once, and its start charges the crash
/// to the job whose plugin call caused it (the crash file) and gives the other jobs back
/// uncounted. SIGTERM, SIGINT and SIGHUP are passed to the child; a child that exits (0 after
/// a graceful stop, 1 or 2 on an error) ends the supervisor with its code. Killed with -9, the
/// supervisor takes the child with it (the kernel's parent-death signal).
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
            // A stop that came while the child was starting reaches it now.
            if stopping.load(ordering: .sequentiallyConsistent) { kill(pid, SIGTERM) }
            var status: Int32 = 0
            while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
            child.store(0, ordering: .sequentiallyConsistent)
            // What the dead daemon left running goes with it: the Swift runtime's crash
            // backtracer (done once the daemon is gone, yet it lingers) or a git subprocess.
            kill(-pid, SIGKILL)
            let signal = status & 0x7f
            if signal == 0 { return (status >> 8) & 0xff }
            if stopping.load(ordering: .sequentiallyConsistent) {
                logger.notice("the daemon (pid \(pid)) ended by \(JobQueue.signalName(signal)) while stopping")
                return 1
            }
            if ContinuousClock.now - started > .seconds(60) { backoff = firstBackoff }
            logger.error(
                "the daemon (pid \(pid)) died of \(JobQueue.signalName(signal)): starting it again in \(DurationFormat.string(from: backoff)) (a job whose plugin call crashed it is charged the attempt; the others go back uncounted)")
            let until = ContinuousClock.now + backoff
            while ContinuousClock.now < until {
                if stopping.load(ordering: .sequentiallyConsistent) { return 0 }
                usleep(50_000)
            }
            backoff = min(backoff * 2, longestBackoff)
        }
    }

    /// Starts this executable again with the same arguments, as the supervised daemon: default
    /// signal handling, the lock as its descriptor 3 (named in its environment), nothing else
    /// of this process's descriptors.
    private static func spawn(lockDescriptor: Int32) throws -> Int32 {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var environment = ProcessInfo.processInfo.environment
        environment[lockVariable] = "3"
        environment[parentVariable] = "\(getpid())"
        let arguments = [executable] + CommandLine.arguments.dropFirst()
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: Int32 = 0
        let result = inlet_spawn_daemon(executable, argv, envp, lockDescriptor, &pid)
        guard result == 0 else { throw SupervisorError("cannot start \(executable): \(String(cString: strerror(result)))") }
        return pid
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
        // when the supervisor and this process have.
        _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
        return lock
    }

    struct SupervisorError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}
