import CInletABI
import Foundation
import GRDB
import Logging
import Testing

@testable import InletCore

/// A database, a clock that moves only when told, the host's HTTP service over them, and a real
/// server for it to talk to.
final class HTTPServiceHarness {
    let directory: TemporaryDirectory
    let database: InletDatabase
    let clock: ManualClock
    let service: HTTPService
    let server: UpstreamTestServer
    let logs = CapturedLogs()

    init(respond: @escaping @Sendable (UpstreamTestServer.Seen) -> UpstreamTestServer.Answer) async throws {
        directory = try TemporaryDirectory()
        database = try InletDatabase(path: directory.file("inlet.db"))
        // Whole seconds: the rate-limit headers carry epoch seconds.
        clock = ManualClock(Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down)))
        service = HTTPService(clock: clock)
        server = try await UpstreamTestServer(respond: respond)
    }

    /// A job call of `source` (a dry run: nothing it stages is committed) using the service.
    func call(source: String = "acme") -> PluginCall {
        PluginCall(source: source, mode: .job(commit: nil), logger: logs.logger(), http: service)
    }

    func get(_ path: String, source: String = "acme", headers: String? = nil, flags: UInt32 = 0) async -> HostHTTP.Outcome {
        await HostHTTP.perform(call(source: source), url: server.url(path), headers: headers, flags: flags)
    }

    func stop() async { await server.stop() }
}

@Suite("Host HTTP service (libcurl) through host->http, against a real server")
struct HTTPServiceTests {
    @Test func aGetIsAnsweredWithStatusHeadersAndBody() async throws {
        let harness = try await HTTPServiceHarness { seen in
            .init(201, headers: [("X-One", "1"), ("X-Multi", "a"), ("X-Multi", "b"), ("Content-Type", "text/plain")], "hello \(seen.path)")
        }
        let outcome = await harness.get("/greeting?name=x", headers: "Accept: text/plain\r\nX-Custom:  padded value \n\n")
        await harness.stop()
        #expect(outcome.status == .ok, "\(outcome.error ?? "")")
        #expect(outcome.httpStatus == 201)
        #expect(outcome.text == "hello /greeting")
        #expect(outcome.notModified == false)
        // Names in lowercase, in the order received, repeated fields kept.
        #expect(outcome.headers.filter { $0.name == "x-multi" }.map(\.value) == ["a", "b"])
        #expect(outcome.header("x-one") == "1")
        #expect(outcome.header("content-type") == "text/plain")
        let seen = try #require(harness.server.requests.first)
        #expect(harness.server.requests.count == 1)
        #expect(seen.method == "GET")
        #expect(seen.query == "name=x")
        #expect(seen.header("accept") == "text/plain")
        #expect(seen.header("x-custom") == "padded value")
    }
}
