import CInletHost
import Foundation

/// Runs blocking plugin calls on threads of their own, never on Swift's cooperative pool: a
/// plugin that blocks (disk, network, a subprocess, a bug) then holds only its own thread.
///
/// Threads are kept and reused (creating one per call costs more than a no-op job); the pool
/// grows to the peak number of concurrent calls, and a call that never returns keeps its thread
/// while the others are served by new ones.
package enum PluginThread {
    /// Stack size of a plugin thread: plugins written in C may recurse (directory walks).
    static let stackSize = 8 << 20

    /// Runs `body` on a plugin thread and resumes when it returns.
    package static func run<T: Sendable>(name: String, _ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            pool.submit { continuation.resume(returning: body()) }
        }
    }

    static let pool = PluginThreadPool()
}

/// The threads behind ``PluginThread``.
final class PluginThreadPool: Sendable {
    // NSCondition guards `pending` and `idle` (Foundation marks it Sendable); every access below
    // happens with it locked.
    private let condition = NSCondition()
    private nonisolated(unsafe) var pending: [@Sendable () -> Void] = []
    private nonisolated(unsafe) var idle = 0
    private nonisolated(unsafe) var spawned = 0

    func submit(_ work: @escaping @Sendable () -> Void) {
        condition.lock()
        pending.append(work)
        // Each pending item needs a waiting thread; with fewer, start one more.
        let spawn = idle < pending.count
        if spawn { spawned += 1 } else { condition.signal() }
        let number = spawned
        condition.unlock()
        if spawn {
            let thread = Thread { [self] in serve() }
            thread.name = "inlet-plugin-\(number)"
            thread.stackSize = PluginThread.stackSize
            thread.start()
        }
    }

    private func serve() {
        // A plugin that overflows this thread's stack is still traced to its job.
        inlet_crash_prepare_thread()
        while true {
            condition.lock()
            idle += 1
            while pending.isEmpty { condition.wait() }
            idle -= 1
            let work = pending.removeFirst()
            condition.unlock()
            work()
        }
    }
}
