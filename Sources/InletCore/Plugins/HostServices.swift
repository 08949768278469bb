import CInletABI
import Foundation
import Logging

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
                let call = HostServices.resolve(call)
                guard let key = HostServices.string(key, length), !key.isEmpty else {
                    return call.refuse("delete_record: key is empty or not UTF-8").rawValue
                }
                return call.delete(key: key).rawValue
            },
            state_get: { call, key, length, out in
                let call = HostServices.resolve(call)
                out.pointee = inlet_buffer(data: nil, len: 0, host_private: nil)
                guard let key = HostServices.string(key, length) else { return INLET_FAILED }
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
                let call = HostServices.resolve(call)
                guard let key = HostServices.string(key, length), !key.isEmpty else { return INLET_FAILED }
                let bytes = value.map { Array(UnsafeBufferPointer(start: $0, count: valueLength)) }
                return call.setState(key, bytes).rawValue
            },
            buffer_free: { call, buffer in
                let call = HostServices.resolve(call)
                if let storage = buffer.pointee.host_private, call.forgetBuffer(storage) { free(storage) }
                buffer.pointee = inlet_buffer(data: nil, len: 0, host_private: nil)
            },
            checkpoint: { call in HostServices.resolve(call).checkpoint().rawValue },
            log: { call, level, message, length in
                let call = HostServices.resolve(call)
                let text = String(decoding: UnsafeRawBufferPointer(start: message, count: length), as: UTF8.self)
                call.log(HostServices.logLevel(level), text)
            },
            progress: { call, done, total in HostServices.resolve(call).reportProgress(done: done, total: total) },
            enqueue: { call, kind, args, argsLength, priority, uniqueKey in
                let call = HostServices.resolve(call)
                let kind = String(cString: kind)
                let argsText = args.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: argsLength), as: UTF8.self) } ?? "{}"
                guard !kind.isEmpty, HostServices.isJSONObject(Array(argsText.utf8)) else {
                    return call.refuse("enqueue: kind must be non-empty and args a JSON object").rawValue
                }
                guard (0...10).contains(priority) else {
                    return call.refuse("enqueue: priority \(priority) is outside 1...10").rawValue
                }
                let job = StagedBatch.FollowUpJob(
                    kind: kind, args: argsText, priority: priority == 0 ? JobPriority.followUp : Int(priority),
                    uniqueKey: uniqueKey.map { String(cString: $0) })
                return call.enqueue(job).rawValue
            },
            is_cancelled: { call in HostServices.resolve(call).isCancelled ? 1 : 0 },
            quarantine_item: { call, key, keyLength, error, errorLength, bytes, bytesLength in
                let call = HostServices.resolve(call)
                let item = StagedBatch.QuarantinedItem(
                    key: String(decoding: UnsafeRawBufferPointer(start: key, count: keyLength), as: UTF8.self),
                    error: String(decoding: UnsafeRawBufferPointer(start: error, count: errorLength), as: UTF8.self),
                    bytes: bytes.map { Array(UnsafeBufferPointer(start: $0, count: bytesLength)) })
                return call.quarantine(item).rawValue
            },
            set_error: { call, message, length, retryAfter in
                let text = String(decoding: UnsafeRawBufferPointer(start: message, count: length), as: UTF8.self)
                HostServices.resolve(call).setError(text, retryAfterMilliseconds: retryAfter)
            },
            has_blob: { call, sha in
                let sha = String(cString: sha)
                return GitBlobID.isValid(sha) && HostServices.resolve(call).hasBlob(sha) ? 1 : 0
            },
            http: { call, request, out in HostServices.http(call, request, out) }
        ))
        return UnsafePointer(table)
    }()

    /// The opaque handle a plugin receives for a call.
    /// - Unsafe: the returned pointer is valid while `call` is retained by the caller of the entry
    ///   point, which holds it until the entry returns.
    package static func handle(for call: PluginCall) -> OpaquePointer {
        OpaquePointer(Unmanaged.passUnretained(call).toOpaque())
    }

    static func resolve(_ handle: OpaquePointer) -> PluginCall {
        // Unsafe: every handle a plugin holds came from `handle(for:)` for a call still running.
        Unmanaged<PluginCall>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
    }

    private static func emit(_ handle: OpaquePointer, _ pointer: UnsafePointer<inlet_record>) -> inlet_status {
        let call = resolve(handle)
        let structSize = Int(UnsafeRawPointer(pointer).load(as: UInt32.self))
        guard structSize >= ABITableSize.recordV1_0 else {
            return call.refuse("record struct_size \(structSize) is smaller than ABI 1.0's \(ABITableSize.recordV1_0)").rawValue
        }
        let record = pointer.pointee
        guard let key = string(record.key, record.key_len), !key.isEmpty else {
            return call.refuse("record key is empty or not valid UTF-8").rawValue
        }
        let kind = record.kind.map { String(cString: $0) } ?? "record"
        guard !kind.isEmpty else { return call.refuse("record '\(key)': kind is empty").rawValue }
        let metadata: [UInt8] = record.metadata_json.map {
            Array(UnsafeRawBufferPointer(start: $0, count: record.metadata_len))
        } ?? Array("{}".utf8)
        guard isJSONObject(metadata) else {
            return call.refuse("record '\(key)': metadata is not a JSON object").rawValue
        }
        let content = record.content.map { Array(UnsafeBufferPointer(start: $0, count: record.content_len)) }
        let declared = record.blob_sha.map { String(cString: $0) }
        var sha: String?
        if let content {
            sha = GitBlobID.of(content)
            if let declared, declared != sha {
                return call.refuse("record '\(key)': blob_sha \(declared) does not match its content (\(sha!))").rawValue
            }
        } else if let declared {
            guard GitBlobID.isValid(declared) else {
                return call.refuse("record '\(key)': blob_sha '\(declared)' is not 40 lowercase hex digits").rawValue
            }
            guard call.hasBlob(declared) else {
                return call.refuse("record '\(key)': refers to blob \(declared), which the sink does not have").rawValue
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
        let call = resolve(handle)
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
