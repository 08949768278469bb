import CInletABI
import Foundation
import Logging
import Synchronization

@testable import InletCore

/// Calls `host->http` of the host's real service table, as a C plugin does, on a plugin thread.
enum HostHTTP {
    /// What `host->http` returned and filled.
    struct Outcome: Sendable {
        var status: PluginStatus
        var httpStatus: Int
        var flags: UInt32
        var retryAfterMilliseconds: UInt64
        var headerText: String
        var body: [UInt8]
        /// The message the host put on the call for a non-OK status.
        var error: String?
        var errorRetryAfterMilliseconds: UInt64?
        /// The byte after each filled buffer's `len` is NUL (the host's promise to C readers).
        var buffersNULTerminated: Bool

        var notModified: Bool { flags & INLET_HTTP_NOT_MODIFIED != 0 }
        var text: String { String(decoding: body, as: UTF8.self) }
        /// Header lines as the host wrote them, split.
        var headers: [(name: String, value: String)] {
            headerText.split(separator: "\n").map { line in
                let colon = line.firstIndex(of: ":")!
                return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
            }
        }
        func header(_ name: String) -> String? { headers.first { $0.name == name }?.value }
    }

    static func perform(
        _ call: PluginCall, method: String? = nil, url: String, headers: String? = nil, body: [UInt8]? = nil, flags: UInt32 = 0,
        timeoutMilliseconds: UInt32 = 0, requestSize: Int = MemoryLayout<inlet_http_request>.size,
        responseSize: Int = MemoryLayout<inlet_http_response>.size
    ) async -> Outcome {
        await PluginThread.run(name: "test-http") {
            let handle = HostServices.open(call)
            defer { HostServices.close(handle) }
            let table = HostServices.table.pointee
            var out = inlet_http_response()
            out.struct_size = UInt32(responseSize)
            let status = optionalCString(method) { methodPointer in
                url.withCString { urlPointer in
                    optionalCString(headers) { headerPointer in
                        optionalBytes(body) { bodyPointer, bodyCount in
                            var request = inlet_http_request(
                                struct_size: UInt32(requestSize), flags: flags, method: methodPointer, url: urlPointer,
                                headers: headerPointer, headers_len: headerPointer.map { strlen($0) } ?? 0,
                                body: bodyPointer, body_len: bodyCount, timeout_ms: timeoutMilliseconds, reserved: 0)
                            return table.http!(handle, &request, &out)
                        }
                    }
                }
            }
            let headerBytes = out.headers.data.map { Array(UnsafeBufferPointer(start: $0, count: out.headers.len)) } ?? []
            let bodyBytes = out.body.data.map { Array(UnsafeBufferPointer(start: $0, count: out.body.len)) } ?? []
            let terminated = [out.headers, out.body].allSatisfy { buffer in buffer.data.map { $0[buffer.len] == 0 } ?? true }
            table.buffer_free(handle, &out.headers)
            table.buffer_free(handle, &out.body)
            let reported = status == INLET_OK ? nil : call.reportedError
            return Outcome(
                status: PluginStatus(rawValue: status), httpStatus: Int(out.status), flags: out.flags,
                retryAfterMilliseconds: out.retry_after_ms, headerText: String(decoding: headerBytes, as: UTF8.self), body: bodyBytes,
                error: reported?.message, errorRetryAfterMilliseconds: reported?.retryAfterMilliseconds,
                buffersNULTerminated: terminated)
        }
    }

    private static func optionalCString<R>(_ string: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
        guard let string else { return body(nil) }
        return string.withCString { body($0) }
    }

    private static func optionalBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafePointer<UInt8>?, Int) -> R) -> R {
        guard let bytes else { return body(nil, 0) }
        return bytes.withUnsafeBufferPointer { body($0.baseAddress, $0.count) }
    }
}

/// Log lines captured in memory (message and metadata), for tests that check what is logged.
final class CapturedLogs: Sendable {
    private let lines = Mutex<[String]>([])

    var all: [String] { lines.withLock { $0 } }

    func logger(label: String = "captured") -> Logger {
        var logger = Logger(label: label) { _ in Handler(sink: self) }
        logger.logLevel = .trace
        return logger
    }

    fileprivate func append(_ line: String) { lines.withLock { $0.append(line) } }

    private struct Handler: LogHandler {
        let sink: CapturedLogs
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let all = metadata.merging(event.metadata ?? [:]) { $1 }
            let rendered = all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            sink.append("\(event.level) \(event.message) \(rendered)")
        }
    }
}
