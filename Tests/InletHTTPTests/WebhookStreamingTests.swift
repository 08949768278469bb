import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import InletHTTP
import Logging
import ServiceLifecycle
import Testing

@Suite("Webhook bodies over 25 MB", .serialized)
struct WebhookStreamingTests {
    /// The server on a real socket, for `body` with the port it listens on.
    func withServer(_ harness: HTTPHarness, _ body: @escaping @Sendable (Int) async throws -> Void) async throws {
        let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let app = harness.surface.application(listen: .init(host: "127.0.0.1", port: 0)) { port in portContinuation.yield(port) }
        // Stopped by a graceful shutdown, not by cancelling the serving task, which can leave an
        // accepted connection unserved and make NIO trap (apple/swift-nio#3481).
        let services = ServiceGroup(services: [app], logger: Logger(label: "webhook-streaming-test"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await services.run() }
            var ports = portStream.makeAsyncIterator()
            let port = try #require(await ports.next())
            do {
                try await body(port)
            } catch {
                await services.triggerGracefulShutdown()
                throw error
            }
            await services.triggerGracefulShutdown()
            try await group.waitForAll()
        }
    }

    static func head(signature: String, extra: String) -> String {
        """
        POST /webhooks/acme HTTP/1.1\r
        Host: 127.0.0.1\r
        Content-Type: application/json\r
        X-GitHub-Event: push\r
        X-GitHub-Delivery: huge-1\r
        X-Hub-Signature-256: \(signature)\r
        \(extra)\r
        \r

        """
    }

    /// A declared Content-Length over the limit is refused before any of the body is read.
    @Test func refusedByItsDeclaredLength() async throws {
        let harness = try HTTPHarness()
        try await withServer(harness) { port in
            let head = Self.head(signature: WebhookSignature.sign([UInt8](), secret: HTTPHarness.secret), extra: "Content-Length: \(25 * 1024 * 1024 + 1)")
            let chunks = [[UInt8]](repeating: [UInt8](repeating: 32, count: 1 << 20), count: 30)
            let result = try await RawHTTPClient(port: port).sendChunkedOnThread(head: head, chunks: chunks, framed: false)
            #expect(result.status == 413, "response: \(result.response.prefix(300))")
            #expect(result.response.contains(#""code":"too_large""#))
            print("declared: 413 after \(result.sent) body bytes sent")
        }
        #expect(try harness.isEmpty())
    }

    /// Bodies held at once are bounded across requests: past the budget a delivery is refused
    /// (503 with Retry-After) while it streams, and what it held is given back.
    @Test func refusedPastTheBudgetOfBodiesHeldAtOnce() async throws {
        let budget = BodyBudget(limit: 1 << 20)
        let harness = try HTTPHarness(bodyBudget: budget)
        try await withServer(harness) { port in
            let chunk = [UInt8](repeating: UInt8(ascii: " "), count: 256 << 10)
            let head = Self.head(signature: WebhookSignature.sign(chunk, secret: HTTPHarness.secret), extra: "Transfer-Encoding: chunked")
            let result = try await RawHTTPClient(port: port).sendChunkedOnThread(head: head, chunks: [[UInt8]](repeating: chunk, count: 8))
            #expect(result.status == 503, "response: \(result.response.prefix(300))")
            #expect(result.response.contains(#""code":"busy""#))
            #expect(result.response.lowercased().contains("retry-after: 30"))
        }
        #expect(budget.inUse == 0)
        #expect(try harness.isEmpty())
        // An ordinary delivery fits.
        let body = try Fixture.payload("push")
        try await harness.application.test(.router) { client in
            let response = try await client.deliver(body)
            #expect(response.status == .accepted)
        }
        #expect(budget.inUse == 0)
    }

    /// A chunked body with no Content-Length, on a real socket: refused once 25 MB arrived, not
    /// after buffering all of it, and nothing stored.
    @Test func refusedWhileStreaming() async throws {
        let harness = try HTTPHarness()
        try await withServer(harness) { port in
            let chunk = [UInt8](repeating: UInt8(ascii: " "), count: 1 << 20)
            let head = Self.head(signature: WebhookSignature.sign(chunk, secret: HTTPHarness.secret), extra: "Transfer-Encoding: chunked")
            // 64 MB offered; the server must answer before taking all of it.
            let result = try await RawHTTPClient(port: port).sendChunkedOnThread(head: head, chunks: [[UInt8]](repeating: chunk, count: 64))
            #expect(result.status == 413, "response: \(result.response.prefix(300))")
            #expect(result.sent < 48 * (1 << 20), "sent \(result.sent) bytes before the answer")
            print("413 after \(result.sent) body bytes sent")
        }
        #expect(try harness.isEmpty())
    }
}
