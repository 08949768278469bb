import CInletABI
import Foundation

/// The host's services during one call of a connector: emit records, read and stage state,
/// report progress, log. Valid only until the call that received it returns.
///
/// Unchecked Sendable, and safe: `table` points at the host's service table, which the host keeps
/// alive for the instance's whole life; `call` is the host's handle for the running entry point.
/// The ABI lets host services be called from any thread while that entry runs, so sharing this
/// struct across threads of the connector is safe until the entry returns (documented on the type:
/// an InletHost must not be kept past its call).
public struct InletHost: @unchecked Sendable {
    let table: UnsafePointer<inlet_host>
    let call: OpaquePointer

    init(table: UnsafePointer<inlet_host>, call: OpaquePointer) {
        self.table = table
        self.call = call
    }

    /// Stages a record; it is committed with the state staged in the same call.
    /// - Parameters:
    ///   - key: the record's id within the source.
    ///   - kind: `file`, `issue`, …
    ///   - metadata: a JSON object.
    ///   - content: the body; `nil` for a metadata-only record.
    ///   - blobSHA: git's blob SHA-1 of the content; with `content == nil` it refers to a blob the
    ///     host already has (see ``hasBlob(_:)``).
    /// - Throws: ``ConnectorError`` (retry) when the host refused the record.
    public func emit(
        key: String, kind: String, metadata: [String: JSONValue], content: [UInt8]? = nil, blobSHA: String? = nil
    ) throws {
        try emit(key: key, kind: kind, metadataJSON: JSONValue.object(metadata).jsonBytes(), content: content, blobSHA: blobSHA)
    }

    /// Stages a record whose metadata is already JSON text (a JSON object).
    public func emit(
        key: String, kind: String, metadataJSON: [UInt8], content: [UInt8]?, blobSHA: String? = nil
    ) throws {
        let status: inlet_status = key.withCString { keyPointer in
            kind.withCString { kindPointer in
                metadataJSON.withUnsafeBufferPointer { metadataBuffer in
                    withOptionalBytes(content) { contentPointer, contentCount in
                        withOptionalCString(blobSHA) { shaPointer in
                            metadataBuffer.withMemoryRebound(to: CChar.self) { metadata in
                                var record = inlet_record(
                                    struct_size: UInt32(MemoryLayout<inlet_record>.size), reserved: 0,
                                    key: keyPointer, key_len: strlen(keyPointer), kind: kindPointer,
                                    metadata_json: metadata.baseAddress, metadata_len: metadata.count,
                                    content: contentPointer, content_len: contentCount, blob_sha: shaPointer
                                )
                                return table.pointee.emit(call, &record)
                            }
                        }
                    }
                }
            }
        }
        try check(status, "emit of '\(key)'")
    }

    /// Stages a tombstone for a key.
    public func delete(key: String) throws {
        let status = key.withCString { table.pointee.delete_record(call, $0, strlen($0)) }
        try check(status, "delete of '\(key)'")
    }

    /// Reads a checkpoint value: the one staged in this call if any, else the committed one.
    public func state(_ key: String) throws -> [UInt8]? {
        var buffer = inlet_buffer()
        let status = key.withCString { table.pointee.state_get(call, $0, strlen($0), &buffer) }
        defer { table.pointee.buffer_free(call, &buffer) }
        try check(status, "state_get of '\(key)'")
        guard let data = buffer.data else { return nil }
        return Array(UnsafeBufferPointer(start: data, count: buffer.len))
    }

