import CInletABI
import CInletHost
import Foundation
import Logging
import Synchronization

/// A connector instance serving one source: created through the plugin's `create`, called on
/// dedicated threads, one call at a time unless the plugin is reentrant.
package final class ConnectorInstance: Sendable {
    package let plugin: LoadedPlugin
    package let source: String
    /// The host's HTTP service for this source's calls (`host->http`), or nil for none.
    package let http: HTTPService?
    private let handle: InstanceHandle
    /// Serialises calls of a non-reentrant instance (held on the plugin thread, never on the pool).
    private let callLock = Mutex(())
    /// Who still uses the instance, and whether it is to be, or was, destroyed: the ABI forbids
    /// `destroy` while a call runs, and twice.
    private let lifecycle = Mutex(Lifecycle())

    private struct Lifecycle {
        /// Calls submitted and not yet returned from the plugin (abandoned ones included).
        var callsRunning = 0
        /// Jobs holding the instance (``reserve()`` to ``release()``).
        var jobs = 0
        var destroyRequested = false
        var destroyed = false

        /// Whether `destroy` should run now: asked for, and nothing uses the instance. Marks it
        /// destroyed, so it runs once.
        mutating func takeDestroy() -> Bool {
            guard destroyRequested, !destroyed, callsRunning == 0, jobs == 0 else { return false }
            destroyed = true
            return true
        }
    }

    /// The result of one call.
    package struct CallResult: Sendable {
        package var status: PluginStatus
        package var message: String?
        package var retryAfter: Duration?
    }

    private init(plugin: LoadedPlugin, source: String, http: HTTPService?, handle: InstanceHandle) {
        self.plugin = plugin
        self.source = source
        self.http = http
        self.handle = handle
    }

    /// Creates an instance for a source.
    /// - Parameters:
    ///   - configJSON: the source's `config:` block as a JSON object.
    ///   - dataDirectory: a folder for the instance's files (created here).
    ///   - configDirectory: the config file's folder.
    ///   - http: the host's HTTP service for every call of this instance (`create` included);
    ///     nil makes `host->http` answer FAILED.
    ///   - jobID: the queued job that needs the instance: a crash in `create` is traced to it.
    /// - Throws: ``PluginError`` with the plugin's own message when `create` fails.
    package static func create(
        plugin: LoadedPlugin, source: String, configJSON: String, dataDirectory: String, configDirectory: String,
        logger: Logger, http: HTTPService? = nil, jobID: Int64? = nil
    ) async throws(PluginError) -> ConnectorInstance {
        do {
            try Directory.create(dataDirectory)
        } catch {
            throw PluginError(.hostFailed, path: plugin.path, "source '\(source)': \(error)")
        }
        let json = injectHostKeys(into: configJSON, source: source, dataDirectory: dataDirectory, configDirectory: configDirectory)
        // What the plugin logs from `create` names its source, as from its calls.
        var callLogger = logger
        callLogger[metadataKey: "source"] = "\(source)"
        let call = PluginCall(source: source, mode: .setup, logger: callLogger, http: http)
        let table = plugin.table
        let created: (PluginStatus, InstanceHandle) = await PluginThread.run(name: "inlet-create-\(source)") {
            var instance: UnsafeMutableRawPointer?
            let status = json.withCString { pointer in
                let callHandle = HostServices.open(call)
                inlet_crash_set_create(jobID ?? 0)
                defer {
                    inlet_crash_set_job(0)
                    HostServices.close(callHandle)
                }
                return table.table.create(HostServices.table, callHandle, pointer, strlen(pointer), &instance)
            }
            return (PluginStatus(rawValue: status), InstanceHandle(pointer: instance))
        }
        withExtendedLifetime(call) {}
        guard created.0 == .ok else {
            let message = call.reportedError?.message ?? "create returned \(created.0) without a message"
            if created.1.pointer != nil { table.table.destroy(created.1.pointer) }
            switch created.0 {
            case .retry:
                throw PluginError(.createDeferred, path: plugin.path, "connector '\(plugin.name)' could not start source '\(source)' now (RETRY): \(message)")
            case .rateLimited:
                // As for a call: the wait set_error gave, 60 s without one.
                let wait = call.reportedError.map { Duration.milliseconds(Int64(clamping: $0.retryAfterMilliseconds)) } ?? .zero
                throw PluginError(
                    .createDeferred, path: plugin.path, "connector '\(plugin.name)' could not start source '\(source)' now (RATE_LIMITED): \(message)",
                    retryAfter: wait > .zero ? wait : .seconds(60))
            default:
                throw PluginError(.createFailed, path: plugin.path, "connector '\(plugin.name)' refused the config of source '\(source)': \(message)")
            }
        }
        return ConnectorInstance(plugin: plugin, source: source, http: http, handle: created.1)
    }

    /// Runs a job (`sync` entry) on a dedicated thread.
    package func sync(kind: String, args: String, call: PluginCall) async -> CallResult {
        await withCheckedContinuation { continuation in
            startSync(kind: kind, args: args, call: call) { continuation.resume(returning: $0) }
        }
    }

    /// Hands one webhook delivery to the plugin's `webhook` entry on a dedicated thread.
    package func webhook(_ delivery: WebhookDelivery, call: PluginCall) async -> CallResult {
        guard plugin.capabilities.contains(.webhooks), plugin.table.table.webhook != nil else {
            return CallResult(status: .failed, message: "connector '\(plugin.name)' does not handle webhooks")
        }
        return await invoke(call) { table, instance, handle in
            delivery.event.withCString { name in
                delivery.deliveryID.withCString { deliveryID in
                    delivery.headers.withCString { headers in
                        delivery.body.withUnsafeBufferPointer { body in
                            var empty: UInt8 = 0
                            return withUnsafePointer(to: &empty) { fallback in
                                var event = inlet_event(
                                    struct_size: UInt32(MemoryLayout<inlet_event>.size), reserved: 0, name: name,
                                    delivery_id: deliveryID, headers_json: headers, headers_len: strlen(headers),
                                    body: body.baseAddress ?? fallback, body_len: body.count)
                                return table.webhook!(instance, handle, &event)
                            }
                        }
                    }
                }
            }
        }
    }

    /// Asks the instance for its health.
    package func health(call: PluginCall) async -> CallResult {
        guard plugin.table.table.health != nil else { return CallResult(status: .ok) }
        return await invoke(call) { table, instance, handle in table.health!(instance, handle) }
    }

    /// Reserves the instance for a job until ``release()``: it is not destroyed meanwhile.
    /// - Returns: false once its destruction was asked for (a reload retired it): the job must
    ///   get the source's current instance instead.
    package func reserve() -> Bool {
        lifecycle.withLock { state in
            guard !state.destroyRequested else { return false }
            state.jobs += 1
            return true
        }
    }

    /// Ends a job's reservation; a retired instance is destroyed once nothing uses it.
    package func release() {
        if lifecycle.withLock({ state in state.jobs -= 1; return state.takeDestroy() }) { PluginThread.pool.submit(pluginDestroy) }
    }

    /// Frees the instance, now if nothing uses it, else as soon as its last job is released and
    /// its last call returned (a call the watchdog or a shutdown abandoned may never return: the
    /// process's exit reclaims the instance then). No job may reserve it afterwards.
    /// - Returns: whether the plugin's `destroy` ran now.
    @discardableResult
    package func destroy() async -> Bool {
        let now = lifecycle.withLock { state in
            state.destroyRequested = true
            return state.takeDestroy()
        }
        guard now else { return false }
        await PluginThread.run(name: "inlet-destroy-\(source)", pluginDestroy)
        return true
    }

    /// The plugin's `destroy` of this instance, for whichever use of it ends last (`destroy`,
    /// `release`, a call's return) to run once `takeDestroy` said so.
    private var pluginDestroy: @Sendable () -> Void {
        let (table, handle) = (plugin.table, self.handle)
        return { table.table.destroy(handle.pointer) }
    }

    /// Calls started and not yet returned from the plugin.
    package var callsRunning: Int { lifecycle.withLock { $0.callsRunning } }

    /// Whether `destroy` ran (or is running).
    package var isDestroyed: Bool { lifecycle.withLock { $0.destroyed } }

    private func invoke(
        _ call: PluginCall,
        _ body: @escaping @Sendable (inlet_connector, UnsafeMutableRawPointer?, OpaquePointer) -> inlet_status
    ) async -> CallResult {
        await withCheckedContinuation { continuation in
            start(call, body) { continuation.resume(returning: $0) }
        }
    }

    /// Starts a call on a plugin thread; `completion` runs on that thread when the plugin
    /// returns (never, if it never does: the caller decides how long to wait).
    private func start(
        _ call: PluginCall,
        _ body: @escaping @Sendable (inlet_connector, UnsafeMutableRawPointer?, OpaquePointer) -> inlet_status,
        completion: @escaping @Sendable (CallResult) -> Void
    ) {
        let table = plugin.table
        let handle = self.handle
        let reentrant = plugin.capabilities.contains(.reentrant)
        let name = plugin.name
        let admitted = lifecycle.withLock { state in
            guard !state.destroyed else { return false }
            state.callsRunning += 1
            return true
        }
        guard admitted else {
            // A host bug, refused rather than a call into freed memory.
            completion(CallResult(status: .retry, message: "\(name): the instance for '\(source)' was destroyed"))
            return
        }
        PluginThread.pool.submit { [self] in
            let run = {
                let callHandle = HostServices.open(call)
                // A crash on this thread now is this job's (the crash file says so to the next start).
                inlet_crash_set_job(call.jobID ?? 0)
                defer {
                    inlet_crash_set_job(0)
                    HostServices.close(callHandle)
                }
                return PluginStatus(rawValue: body(table.table, handle.pointer, callHandle))
            }
            let status = reentrant ? run() : self.callLock.withLock { _ in run() }
            let destroyNow = self.lifecycle.withLock { state in
                state.callsRunning -= 1
                return state.takeDestroy()
            }
            // A retired instance whose last user this call was (the result is handed over first).
            defer { if destroyNow { self.pluginDestroy() } }
            let reported = call.reportedError
            var result = CallResult(status: status, message: reported?.message)
            // retry_after_ms 0 (or no set_error at all) says nothing of how long: the host's default.
            if status == .rateLimited, let milliseconds = reported?.retryAfterMilliseconds, milliseconds > 0 {
                result.retryAfter = .milliseconds(Int64(clamping: milliseconds))
            }
            if status != .ok && result.message == nil { result.message = "\(name) returned \(status) without a message" }
            completion(result)
        }
    }

    /// Starts a job (`sync` entry) without waiting for it; `completion` gets its result.
    package func startSync(kind: String, args: String, call: PluginCall, completion: @escaping @Sendable (CallResult) -> Void) {
        start(call, { table, instance, handle in
            kind.withCString { kindPointer in
                args.withCString { argsPointer in table.sync(instance, handle, kindPointer, argsPointer, strlen(argsPointer)) }
            }
        }, completion: completion)
    }

    /// Adds the `_inlet` key the ABI promises (source, data_dir, config_dir) to the config object.
    /// The key the host adds to every config block (the loader refuses it in a config file).
    package static let hostKey = "_inlet"

    static func injectHostKeys(into configJSON: String, source: String, dataDirectory: String, configDirectory: String) -> String {
        let hostKeys: [String: String] = ["source": source, "data_dir": dataDirectory, "config_dir": configDirectory]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let inlet = String(decoding: (try? encoder.encode(hostKeys)) ?? Data("{}".utf8), as: UTF8.self)
        let body = configJSON.trimmingCharacters(in: .whitespacesAndNewlines)
        guard body.hasPrefix("{") else { return "{\"_inlet\":\(inlet)}" }
        let rest = body.dropFirst().trimmingCharacters(in: .whitespacesAndNewlines)
        return rest == "}" ? "{\"_inlet\":\(inlet)}" : "{\"_inlet\":\(inlet),\(rest)"
    }
}

/// The plugin's instance pointer.
///
/// Unchecked Sendable, and safe: an opaque pointer owned by the plugin; the host only passes it
/// back to the plugin's own entry points, serialised by ConnectorInstance unless the plugin
/// declared itself reentrant, and to `destroy` once, when no call runs and no job holds it (the
/// instance's `lifecycle` lock decides that, and refuses calls after it).
struct InstanceHandle: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer?
}
