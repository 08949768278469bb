import CInletABI
import Foundation
import Logging
import Synchronization

/// The `inlet_host` table every connector receives: C entry points that resolve the call handle
/// to its ``PluginCall`` and copy everything the plugin passes in before returning.
package enum HostServices {
    /// One table for all instances: every service finds its call, source and job by its handle.
    // Unsafe: allocated once, fully initialised before first use, never written again and never
    // freed (plugins may keep the pointer for their whole life), so sharing it is race-free.
    nonisolated(unsafe) package static let table: UnsafePointer<inlet_host> = {
        let table = UnsafeMutablePointer<inlet_host>.allocate(capacity: 1)
        table.initialize(to: inlet_host(
            struct_size: UInt32(MemoryLayout<inlet_host>.size),
            abi_version: ABIVersion.host.rawValue,
            emit: { call, record in HostServices.emit(call, record) },
            delete_record: { call, key, length in
                guard let call = HostServices.resolve(call, "delete_record") else { return INLET_FAILED }
                guard let key = HostServices.key(key, length) else {
                    return call.refuse("delete_record: key is empty, not UTF-8, or holds a NUL byte").rawValue
                }
                return call.delete(key: key).rawValue
            },
            state_get: { call, key, length, out in
                out.pointee = inlet_buffer(data: nil, len: 0, host_private: nil)
                // In `create` there is no state to read yet: FAILED, not an empty answer that
                // looks like "no checkpoint yet".
                guard let call = HostServices.resolve(call, "state_get"), call.requireJob("state_get") else { return INLET_FAILED }
                guard let key = HostServices.key(key, length) else {
                    call.log(.error, "state_get: the key is empty, not UTF-8, or holds a NUL byte")
                    return INLET_FAILED
                }
                do {
                    guard let value = try call.stateValue(key) else { return INLET_OK }
                    out.pointee = HostServices.buffer(value, call: call)
                    return INLET_OK
                } catch {
                    call.log(.error, "state_get '\(key)' failed: \(error)")
                    return INLET_RETRY
                }
            },
            state_set: { call, key, length, value, valueLength in
                guard let call = HostServices.resolve(call, "state_set") else { return INLET_FAILED }
                guard let key = HostServices.key(key, length) else {
                    call.log(.error, "state_set: the key is empty, not UTF-8, or holds a NUL byte")
                    return INLET_FAILED
                }
                let bytes = value.map { Array(UnsafeBufferPointer(start: $0, count: valueLength)) }
                return call.setState(key, bytes).rawValue
            },
            buffer_free: { call, buffer in
                // A buffer of a call that has ended was freed with the call.
                if let call = HostServices.resolve(call, "buffer_free"), let storage = buffer.pointee.host_private,
                    call.forgetBuffer(storage)
                {
                    free(storage)
                }
                buffer.pointee = inlet_buffer(data: nil, len: 0, host_private: nil)
            },
            checkpoint: { call in HostServices.resolve(call, "checkpoint")?.checkpoint().rawValue ?? INLET_FAILED },
            log: { call, level, message, length in
                let text = String(decoding: UnsafeRawBufferPointer(start: message, count: length), as: UTF8.self)
                guard let call = HostServices.resolve(call, "log") else { return }
                call.log(HostServices.logLevel(level), text)
            },
            progress: { call, done, total in HostServices.resolve(call, "progress")?.reportProgress(done: done, total: total) },
            enqueue: { call, kind, args, argsLength, priority, uniqueKey in
                guard let call = HostServices.resolve(call, "enqueue") else { return INLET_FAILED }
                guard let kind = String(validatingCString: kind), !kind.isEmpty else {
                    return call.refuse("enqueue: kind is empty or not UTF-8", countsAsItem: false).rawValue
                }
                let argsText = args.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: argsLength), as: UTF8.self) } ?? "{}"
                guard HostServices.isJSONObject(Array(argsText.utf8)) else {
                    return call.refuse("enqueue: args must be a JSON object", countsAsItem: false).rawValue
                }
                guard (0...10).contains(priority) else {
                    return call.refuse("enqueue: priority \(priority) is outside 1...10", countsAsItem: false).rawValue
                }
                let job = StagedBatch.FollowUpJob(
                    kind: kind, args: argsText, priority: priority == 0 ? JobPriority.followUp : Int(priority),
                    uniqueKey: uniqueKey.map { String(cString: $0) })
                return call.enqueue(job).rawValue
            },
            // A call that has ended is over: its plugin should stop.
            is_cancelled: { call in HostServices.resolve(call, "is_cancelled").map { $0.isCancelled ? 1 : 0 } ?? 1 },
            quarantine_item: { call, key, keyLength, error, errorLength, bytes, bytesLength in
                guard let call = HostServices.resolve(call, "quarantine_item") else { return INLET_FAILED }
                guard let key = HostServices.key(key, keyLength) else {
                    return call.refuse("quarantine_item: key is empty, not UTF-8, or holds a NUL byte").rawValue
                }
                let item = StagedBatch.QuarantinedItem(
                    key: key,
                    error: String(decoding: UnsafeRawBufferPointer(start: error, count: errorLength), as: UTF8.self),
                    bytes: bytes.map { Array(UnsafeBufferPointer(start: $0, count: bytesLength)) })
                return call.quarantine(item).rawValue
            },
            set_error: { call, message, length, retryAfter in
                let text = String(decoding: UnsafeRawBufferPointer(start: message, count: length), as: UTF8.self)
                HostServices.resolve(call, "set_error")?.setError(text, retryAfterMilliseconds: retryAfter)
            },
            has_blob: { call, sha in
                let sha = String(cString: sha)
                guard let call = HostServices.resolve(call, "has_blob") else { return 0 }
                return GitBlobID.isValid(sha) && call.hasBlob(sha) ? 1 : 0
            },
            http: { call, request, out in HostServices.http(call, request, out) }
        ))
        return UnsafePointer(table)
    }()

    /// Calls whose entry point is running, by handle. A handle is a number, never the call's
    /// address: one a plugin keeps past its entry's return (from a thread of its own) resolves
    /// to nothing and is refused, rather than to freed memory or to a later call at that address.
    private static let live = Mutex<[UInt: PluginCall]>([:])
    private static let nextHandle = Atomic<UInt>(1)
    private static let logger = Logger(label: "inlet.host")

    /// The opaque handle a plugin receives for a call, valid until ``close(_:)``.
    package static func open(_ call: PluginCall) -> OpaquePointer {
        let number = nextHandle.wrappingAdd(1, ordering: .relaxed).oldValue
        live.withLock { $0[number] = call }
        return OpaquePointer(bitPattern: number)!
    }

    /// Ends a handle once its entry point returned: later uses are refused.
    package static func close(_ handle: OpaquePointer) {
        _ = live.withLock { $0.removeValue(forKey: UInt(bitPattern: handle)) }
    }

    /// The running call of `handle`, or nil (logged) for a handle whose call has ended.
    static func resolve(_ handle: OpaquePointer, _ service: String) -> PluginCall? {
        if let call = live.withLock({ $0[UInt(bitPattern: handle)] }) { return call }
        // Logged the first times and then every 1000th: a plugin thread polling is_cancelled
        // with a dead handle would flood the log.
        let misuses = staleUses.wrappingAdd(1, ordering: .relaxed).newValue
        if misuses <= 10 || misuses % 1000 == 0 {
            logger.error("a plugin called host->\(service) with a call handle whose entry point had returned: refused (the header: a handle is valid only during its call; \(misuses) such uses so far)")
        }
        return nil
    }
    private static let staleUses = Atomic<Int>(0)

    /// Content and metadata beyond this are refused at `emit` (the connector can quarantine the
    /// item instead): a row holds at most about 1 GB in SQLite, and the host keeps a copy or two
    /// of what a call stages in memory until it commits.
    package static let maxRecordBytes = 256 << 20

    private static func emit(_ handle: OpaquePointer, _ pointer: UnsafePointer<inlet_record>) -> inlet_status {
        guard let call = resolve(handle, "emit") else { return INLET_FAILED }
        let structSize = Int(UnsafeRawPointer(pointer).load(as: UInt32.self))
        guard structSize >= ABITableSize.recordV1_0 else {
            return call.refuse("record struct_size \(structSize) is smaller than ABI 1.0's \(ABITableSize.recordV1_0)").rawValue
        }
        let record = pointer.pointee
        guard let key = key(record.key, record.key_len) else {
            return call.refuse("record key is empty, not valid UTF-8, or holds a NUL byte").rawValue
        }
        guard let kind = record.kind.map({ String(validatingCString: $0) }) ?? "record", !kind.isEmpty else {
            return call.refuse("record '\(key)': kind is empty or not UTF-8", key: key).rawValue
        }
        guard record.content_len + record.metadata_len <= maxRecordBytes else {
            return call.refuse(
                "record '\(key)': \(record.content_len + record.metadata_len) bytes of content and metadata, over the \(maxRecordBytes >> 20) MiB a record may hold (quarantine_item it instead)", key: key).rawValue
        }
        let metadata: [UInt8] = record.metadata_json.map {
            Array(UnsafeRawBufferPointer(start: $0, count: record.metadata_len))
        } ?? Array("{}".utf8)
        guard isJSONObject(metadata) else {
            return call.refuse("record '\(key)': metadata is not a JSON object", key: key).rawValue
        }
        let content = record.content.map { Array(UnsafeBufferPointer(start: $0, count: record.content_len)) }
        let declared = record.blob_sha.map { String(cString: $0) }
        var sha: String?
        if let content {
            sha = GitBlobID.of(content)
            if let declared, declared != sha {
                return call.refuse("record '\(key)': blob_sha \(declared) does not match its content (\(sha!))", key: key).rawValue
            }
        } else if let declared {
            guard GitBlobID.isValid(declared) else {
                return call.refuse("record '\(key)': blob_sha '\(declared)' is not 40 lowercase hex digits", key: key).rawValue
            }
            guard call.hasBlob(declared) else {
                return call.refuse("record '\(key)': refers to blob \(declared), which the sink does not have", key: key).rawValue
            }
            sha = declared
        }
        return call.emit(StagedBatch.Record(
            key: key, kind: kind, metadata: String(decoding: metadata, as: UTF8.self), blobSHA: sha, content: content
        )).rawValue
    }

    /// `host->http`: checks the request's struct, copies it, runs it through the call's HTTP
    /// service and fills the answer with buffers the call remembers (freed by buffer_free, or
    /// when the call ends at the latest). Every status but OK is explained on the call.
    private static func http(
        _ handle: OpaquePointer, _ request: UnsafePointer<inlet_http_request>, _ out: UnsafeMutablePointer<inlet_http_response>
    ) -> inlet_status {
        guard let call = resolve(handle, "http") else { return INLET_FAILED }
        // Unsafe: a plugin fills only its own struct_size; every field written or read below lies
        // within the ABI 1.1 size, checked first (never sizeof of this host's struct).
        let responseSize = Int(UnsafeRawPointer(out).load(as: UInt32.self))
        guard responseSize >= ABITableSize.httpResponseV1_1 else {
            return explain(call, HTTPServiceError(
                .invalidRequest,
                "source '\(call.source)': http: response struct_size \(responseSize) is smaller than ABI 1.1's \(ABITableSize.httpResponseV1_1)"))
        }
        out.pointer(to: \.status)!.pointee = 0
        out.pointer(to: \.flags)!.pointee = 0
        out.pointer(to: \.retry_after_ms)!.pointee = 0
        out.pointer(to: \.headers)!.pointee = inlet_buffer(data: nil, len: 0, host_private: nil)
        out.pointer(to: \.body)!.pointee = inlet_buffer(data: nil, len: 0, host_private: nil)

        let parsed: UpstreamRequest
        do {
            parsed = try upstreamRequest(request, source: call.source)
        } catch {
            return explain(call, error, out: out)
        }
        do {
            let response = try call.performHTTP(parsed)
            fill(out, with: response, call: call)
            return INLET_OK
        } catch {
            return explain(call, error, out: out)
        }
    }

    /// Copies a plugin's `inlet_http_request` into Swift values.
    private static func upstreamRequest(
        _ pointer: UnsafePointer<inlet_http_request>, source: String
    ) throws(HTTPServiceError) -> UpstreamRequest {
        func invalid(_ message: String) -> HTTPServiceError {
            HTTPServiceError(.invalidRequest, "source '\(source)': http: \(message)")
        }
        let size = Int(UnsafeRawPointer(pointer).load(as: UInt32.self))
        guard size >= ABITableSize.httpRequestV1_1 else {
            throw invalid("request struct_size \(size) is smaller than ABI 1.1's \(ABITableSize.httpRequestV1_1)")
        }
        let flags = pointer.pointer(to: \.flags)!.pointee
        var method = "GET"
        if let raw = pointer.pointer(to: \.method)!.pointee {
            guard let text = String(validatingCString: raw) else { throw invalid("method is not UTF-8") }
            method = text
        }
        guard let url = String(validatingCString: pointer.pointer(to: \.url)!.pointee) else { throw invalid("url is not UTF-8") }
        var headers: [(name: String, value: String)] = []
        if let raw = pointer.pointer(to: \.headers)!.pointee {
            let length = pointer.pointer(to: \.headers_len)!.pointee
            guard let text = string(raw, length) else { throw invalid("headers are not UTF-8") }
            switch HeaderText.parse(text) {
            case .success(let fields): headers = fields
            case .failure(let error): throw invalid("header line \(error.line) has no ':' (\"Name: value\" lines expected)")
            }
        }
        let body = pointer.pointer(to: \.body)!.pointee.map {
            Array(UnsafeBufferPointer(start: $0, count: pointer.pointer(to: \.body_len)!.pointee))
        }
        let timeout = pointer.pointer(to: \.timeout_ms)!.pointee
        return UpstreamRequest(
            method: method, url: url, headers: headers, body: body,
            timeout: timeout == 0 ? nil : .milliseconds(Int64(timeout)), cacheable: flags & INLET_HTTP_NO_CACHE == 0)
    }

    /// Fills the v1.1 fields of the answer; the buffers are malloc'ed and remembered by the call.
    private static func fill(_ out: UnsafeMutablePointer<inlet_http_response>, with response: UpstreamResponse, call: PluginCall) {
        out.pointer(to: \.status)!.pointee = Int32(clamping: response.status)
        out.pointer(to: \.flags)!.pointee = response.notModified ? INLET_HTTP_NOT_MODIFIED : 0
        out.pointer(to: \.headers)!.pointee = buffer(Array(HeaderText.format(response.headers).utf8), call: call)
        out.pointer(to: \.body)!.pointee = buffer(response.body, call: call)
    }

    /// A malloc'ed copy of `bytes`, freed by buffer_free or at the call's end. One NUL byte
    /// follows the `len` bytes (never counted): a C plugin that reads a value as a C string
    /// (strtol, strstr on a JSON body) then stops inside the buffer instead of reading past it.
    static func buffer(_ bytes: [UInt8], call: PluginCall) -> inlet_buffer {
        let storage = malloc(bytes.count + 1)!
        bytes.withUnsafeBytes { if let base = $0.baseAddress { storage.copyMemory(from: base, byteCount: $0.count) } }
        storage.storeBytes(of: 0, toByteOffset: bytes.count, as: UInt8.self)
        call.rememberBuffer(storage)
        return inlet_buffer(data: UnsafePointer(storage.assumingMemoryBound(to: UInt8.self)), len: bytes.count, host_private: storage)
    }

    /// Explains a non-OK answer on the call, as set_error would, and returns its status.
    private static func explain(
        _ call: PluginCall, _ error: HTTPServiceError, out: UnsafeMutablePointer<inlet_http_response>? = nil
    ) -> inlet_status {
        let milliseconds = error.retryAfter.map { UInt64(max(0, ($0.seconds * 1000).rounded(.up))) } ?? 0
        call.setError(error.message, retryAfterMilliseconds: milliseconds)
        if let out {
            out.pointer(to: \.retry_after_ms)!.pointee = milliseconds
            if let answer = error.answer { fill(out, with: answer, call: call) }
        }
        if error.code == .invalidRequest || error.code == .unavailable {
            call.log(.warning, error.message)
        }
        return error.status.rawValue
    }

    static func string(_ pointer: UnsafePointer<CChar>, _ length: Int) -> String? {
        String(validating: UnsafeRawBufferPointer(start: pointer, count: length), as: UTF8.self)
    }

    /// A record, state or quarantine key: non-empty UTF-8 without NUL bytes (valid UTF-8, but the
    /// store would cut the key there: `a\0one` and `a\0two` would become one record `a`).
    static func key(_ pointer: UnsafePointer<CChar>, _ length: Int) -> String? {
        let bytes = UnsafeRawBufferPointer(start: pointer, count: length)
        guard length > 0, !bytes.contains(0) else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }

    static func isJSONObject(_ bytes: [UInt8]) -> Bool {
        (try? JSONSerialization.jsonObject(with: Data(bytes))) is [String: Any]
    }

    static func logLevel(_ level: inlet_log_level) -> Logger.Level {
        switch level {
        case INLET_LOG_TRACE: .trace
        case INLET_LOG_DEBUG: .debug
        case INLET_LOG_INFO: .info
        case INLET_LOG_WARNING: .warning
        default: .error
        }
    }
}
