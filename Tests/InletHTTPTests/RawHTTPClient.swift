import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A few lines of HTTP/1.1 over a plain TCP socket: requests no client library would send (a
/// chunked body with no Content-Length that never ends within the limit).
struct RawHTTPClient {
    let port: Int

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// `sendChunked` on a thread of its own: its blocking socket calls must never hold one of the
    /// few threads of Swift's cooperative pool, which the server under test needs.
    func sendChunkedOnThread(head: String, chunks: [[UInt8]], framed: Bool = true) async throws -> (status: Int?, response: String, sent: Int) {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(with: Result { try sendChunked(head: head, chunks: chunks, framed: framed) })
            }
            thread.start()
        }
    }

    /// Sends `head` then `chunks` as a chunked body, stopping early when the server answers or
    /// closes; returns the status line's code and everything read, and how many body bytes went out.
    func sendChunked(head: String, chunks: some Sequence<[UInt8]>, framed: Bool = true) throws -> (status: Int?, response: String, sent: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw Failure(description: "connect: \(errno)") }
        var response: [UInt8] = []
        func sendAll(_ bytes: [UInt8]) -> Bool {
            var offset = 0
            while offset < bytes.count {
                let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if n <= 0 { return false }
                offset += n
            }
            return true
        }
        func readAvailable(wait milliseconds: Int32) -> Bool {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            var any = false
            while poll(&poller, 1, any ? 50 : milliseconds) > 0 {
                var buffer = [UInt8](repeating: 0, count: 65536)
                let n = recv(fd, &buffer, buffer.count, 0)
                if n <= 0 { break }
                response += buffer[0..<n]
                any = true
            }
            return any
        }
        var sent = 0
        if sendAll(Array(head.utf8)) {
            for chunk in chunks {
                let bytes = framed ? Array(String(chunk.count, radix: 16).utf8) + [13, 10] + chunk + [13, 10] : chunk
                guard sendAll(bytes) else { break }
                sent += chunk.count
                if readAvailable(wait: 0) { break }
            }
        }
        if response.isEmpty { _ = readAvailable(wait: 5000) }
        let text = String(decoding: response, as: UTF8.self)
        let status = text.split(separator: " ", maxSplits: 2).dropFirst().first.flatMap { Int($0) }
        return (status, text, sent)
    }
}
