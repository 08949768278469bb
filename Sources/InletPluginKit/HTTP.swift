import CInletABI
import Foundation

/// One request a connector makes through the host's HTTP service (ABI 1.1).
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: String
    /// Header lines in order; the host never logs their values (put tokens here freely).
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]?
    /// The whole exchange; `nil` for the host's default (30 s).
    public var timeout: Duration?
    /// False for answers not worth caching (immutable or large bodies such as blobs by SHA):
    /// the host then neither sends validators nor stores the answer.
    public var cacheable: Bool

    public init(
        method: String = "GET", url: String, headers: [(name: String, value: String)] = [],
        body: [UInt8]? = nil, timeout: Duration? = nil, cacheable: Bool = true
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.cacheable = cacheable
    }
}

/// The host's answer to an ``HTTPRequest``.
public struct HTTPResponse: Sendable {
    public var status: Int
    /// Header lines of the final answer, names in lowercase, in the order received.
    public var headerLines: [(name: String, value: String)]
    public var body: [UInt8]
    /// The server answered 304 to the host's conditional request: this is the cached answer.
    /// A cached answer may predate the connector's last checkpoint: compare its content.
    public var notModified: Bool

    public init(status: Int, headerLines: [(name: String, value: String)], body: [UInt8], notModified: Bool) {
        self.status = status
        self.headerLines = headerLines
        self.body = body
        self.notModified = notModified
    }

    /// The value of a header (case-insensitive); repeated headers are joined with ", ".
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        let values = headerLines.filter { $0.name == wanted }.map(\.value)
        return values.isEmpty ? nil : values.joined(separator: ", ")
    }

    /// The body as UTF-8 text.
    public var text: String { String(decoding: body, as: UTF8.self) }

    /// True for 2xx.
    public var isSuccess: Bool { (200..<300).contains(status) }
}

extension InletHost {
    /// True when this host offers ``http(_:)`` (ABI 1.1 or later).
    public var hasHTTP: Bool {
        table.pointee.abi_version >= UInt32(1 << 16 | 1) && table.pointee.http != nil
    }

    /// Makes one HTTP request through the host: shared connections, the source's ETag cache,
    /// rate-limit accounting and circuit breaker, the same for every connector.
    ///
    /// Any answer, 4xx and 5xx included, is returned.
    /// - Throws: ``ConnectorError`` `.rateLimited` when the source's budget is spent (nothing was
    ///   sent, or the server refused with a rate limit), `.retry` on network errors, timeouts and
    ///   cancellation, `.failed` for a malformed request or a host without HTTP (ABI 1.0). The
    ///   host has already explained the status on the call, so rethrowing is enough.
    public func http(_ request: HTTPRequest) throws -> HTTPResponse {
        guard hasHTTP, let http = table.pointee.http else {
            throw ConnectorError.failed("this inlet host has no HTTP service (ABI 1.1 or later is needed)")
        }
        var headerText = ""
        for (name, value) in request.headers {
            // A line break would smuggle a second header in: refuse it here, naming the header.
            guard !name.isEmpty, !name.contains(where: { $0.isNewline || $0 == ":" }), !value.contains(where: \.isNewline) else {
                throw ConnectorError.failed("HTTP header '\(name.prefix(64))' has an empty name, a colon in its name, or a line break")
            }
            headerText += "\(name): \(value)\n"
        }
        let timeoutMilliseconds: UInt32 = request.timeout.map { duration in
            let (seconds, attoseconds) = duration.components
            let milliseconds = max(0, seconds) * 1000 + max(0, attoseconds) / 1_000_000_000_000_000
            return UInt32(clamping: max(1, milliseconds))
        } ?? 0
        var out = inlet_http_response()
        out.struct_size = UInt32(MemoryLayout<inlet_http_response>.size)
        let status: inlet_status = request.method.withCString { method in
            request.url.withCString { url in
                headerText.withCString { headers in
                    withBody(request.body) { body, bodyCount in
                        var raw = inlet_http_request(
                            struct_size: UInt32(MemoryLayout<inlet_http_request>.size),
                            flags: request.cacheable ? 0 : INLET_HTTP_NO_CACHE,
                            method: method, url: url, headers: headers, headers_len: strlen(headers),
                            body: body, body_len: bodyCount, timeout_ms: timeoutMilliseconds, reserved: 0)
                        return http(call, &raw, &out)
                    }
                }
            }
        }
        defer {
            table.pointee.buffer_free(call, &out.headers)
            table.pointee.buffer_free(call, &out.body)
        }
        var error: ConnectorError
        switch status {
        case INLET_OK:
            return HTTPResponse(
                status: Int(out.status), headerLines: Self.parseHeaders(out.headers), body: Self.bytes(out.body),
                notModified: out.flags & INLET_HTTP_NOT_MODIFIED != 0)
        case INLET_RATE_LIMITED:
            let wait = Duration.milliseconds(Int64(clamping: out.retry_after_ms))
            error = .rateLimited(retryAfter: wait, "rate limited on \(request.method) \(Self.redacted(request.url)) for \(out.retry_after_ms) ms")
        case INLET_FAILED:
            error = .failed("the host refused \(request.method) \(Self.redacted(request.url)) (its reason is on the job)")
        default:
            error = .retry("\(request.method) \(Self.redacted(request.url)) failed (network error, timeout or cancellation)")
        }
        // The host explained the status on the call in its own words: rethrowing keeps them.
        error.explainedByHost = true
        throw error
    }

    private static func bytes(_ buffer: inlet_buffer) -> [UInt8] {
        guard let data = buffer.data else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: buffer.len))
    }

    static func parseHeaders(_ buffer: inlet_buffer) -> [(name: String, value: String)] {
        let text = String(decoding: bytes(buffer), as: UTF8.self)
        return text.split(whereSeparator: \.isNewline).compactMap { line in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            return (name, value)
        }
    }

    /// The URL without its query (which may hold a token), for messages.
    static func redacted(_ url: String) -> String {
        url.split(separator: "?", maxSplits: 1).first.map(String.init) ?? url
    }
}

private func withBody<R>(_ bytes: [UInt8]?, _ body: (UnsafePointer<UInt8>?, Int) -> R) -> R {
    guard let bytes, !bytes.isEmpty else { return body(nil, 0) }
    return bytes.withUnsafeBufferPointer { body($0.baseAddress, $0.count) }
}
