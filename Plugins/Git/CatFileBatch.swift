import Foundation
import InletPluginKit

/// One long-lived `git cat-file --batch` process per sync: a blob id in, its bytes out, without a
/// process per file.
final class CatFileBatch {
    private let process: Process
    private let inputDescriptor: Int32
    private var inputOpen = true
    private let outputDescriptor: Int32
    /// Read-ahead from git's output: bytes `start..<end` are unread.
    private static let capacity = 256 * 1024
    private let storage = UnsafeMutablePointer<UInt8>.allocate(capacity: CatFileBatch.capacity)
    private var start = 0
    private var end = 0
    private let stderrSink = ByteSink()

    /// Starts the process on the mirror.
    /// - Throws: ``ConnectorError`` (retry) when git cannot be started.
    init(git: GitCommand) throws {
        process = git.process(["cat-file", "--batch"])
        // Requests travel over a socket, not a pipe: `send(MSG_NOSIGNAL)` turns a git that died
        // into an error instead of a SIGPIPE that would kill the whole daemon.
        var sockets: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &sockets) == 0 else {
            throw ConnectorError.retry("git: socketpair failed: \(String(cString: strerror(errno)))")
        }
        let childInput = FileHandle(fileDescriptor: sockets[1], closeOnDealloc: true)
        inputDescriptor = sockets[0]
        let stdout = Pipe(), stderr = Pipe()
        process.standardInput = childInput
        process.standardOutput = stdout
        process.standardError = stderr
        do {
            try process.run()
        } catch {
            Foundation.close(sockets[0])
            throw ConnectorError.retry("git: cannot run cat-file: \(error)")
        }
        // The child has its copy; ours must go, or git would never see the end of its input.
        try? childInput.close()
        outputDescriptor = stdout.fileHandleForReading.fileDescriptor
        // A larger pipe lets git run further ahead of the reader (Linux; a failure is harmless).
        _ = fcntl(outputDescriptor, 1031 /* F_SETPIPE_SZ, not exported by Glibc's module */, 1 << 20)
        let errorDescriptor = stderr.fileHandleForReading.fileDescriptor
        let sink = stderrSink
        sink.done.enter()
        Thread {
            sink.bytes = readAll(errorDescriptor)
            sink.done.leave()
        }.start()
        // Keep the pipes' read ends alive as long as this object (the handles close on deinit).
        pipes = [stdout, stderr]
    }

    private var pipes: [Pipe] = []

    /// A blob's bytes: all of them, or (with `limit`) the first `limit` while the rest is read and
    /// dropped; `size` is always the whole size. Only when no ``request(_:)`` answers are pending.
    /// - Throws: ``ConnectorError`` (retry) when the object is missing or git died.
    func read(_ sha: String, limit: Int = .max) throws -> (bytes: [UInt8], size: Int) {
        precondition(pendingAnswers == 0, "read while requested answers are pending")
        try sendAll(Array("\(sha)\n".utf8))
        pendingAnswers += 1
        return try answer(sha, limit: limit)
    }

    /// Sends many requests at once from a thread of its own, so git never waits for the next one
    /// (it inflates the next blob while the caller stores the last); read the answers with
    /// ``answer(_:limit:)`` in the same order.
    func request(_ shas: [String]) {
        guard !shas.isEmpty else { return }
        pendingAnswers += shas.count
        let payload = Array((shas.joined(separator: "\n") + "\n").utf8)
        let descriptor = inputDescriptor
        let writer = writerDone
        writer.enter()
        Thread {
            // A failed send (git died) shows up on the reading side as an early end of output.
            _ = try? CatFileBatch.send(payload, to: descriptor)
            writer.leave()
        }.start()
    }

    /// The answer to the next pending request, which must be for `sha`.
    func answer(_ sha: String, limit: Int = .max) throws -> (bytes: [UInt8], size: Int) {
        let header = try readLine()
        // "<sha> blob <size>" or "<sha> missing"
        let parts = header.split(separator: " ")
        guard parts.count == 3, parts[0] == sha, let size = Int(parts[2]) else {
            throw ConnectorError.retry("git cat-file: unexpected answer for \(sha): \(header)")
        }
        let kept = try readBytes(min(size, limit))
        if size > kept.count { try skipBytes(size - kept.count) }
        try skipBytes(1)  // the newline after the content
        pendingAnswers -= 1
        return (kept, size)
    }

    /// Answers requested and not read yet.
    private var pendingAnswers = 0
    private let writerDone = DispatchGroup()

    /// Ends the process (closes its input and waits).
    func close() {
        // Answers left unread would keep git (and so the writer thread) blocked forever.
        if pendingAnswers > 0, process.isRunning { process.terminate() }
        writerDone.wait()
        if inputOpen {
            Foundation.close(inputDescriptor)
            inputOpen = false
        }
        process.waitUntilExit()
        stderrSink.done.wait()
    }

    deinit {
        close()
        storage.deallocate()
    }

    private func sendAll(_ bytes: [UInt8]) throws {
        do {
            try Self.send(bytes, to: inputDescriptor)
        } catch {
            throw ConnectorError.retry("git cat-file: cannot write: \(error); \(stderrText)")
        }
    }

    private static func send(_ bytes: [UInt8], to descriptor: Int32) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Foundation.send(descriptor, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if written < 0 {
                if errno == EINTR { continue }
                throw ConnectorError.retry(String(cString: strerror(errno)))
            }
            offset += written
        }
    }

    private var stderrText: String {
        String(decoding: stderrSink.bytes, as: UTF8.self)
    }

    private var available: Int { end - start }

    /// Reads more bytes after `end`; false at end of file.
    private func fill() throws -> Bool {
        if start == end {
            start = 0
            end = 0
        } else if end == Self.capacity {
            // Only a header line can straddle the buffer's end: move the unread part to the front.
            memmove(storage, storage + start, end - start)
            end -= start
            start = 0
        }
        var count = 0
        repeat {
            count = Foundation.read(outputDescriptor, storage + end, Self.capacity - end)
        } while count < 0 && errno == EINTR
        if count < 0 { throw ConnectorError.retry("git cat-file: cannot read: \(String(cString: strerror(errno)))") }
        end += count
        return count > 0
    }

    private func readLine() throws -> String {
        var scanned = start
        while true {
            if let found = memchr(storage + scanned, Int32(UInt8(ascii: "\n")), end - scanned) {
                let newline = storage.distance(to: found.assumingMemoryBound(to: UInt8.self))
                let line = String(decoding: UnsafeBufferPointer(start: storage + start, count: newline - start), as: UTF8.self)
                start = newline + 1
                return line
            }
            let offset = end - start
            guard try fill() else { throw ConnectorError.retry("git cat-file ended early; \(stderrText)") }
            scanned = start + offset
        }
    }

    private func readBytes(_ count: Int) throws -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(count)
        while result.count < count {
            if available == 0, try !fill() { throw ConnectorError.retry("git cat-file ended early") }
            let take = min(available, count - result.count)
            result.append(contentsOf: UnsafeBufferPointer(start: storage + start, count: take))
            start += take
        }
        return result
    }

    private func skipBytes(_ count: Int) throws {
        var left = count
        while left > 0 {
            if available == 0, try !fill() { throw ConnectorError.retry("git cat-file ended early") }
            let take = min(available, left)
            start += take
            left -= take
        }
    }
}
