import CCurl
import Foundation
import Synchronization

/// HTTP exchanges through libcurl's easy interface, blocking the calling thread (a plugin thread:
/// never call it on the cooperative pool).
///
/// libcurl keeps its connection cache (and DNS and TLS session caches) per easy handle, so the
/// client keeps a pool of handles and reuses them: a handle returns to the pool after each
/// exchange and `curl_easy_reset` clears its options but keeps its live connections.
package final class CurlClient: Sendable {
    /// One exchange, already checked by ``UpstreamRequest/validated(source:)``.
    struct Exchange {
        var method: String
        var url: String
        var headers: [(name: String, value: String)]
        var body: [UInt8]?
        var timeout: Duration
        /// Largest body accepted; a larger one ends the exchange with `.answerTooLarge`.
        var maxBodySize: Int
    }

    /// What came back: the final answer after redirects.
    struct Answer {
        var status: Int
        var headers: [(name: String, value: String)]
        var body: [UInt8]
    }

    /// Handles not in use, each with its open connections.
    private let idle = Mutex<[EasyHandle]>([])
    private let maxIdleHandles: Int

    /// Creates a client keeping at most `maxIdleHandles` handles (and their connections) between
    /// exchanges; more concurrent exchanges get handles of their own, freed afterwards.
    package init(maxIdleHandles: Int = 16) {
        _ = Self.globalInit
        self.maxIdleHandles = maxIdleHandles
    }

    deinit {
        for handle in idle.withLock({ $0 }) { curl_easy_cleanup(handle.pointer) }
    }

    /// curl_global_init is not thread-safe before libcurl 7.84: run it once, before any handle
    /// exists (a global `let` is initialised once, under swift_once).
    private static let globalInit: CURLcode = inlet_curl_global_init()

    /// Performs one exchange on a pooled handle.
    /// - Parameters:
    ///   - describe: the request as messages name it (method, host and path, no query).
    ///   - isCancelled: polled by libcurl's progress callback, at least about once a second.
    /// - Throws: ``HTTPServiceError`` `.network`, `.timedOut`, `.cancelled` or `.answerTooLarge`.
    func perform(_ exchange: Exchange, describe: String, isCancelled: @escaping () -> Bool) throws(HTTPServiceError) -> Answer {
        guard let handle = takeHandle() else {
            throw HTTPServiceError(.network, "\(describe): libcurl could not create a handle")
        }
        defer { giveBack(handle) }
        let curl = handle.pointer
        curl_easy_reset(curl)

        let transfer = Transfer(maxBodySize: exchange.maxBodySize, isCancelled: isCancelled)
        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        defer { errorBuffer.deallocate() }

        var list: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(list) }
        let hasContentType = exchange.headers.contains { $0.name.lowercased() == "content-type" }
        for field in exchange.headers {
            // "Name:" would remove a header in libcurl; "Name;" sends it with an empty value.
            list = curl_slist_append(list, field.value.isEmpty ? "\(field.name);" : "\(field.name): \(field.value)")
        }
        if exchange.body != nil {
            // No "Expect: 100-continue" round trip, and no form content type the plugin did not ask for.
            list = curl_slist_append(list, "Expect:")
            if !hasContentType { list = curl_slist_append(list, "Content-Type:") }
        }

        // Unsafe: `transfer` is retained by this frame (withExtendedLifetime below) for the whole
        // of curl_easy_perform, the only time libcurl calls the callbacks that read this pointer.
        let context = Unmanaged.passUnretained(transfer).toOpaque()
        var setup = inlet_curl_setopt_string(curl, CURLOPT_URL, exchange.url)
        func set(_ code: CURLcode) { if setup == CURLE_OK { setup = code } }
        set(inlet_curl_setopt_long(curl, CURLOPT_NOSIGNAL, 1))
        set(inlet_curl_allow_http_only(curl))
        // "" = every encoding this libcurl decodes (gzip, deflate, br, zstd); the body is decoded.
        set(inlet_curl_setopt_string(curl, CURLOPT_ACCEPT_ENCODING, ""))
        let milliseconds = max(1, Int(exchange.timeout.components.seconds) * 1000 + Int(exchange.timeout.components.attoseconds / 1_000_000_000_000_000))
        set(inlet_curl_setopt_long(curl, CURLOPT_TIMEOUT_MS, milliseconds))
        set(inlet_curl_setopt_long(curl, CURLOPT_CONNECTTIMEOUT_MS, min(milliseconds, 30_000)))
        set(inlet_curl_setopt_pointer(curl, CURLOPT_ERRORBUFFER, errorBuffer))
        set(inlet_curl_setopt_slist(curl, CURLOPT_HTTPHEADER, list))
        set(inlet_curl_setopt_data_callback(curl, CURLOPT_WRITEFUNCTION) { data, size, count, context in
            Transfer.from(context).appendBody(data, size * count)
        })
        set(inlet_curl_setopt_pointer(curl, CURLOPT_WRITEDATA, context))
        set(inlet_curl_setopt_data_callback(curl, CURLOPT_HEADERFUNCTION) { data, size, count, context in
            Transfer.from(context).headerLine(data, size * count)
        })
        set(inlet_curl_setopt_pointer(curl, CURLOPT_HEADERDATA, context))
        set(inlet_curl_setopt_long(curl, CURLOPT_NOPROGRESS, 0))
        set(inlet_curl_setopt_xferinfo_callback(curl) { context, _, _, _, _ in
            Transfer.from(context).shouldAbort() ? 1 : 0
        })
        set(inlet_curl_setopt_pointer(curl, CURLOPT_XFERINFODATA, context))

        switch exchange.method {
        case "GET" where exchange.body == nil:
            set(inlet_curl_setopt_long(curl, CURLOPT_HTTPGET, 1))
        case "HEAD" where exchange.body == nil:
            set(inlet_curl_setopt_long(curl, CURLOPT_NOBODY, 1))
        default:
            set(inlet_curl_setopt_string(curl, CURLOPT_CUSTOMREQUEST, exchange.method))
            let body = exchange.body ?? (["POST", "PUT", "PATCH"].contains(exchange.method) ? [] : nil)
            if let body {
                // COPYPOSTFIELDS copies the bytes now (the size must be set first).
                set(inlet_curl_setopt_off_t(curl, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count)))
                body.withUnsafeBytes { bytes in
                    var empty: UInt8 = 0
                    withUnsafeMutablePointer(to: &empty) { fallback in
                        set(inlet_curl_setopt_pointer(curl, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: bytes.baseAddress) ?? UnsafeMutableRawPointer(fallback)))
                    }
                }
            }
        }
        // Redirects only where repeating the request is harmless; libcurl drops a custom
        // Authorization header when a redirect leaves the original host.
        if exchange.method == "GET" || exchange.method == "HEAD" {
            set(inlet_curl_setopt_long(curl, CURLOPT_FOLLOWLOCATION, 1))
            set(inlet_curl_setopt_long(curl, CURLOPT_MAXREDIRS, 5))
        }
        guard setup == CURLE_OK else {
            throw HTTPServiceError(.network, "\(describe): libcurl refused an option: \(String(cString: curl_easy_strerror(setup)))")
        }

        let code = withExtendedLifetime(transfer) { curl_easy_perform(curl) }
        guard code == CURLE_OK else {
            let detail = String(cString: errorBuffer)
            let reason = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
            if transfer.cancelled { throw HTTPServiceError(.cancelled, "\(describe): cancelled") }
            if transfer.bodyTooLarge {
                throw HTTPServiceError(.answerTooLarge, "\(describe): the body is larger than \(exchange.maxBodySize) bytes")
            }
            if code == CURLE_OPERATION_TIMEDOUT {
                throw HTTPServiceError(.timedOut, "\(describe): timed out after \(milliseconds) ms (\(reason))")
            }
            throw HTTPServiceError(.network, "\(describe): \(reason)")
        }
        var status = 0
        _ = inlet_curl_getinfo_long(curl, CURLINFO_RESPONSE_CODE, &status)
        var headers = transfer.headers
        if headers.contains(where: { $0.name == "content-encoding" }) {
            // libcurl decoded the body (or failed above): its encoding and encoded length no longer apply.
            headers.removeAll { $0.name == "content-encoding" || $0.name == "content-length" }
        }
        return Answer(status: status, headers: headers, body: transfer.body)
    }

    private func takeHandle() -> EasyHandle? {
        if let handle = idle.withLock({ $0.popLast() }) { return handle }
        return curl_easy_init().map(EasyHandle.init)
    }

    private func giveBack(_ handle: EasyHandle) {
        let kept = idle.withLock { idle -> Bool in
            guard idle.count < maxIdleHandles else { return false }
            idle.append(handle)
            return true
        }
        if !kept { curl_easy_cleanup(handle.pointer) }
    }
}

