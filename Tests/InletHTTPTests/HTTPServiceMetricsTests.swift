import Foundation
import HTTPTypes
import Hummingbird
import InletCore
import Logging
import ServiceLifecycle
import Testing

@Suite("Metrics of the host's HTTP service")
struct HTTPServiceMetricsTests {
    @Test func requestsAreCountedBySourceHostAndStatusAndTheBudgetIsAGauge() async throws {
        let source = "http-\(UUID().uuidString.prefix(8).lowercased())"
        _ = TestMetrics.registry
        let router = Router()
        router.get("ok") { _, _ -> Response in
            var headers = HTTPFields()
            headers[HTTPField.Name("X-RateLimit-Remaining")!] = "4321"
            headers[HTTPField.Name("X-RateLimit-Reset")!] = "\(Int(Date().timeIntervalSince1970) + 3600)"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: "fine")))
        }
        router.get("down") { _, _ in Response(status: .serviceUnavailable) }
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let application = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { continuation.yield($0.localAddress?.port ?? 0) }, logger: Logger(label: "metrics-upstream"))
        let group = ServiceGroup(services: [application], logger: Logger(label: "metrics-upstream"))
        let server = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())

        let service = HTTPService()
        let logger = Logger(label: "metrics-test")
        let paths = ["/ok", "/ok", "/down"]
        for path in paths {
            let url = "http://127.0.0.1:\(port)\(path)"
            _ = await PluginThread.run(name: "metrics-test") {
                try? service.perform(UpstreamRequest(url: url), source: source, logger: logger, isCancelled: { false })
            }
        }
        // A closed port: no answer.
        _ = await PluginThread.run(name: "metrics-test") {
            try? service.perform(UpstreamRequest(url: "http://127.0.0.1:1/x"), source: source, logger: logger, isCancelled: { false })
        }
        await group.triggerGracefulShutdown()
        _ = try? await server.value

        let metrics = try PrometheusText(TestMetrics.registry.emitToString())
        let host = "127.0.0.1:\(port)"
        #expect(metrics.value("inlet_http_requests_total", ["source": source, "host": host, "status": "200"]) == 2)
        #expect(metrics.value("inlet_http_requests_total", ["source": source, "host": host, "status": "503"]) == 1)
        #expect(metrics.value("inlet_http_requests_total", ["source": source, "host": "127.0.0.1:1", "status": "error"]) == 1)
        #expect(metrics.value("inlet_rate_limit_remaining", ["source": source]) == 4321)
        #expect(metrics.types["inlet_http_requests_total"] == "counter")
        #expect(metrics.types["inlet_rate_limit_remaining"] == "gauge")
    }
}