    /// Reads a checkpoint value as UTF-8 text.
    public func stateString(_ key: String) throws -> String? {
        try state(key).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Stages a checkpoint value (`nil` removes the key).
    public func setState(_ key: String, _ value: [UInt8]?) throws {
        let status = key.withCString { keyPointer in
            withOptionalBytes(value) { table.pointee.state_set(call, keyPointer, strlen(keyPointer), $0, $1) }
        }
        try check(status, "state_set of '\(key)'")
    }

    /// Stages a checkpoint value given as text.
    public func setState(_ key: String, _ value: String?) throws {
        try setState(key, value.map { Array($0.utf8) })
    }

    /// Commits everything staged so far, with the state that describes it, in one transaction.
    public func checkpoint() throws {
        try check(table.pointee.checkpoint(call), "checkpoint")
    }

    /// Log levels of ``log(_:_:)``.
    public enum LogLevel: Int32, Sendable {
        case trace = 0, debug, info, warning, error
    }

    /// Writes a log line attributed to this source.
    public func log(_ level: LogLevel, _ message: String) {
        message.withCString { table.pointee.log(call, level.rawValue, $0, strlen($0)) }
    }

    /// Reports progress: `done` of `total` items (0 = unknown).
    public func progress(done: Int, total: Int) {
        table.pointee.progress(call, UInt64(max(done, 0)), UInt64(max(total, 0)))
    }

    /// Asks for a follow-up job of this source, enqueued when this call's work is committed.
    /// - Parameters:
    ///   - priority: 1 (highest) … 10; `nil` for the default.
    ///   - uniqueKey: a queued job of this source with the same key absorbs this one (its args
    ///     merged in, this request's keys winning); keys are per source.
    public func enqueue(kind: String, args: [String: JSONValue] = [:], priority: Int? = nil, uniqueKey: String? = nil) throws {
        let argsJSON = JSONValue.object(args).jsonBytes()
        let status = kind.withCString { kindPointer in
            argsJSON.withUnsafeBufferPointer { argsBuffer in
                argsBuffer.withMemoryRebound(to: CChar.self) { args in
                    withOptionalCString(uniqueKey) { uniquePointer in
                        table.pointee.enqueue(call, kindPointer, args.baseAddress, args.count, Int32(priority ?? 0), uniquePointer)
                    }
                }
            }
        }
        try check(status, "enqueue of '\(kind)'")
    }

    /// True when the host wants this call to stop (timeout, shutdown, cancel): throw
    /// ``ConnectorError/retry(_:)`` soon after.
    public var isCancelled: Bool { table.pointee.is_cancelled(call) != 0 }

    /// Puts one item aside that could not be processed; counted as failed, the job goes on.
    public func quarantine(key: String, error: String, bytes: [UInt8]? = nil) throws {
        let status = key.withCString { keyPointer in
            error.withCString { errorPointer in
                withOptionalBytes(bytes) {
                    table.pointee.quarantine_item(call, keyPointer, strlen(keyPointer), errorPointer, strlen(errorPointer), $0, $1)
                }
            }
        }
        try check(status, "quarantine of '\(key)'")
    }

    /// True when the sink already stores the blob with this git blob SHA-1.
    public func hasBlob(_ sha: String) -> Bool {
        sha.withCString { table.pointee.has_blob(call, $0) != 0 }
    }

    func setError(_ message: String, retryAfter: Duration? = nil) {
        let milliseconds = retryAfter.map { duration -> UInt64 in
            let (seconds, attoseconds) = duration.components
            return UInt64(max(0, seconds)) * 1000 + UInt64(max(0, attoseconds) / 1_000_000_000_000_000)
        } ?? 0
        message.withCString { table.pointee.set_error(call, $0, strlen($0), milliseconds) }
    }

    private func check(_ status: inlet_status, _ what: String) throws {
        switch status {
        case INLET_OK: return
        case INLET_FAILED: throw ConnectorError.failed("host refused \(what)")
        default: throw ConnectorError.retry("host could not complete \(what)")
        }
    }
}

private func withOptionalBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafePointer<UInt8>?, Int) -> R) -> R {
    guard let bytes else { return body(nil, 0) }
    return bytes.withUnsafeBufferPointer { buffer in
        // An empty body must still be a non-NULL pointer: NULL means "no content" in the ABI.
        if buffer.count == 0 {
            var zero: UInt8 = 0
            return withUnsafePointer(to: &zero) { body($0, 0) }
        }
        return body(buffer.baseAddress, buffer.count)
    }
}

private func withOptionalCString<R>(_ string: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
    guard let string else { return body(nil) }
    return string.withCString { body($0) }
}