/// A libcurl easy handle.
///
/// Unchecked Sendable, and safe: a handle is used by one thread at a time: ``CurlClient`` hands it
/// to one exchange (taken out of the pool under its mutex) and takes it back only after
/// curl_easy_perform returns.
struct EasyHandle: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
}

/// What the callbacks of one exchange collect. Used only on the thread running curl_easy_perform.
private final class Transfer {
    var body: [UInt8] = []
    var headers: [(name: String, value: String)] = []
    var bodyTooLarge = false
    var cancelled = false
    let maxBodySize: Int
    let isCancelled: () -> Bool

    init(maxBodySize: Int, isCancelled: @escaping () -> Bool) {
        self.maxBodySize = maxBodySize
        self.isCancelled = isCancelled
    }

    static func from(_ context: UnsafeMutableRawPointer?) -> Transfer {
        // Unsafe: every callback gets the pointer CurlClient.perform set, valid during perform.
        Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue()
    }

    /// Returns the bytes taken; fewer than offered makes libcurl stop with CURLE_WRITE_ERROR.
    func appendBody(_ data: UnsafeMutablePointer<CChar>, _ length: Int) -> Int {
        guard body.count + length <= maxBodySize else {
            bodyTooLarge = true
            return 0
        }
        data.withMemoryRebound(to: UInt8.self, capacity: length) { body.append(contentsOf: UnsafeBufferPointer(start: $0, count: length)) }
        return length
    }

    /// One raw header line of any answer: a status line starts a new answer (a redirect, a
    /// 100 Continue), so only the final answer's fields remain.
    func headerLine(_ data: UnsafeMutablePointer<CChar>, _ length: Int) -> Int {
        var line = String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self)
        // By scalars: "\r\n" is one Character, which hasSuffix("\n") would not see.
        while let last = line.unicodeScalars.last, last == "\n" || last == "\r" { line.unicodeScalars.removeLast() }
        if line.hasPrefix("HTTP/") {
            headers.removeAll()
        } else if let first = line.first, first == " " || first == "\t", !headers.isEmpty {
            // An obsolete folded continuation of the previous field.
            headers[headers.count - 1].value += " " + line.trimmingCharacters(in: .whitespaces)
        } else if let colon = line.firstIndex(of: ":") {
            let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if !name.isEmpty { headers.append((name, value)) }
        }
        return length
    }

    func shouldAbort() -> Bool {
        if isCancelled() { cancelled = true }
        return cancelled
    }
}
