import Foundation
import HTTPTypes
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization

/// A real HTTP server on an ephemeral port of 127.0.0.1 for the host's HTTP service to talk to.
/// Every request is recorded (method, path, query, headers, body) and answered by the test's
/// `respond` closure; `/slow…` paths wait until ``release()`` (for timeouts and cancellation).
final class UpstreamTestServer: Sendable {
    /// A request as the server saw it.
    struct Seen: Sendable {
        var method: String
        var path: String
        var query: String?
        /// Names lowercased, in order.
        var headers: [(name: String, value: String)]
        var body: [UInt8]

        func header(_ name: String) -> String? {
            let values = headers.filter { $0.name == name.lowercased() }.map(\.value)
            return values.isEmpty ? nil : values.joined(separator: ", ")
        }
    }

    /// What the server answers.
    struct Answer: Sendable {
        var status: Int
        var headers: [(name: String, value: String)]
        var body: [UInt8]

        init(_ status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
            self.status = status
            self.headers = headers
            self.body = body
        }

        init(_ status: Int, headers: [(name: String, value: String)] = [], _ text: String) {
            self.init(status, headers: headers, body: Array(text.utf8))
        }
    }

    private let recorder: Recorder
    private let group: ServiceGroup
    private let task: Task<Void, any Error>
    let port: Int

    /// Starts the server and returns once it listens.
    init(respond: @escaping @Sendable (Seen) -> Answer) async throws {
        let (ports, portContinuation) = AsyncStream<Int>.makeStream()
        let router = Router()
        let recorder = Recorder()
        for method in [HTTPRequest.Method.get, .head, .post, .put, .patch, .delete] {
            router.on("**", method: method) { request, _ -> Response in
                let body = try await request.body.collect(upTo: 1 << 20)
                var headers: [(name: String, value: String)] = []
                for field in request.headers { headers.append((field.name.canonicalName, field.value)) }
                let entry = Seen(
                    method: request.method.rawValue, path: request.uri.path, query: request.uri.query, headers: headers,
                    body: Array(body.readableBytesView))
                recorder.append(entry)
                if entry.path.hasPrefix("/slow") {
                    while !recorder.isReleased { try await Task.sleep(for: .milliseconds(10)) }
                }
                let answer = recorder.respond?(entry) ?? Answer(500, "no responder")
                var fields = HTTPFields()
                for (name, value) in answer.headers { fields.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
                return Response(
                    status: HTTPResponse.Status(code: answer.status), headers: fields,
                    body: ResponseBody(byteBuffer: ByteBuffer(bytes: answer.body)))
            }
        }
        recorder.respond = respond
        var logger = Logger(label: "upstream-test-server")
        logger.logLevel = .warning
        let application = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: "upstream-test"),
            onServerRunning: { channel in portContinuation.yield(channel.localAddress?.port ?? 0) }, logger: logger)
        let group = ServiceGroup(services: [application], logger: logger)
        self.group = group
        self.recorder = recorder
        task = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        port = await iterator.next() ?? 0
    }

    /// The URL of `path` on this server.
    func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }

    /// Every request seen so far, in order.
    var requests: [Seen] { recorder.all }

    /// Replaces the responder (for answers that need the server's port or the test's clock).
    func setResponder(_ respond: @escaping @Sendable (Seen) -> Answer) async { recorder.respond = respond }

    /// Lets `/slow…` requests answer.
    func release() { recorder.release() }

    func stop() async {
        recorder.release()
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }

    /// The state the route handler shares with the test.
    private final class Recorder: Sendable {
        private let entries = Mutex<[Seen]>([])
        private let releasedFlag = Atomic<Bool>(false)
        private let responder = Mutex<(@Sendable (Seen) -> Answer)?>(nil)

        var respond: (@Sendable (Seen) -> Answer)? {
            get { responder.withLock { $0 } }
            set { responder.withLock { $0 = newValue } }
        }

        func append(_ entry: Seen) { entries.withLock { $0.append(entry) } }
        var all: [Seen] { entries.withLock { $0 } }
        var isReleased: Bool { releasedFlag.load(ordering: .relaxed) }
        func release() { releasedFlag.store(true, ordering: .relaxed) }
    }
}
