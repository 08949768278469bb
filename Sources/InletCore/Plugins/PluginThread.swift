import Foundation

/// Runs blocking plugin calls on threads of their own, never on Swift's cooperative pool: a
/// plugin that blocks (disk, network, a subprocess, a bug) then holds only its own thread.
package enum PluginThread {
    /// Stack size of a plugin thread: plugins written in C may recurse (directory walks).
    static let stackSize = 8 << 20

    /// Runs `body` on a new thread and resumes when it returns.
    package static func run<T: Sendable>(name: String, _ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: body()) }
            thread.name = name
            thread.stackSize = stackSize
            thread.start()
        }
    }
}
