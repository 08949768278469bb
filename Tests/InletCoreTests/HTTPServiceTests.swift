import CInletABI
import Foundation
import GRDB
import Logging
import Synchronization
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
        service = HTTPService(database: database, clock: clock)
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
        #expect(outcome.buffersNULTerminated)
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

    // MARK: - ETag / Last-Modified cache

    @Test func aSecondGetSendsTheETagAndGetsTheCachedBodyMarkedNotModified() async throws {
        let harness = try await HTTPServiceHarness { seen in
            if seen.header("if-none-match") == "\"v1\"" { return .init(304, headers: [("ETag", "\"v1\"")]) }
            return .init(200, headers: [("ETag", "\"v1\""), ("X-Page", "1")], "first body")
        }
        let first = await harness.get("/repos/acme/app")
        let second = await harness.get("/repos/acme/app")
        await harness.stop()
        #expect(first.status == .ok && first.httpStatus == 200 && !first.notModified)
        #expect(second.status == .ok)
        #expect(second.notModified)
        #expect(second.httpStatus == 200)  // the cached answer's status, headers and body
        #expect(second.text == "first body")
        #expect(second.header("x-page") == "1")
        let requests = harness.server.requests
        #expect(requests.count == 2)
        #expect(requests.map(\.path) == ["/repos/acme/app", "/repos/acme/app"])
        #expect(requests.map { $0.header("if-none-match") } == [nil, "\"v1\""])
        #expect(requests.map { $0.header("if-modified-since") } == [nil, nil])
    }

    @Test func answersCachedLongAgoAreForgottenAndTheURLIsAskedUnconditionally() async throws {
        let harness = try await HTTPServiceHarness { seen in
            if seen.header("if-none-match") == "\"v1\"" { return .init(304, headers: [("ETag", "\"v1\"")]) }
            return .init(200, headers: [("ETag", "\"v1\"")], "body")
        }
        _ = await harness.get("/old")
        harness.clock.advance(by: .seconds(3600))
        _ = await harness.get("/recent")
        let cache = HTTPCacheStore(database: harness.database)
        #expect(try cache.evict(storedBefore: harness.clock.now.addingTimeInterval(-60)) == 1)
        _ = await harness.get("/old")
        _ = await harness.get("/recent")
        await harness.stop()
        let conditional = harness.server.requests.map { "\($0.path) \($0.header("if-none-match") ?? "-")" }
        #expect(conditional == ["/old -", "/recent -", "/old -", "/recent \"v1\""])
    }

    @Test func lastModifiedIsSentBackAsIfModifiedSince() async throws {
        let stamp = "Tue, 01 Dec 2026 08:00:00 GMT"
        let harness = try await HTTPServiceHarness { seen in
            if seen.header("if-modified-since") == stamp { return .init(304) }
            return .init(200, headers: [("Last-Modified", stamp)], "dated")
        }
        _ = await harness.get("/dated")
        let second = await harness.get("/dated")
        await harness.stop()
        #expect(second.notModified && second.text == "dated")
        #expect(harness.server.requests.map { $0.header("if-modified-since") } == [nil, stamp])
        #expect(harness.server.requests.allSatisfy { $0.header("if-none-match") == nil })
    }

    @Test func theCacheIsPerSourceAndPerAcceptHeader() async throws {
        let harness = try await HTTPServiceHarness { seen in
            let tag = "\"\(seen.header("accept") ?? "none")\""
            if seen.header("if-none-match") == tag { return .init(304) }
            return .init(200, headers: [("ETag", tag)], "as \(seen.header("accept") ?? "none")")
        }
        _ = await harness.get("/x", headers: "Accept: application/json")
        let raw = await harness.get("/x", headers: "Accept: application/vnd.github.raw")
        let otherSource = await harness.get("/x", source: "other", headers: "Accept: application/json")
        let again = await harness.get("/x", headers: "Accept: application/json")
        await harness.stop()
        #expect(!raw.notModified && raw.text == "as application/vnd.github.raw")
        #expect(!otherSource.notModified)
        #expect(again.notModified && again.text == "as application/json")
        #expect(harness.server.requests.map { $0.header("if-none-match") } == [nil, nil, nil, "\"application/json\""])
        let rows = try harness.database.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT source, cache_key, url, etag FROM http_cache ORDER BY source, cache_key")
        }
        #expect(rows.map { $0["source"] as String } == ["acme", "acme", "other"])
        #expect(rows.map { $0["cache_key"] as String }.first == harness.server.url("/x") + "\napplication/json")
    }

    @Test func noCacheSendsNoValidatorsAndStoresNothing() async throws {
        let harness = try await HTTPServiceHarness { _ in .init(200, headers: [("ETag", "\"blob\"")], "immutable") }
        let first = await harness.get("/blobs/abc", flags: INLET_HTTP_NO_CACHE)
        let second = await harness.get("/blobs/abc", flags: INLET_HTTP_NO_CACHE)
        await harness.stop()
        #expect(first.text == "immutable" && second.text == "immutable" && !second.notModified)
        #expect(harness.server.requests.allSatisfy { $0.header("if-none-match") == nil })
        #expect(try await harness.database.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM http_cache") } == 0)
    }

    @Test func aPluginsOwnValidatorsWinAndItsOwn304IsHandedOnAsIs() async throws {
        let harness = try await HTTPServiceHarness { seen in
            if seen.header("if-none-match") != nil { return .init(304, headers: [("ETag", "\"v1\"")]) }
            return .init(200, headers: [("ETag", "\"v1\"")], "body")
        }
        _ = await harness.get("/own")
        let own = await harness.get("/own", headers: "If-None-Match: \"mine\"")
        await harness.stop()
        #expect(own.status == .ok && own.httpStatus == 304 && !own.notModified && own.body.isEmpty)
        #expect(harness.server.requests.map { $0.header("if-none-match") } == [nil, "\"mine\""])
    }

    @Test func aServiceThatStoresNothingStillSendsTheStoredValidators() async throws {
        let harness = try await HTTPServiceHarness { seen in
            if seen.header("if-none-match") == "\"v1\"" { return .init(304) }
            return .init(200, headers: [("ETag", "\"\(seen.path == "/kept" ? "v1" : "v2")\"")], "body")
        }
        _ = await harness.get("/kept")  // stored by the harness's service
        // A dry run's service: reads the cache, writes nothing.
        let dry = HTTPService(database: harness.database, clock: harness.clock, storesAnswers: false)
        let dryCall = PluginCall(source: "acme", mode: .job(commit: nil), logger: harness.logs.logger(), http: dry)
        let kept = await HostHTTP.perform(dryCall, url: harness.server.url("/kept"))
        let fresh = await HostHTTP.perform(dryCall, url: harness.server.url("/fresh"))
        await harness.stop()
        #expect(kept.notModified && kept.text == "body")
        #expect(!fresh.notModified)
        let keys = try await harness.database.pool.read { db in try String.fetchAll(db, sql: "SELECT url FROM http_cache") }
        #expect(keys == [harness.server.url("/kept")])
    }

    // MARK: - Transport

    @Test func gzipIsUndoneAndItsHeadersDropped() async throws {
        let text = String(repeating: "compressible line\n", count: 200)
        let compressed = try gzip(Array(text.utf8))
        let harness = try await HTTPServiceHarness { _ in
            .init(200, headers: [("Content-Encoding", "gzip"), ("Content-Type", "text/plain")], body: compressed)
        }
        let outcome = await harness.get("/gz")
        await harness.stop()
        #expect(outcome.status == .ok)
        #expect(outcome.text == text)
        #expect(outcome.header("content-encoding") == nil)
        #expect(outcome.header("content-length") == nil)
        #expect(outcome.header("content-type") == "text/plain")
        #expect(harness.server.requests.first?.header("accept-encoding")?.contains("gzip") == true)
    }

    @Test func getRedirectsAreFollowedAndOtherMethodsAreNot() async throws {
        let harness = try await HTTPServiceHarness { seen in
            switch seen.path {
            case "/old": return .init(301, headers: [("Location", "/new")])
            case "/loop": return .init(302, headers: [("Location", "/loop")])
            default: return .init(200, headers: [("X-Final", "yes")], "\(seen.method) \(seen.path)")
            }
        }
        let get = await harness.get("/old")
        let post = await HostHTTP.perform(harness.call(), method: "POST", url: harness.server.url("/old"), body: Array("{}".utf8))
        let loop = await harness.get("/loop")
        await harness.stop()
        #expect(get.status == .ok && get.httpStatus == 200 && get.text == "GET /new" && get.header("x-final") == "yes")
        #expect(post.status == .ok && post.httpStatus == 301)
        #expect(loop.status == .retry)
        let paths = harness.server.requests.map { "\($0.method) \($0.path)" }
        #expect(Array(paths.prefix(3)) == ["GET /old", "GET /new", "POST /old"])
        #expect(paths.filter { $0 == "GET /loop" }.count == 6)  // the first and 5 redirects
        #expect(harness.server.requests[2].body == Array("{}".utf8))
        #expect(harness.server.requests[2].header("expect") == nil)
    }

    @Test func aClosedPortIsANetworkErrorAndRetries() async throws {
        let harness = try await HTTPServiceHarness { _ in .init(200) }
        let port = try closedPort()
        let outcome = await HostHTTP.perform(
            harness.call(), url: "http://127.0.0.1:\(port)/x?token=q", headers: "Authorization: Bearer s3cr3t")
        await harness.stop()
        #expect(outcome.status == .retry)
        #expect(outcome.httpStatus == 0)
        let message = try #require(outcome.error)
        #expect(message.contains("source 'acme'") && message.contains("GET 127.0.0.1:\(port)/x"))
        #expect(!message.contains("s3cr3t") && !message.contains("token=q"))
        #expect(harness.service.upstream.take()["acme"] == [false])
    }

    @Test func aTimeoutRetries() async throws {
        let harness = try await HTTPServiceHarness { _ in .init(200, "late") }
        let outcome = await HostHTTP.perform(harness.call(), url: harness.server.url("/slow"), timeoutMilliseconds: 300)
        await harness.stop()
        #expect(outcome.status == .retry)
        #expect(outcome.error?.contains("timed out") == true)
    }

    @Test func cancellingTheCallStopsARunningRequest() async throws {
        let harness = try await HTTPServiceHarness { _ in .init(200, "late") }
        let call = harness.call()
        let url = harness.server.url("/slow")
        let running = Task { await HostHTTP.perform(call, url: url) }
        // Cancel once the server has the request (the polling is a deadline, not an assertion).
        let deadline = ContinuousClock.now + .seconds(20)
        while harness.server.requests.isEmpty && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        call.cancel()
        let outcome = await running.value
        await harness.stop()
        #expect(outcome.status == .retry)
        #expect(outcome.error?.contains("cancelled") == true)
        // A cancelled request says nothing about the upstream.
        #expect(harness.service.upstream.take()["acme"] == nil)
    }

    @Test func malformedRequestsFailNamingTheSourceAndTheField() async throws {
        let harness = try await HTTPServiceHarness { _ in .init(200) }
        let call = harness.call()
        let ftp = await HostHTTP.perform(call, url: "ftp://example.com/file")
        let relative = await HostHTTP.perform(call, url: "/relative")
        let method = await HostHTTP.perform(call, method: "get", url: harness.server.url("/"))
        let header = await HostHTTP.perform(call, url: harness.server.url("/"), headers: "Accept: a\nno colon here")
        let badName = await HostHTTP.perform(call, url: harness.server.url("/"), headers: "Bad Name: secret-value")
        let credentials = await HostHTTP.perform(call, url: "http://user:pw@127.0.0.1:\(harness.server.port)/")
        let small = await HostHTTP.perform(call, url: harness.server.url("/"), requestSize: 16)
        let smallAnswer = await HostHTTP.perform(call, url: harness.server.url("/"), responseSize: 24)
        await harness.stop()
        for outcome in [ftp, relative, method, header, badName, credentials, small, smallAnswer] {
            #expect(outcome.status == .failed)
            #expect(outcome.error?.hasPrefix("source 'acme': http: ") == true, "\(outcome.error ?? "")")
        }
        #expect(ftp.error?.contains("scheme 'ftp'") == true)
        #expect(method.error?.contains("method 'get'") == true)
        #expect(header.error?.contains("header line 2") == true)
        #expect(badName.error?.contains("'Bad Name'") == true && badName.error?.contains("secret-value") == false)
        #expect(credentials.error?.contains("credentials") == true && credentials.error?.contains("pw") == false)
        #expect(small.error?.contains("request struct_size 16") == true)
        #expect(smallAnswer.error?.contains("response struct_size 24") == true)
        #expect(harness.server.requests.isEmpty)
    }

    @Test func logsNameMethodHostPathAndStatusButNeverATokenOrQuery() async throws {
        let harness = try await HTTPServiceHarness { seen in
            seen.path == "/limited"
                ? .init(429, headers: [("Retry-After", "5")], "slow down")
                : .init(200, headers: [("ETag", "\"t\"")], "ok")
        }
        let headers = "Authorization: token ghp_SECRETTOKEN123\nX-Api-Key: KEYVALUE456"
        _ = await harness.get("/repos/acme/app?access_token=QUERYSECRET", headers: headers)
        _ = await harness.get("/repos/acme/app?access_token=QUERYSECRET", headers: headers)
        let limited = await harness.get("/limited?sig=QUERYSECRET", headers: headers)
        await harness.stop()
        let logs = harness.logs.all
        #expect(logs.contains { $0.contains("GET 127.0.0.1:\(harness.server.port)/repos/acme/app 200") })
        #expect(logs.contains { $0.contains("/limited 429") })
        for secret in ["ghp_SECRETTOKEN123", "KEYVALUE456", "QUERYSECRET", "Authorization", "authorization"] {
            #expect(!logs.contains { $0.contains(secret) }, "\(secret) logged")
            #expect(limited.error?.contains(secret) != true)
        }
        #expect(harness.server.requests.first?.header("authorization") == "token ghp_SECRETTOKEN123")
    }

    // MARK: - Rate limits

    @Test func aSpentBudgetSendsNothingUntilItsReset() async throws {
        let harness = try await HTTPServiceHarness { _ in .init(200, "never") }
        let reset = Int(harness.clock.now.timeIntervalSince1970) + 60
        let budget = Budget()
        await harness.server.setResponder { seen in
            let remaining = budget.next()
            return .init(200, headers: [("X-RateLimit-Remaining", "\(remaining)"), ("X-RateLimit-Reset", "\(reset)"),
                                        ("X-RateLimit-Resource", "core")], "left \(remaining)")
        }
        let first = await harness.get("/repos/a")
        let spent = await harness.get("/repos/b")    // answered with remaining 0: the budget is spent
        let held = await harness.get("/repos/c")     // not sent
        let otherRoute = await harness.get("/orgs/acme")  // same host, route not seen yet: its host's resource
        let otherSource = await harness.get("/repos/c", source: "other")
        harness.clock.advance(by: .seconds(60))        // the reset, but not its second of slack
        let stillHeld = await harness.get("/repos/c")
        harness.clock.advance(by: .seconds(1))
        let after = await harness.get("/repos/c")
        await harness.stop()
        #expect(first.status == .ok && first.text == "left 1")
        #expect(spent.status == .ok && spent.text == "left 0")
        #expect(held.status == .rateLimited)
        #expect(held.retryAfterMilliseconds == 61_000)
        #expect(held.errorRetryAfterMilliseconds == 61_000)
        #expect(held.error?.contains("not sent") == true && held.error?.contains("resource core") == true)
        #expect(otherRoute.status == .rateLimited)
        #expect(otherSource.status == .ok)
        #expect(stillHeld.status == .rateLimited && stillHeld.retryAfterMilliseconds == 1000)
        #expect(after.status == .ok)
        #expect(harness.server.requests.map(\.path) == ["/repos/a", "/repos/b", "/repos/c", "/repos/c"])
        #expect(harness.service.rateLimitBudget(source: "acme", resource: "core")?.remaining == 0)
    }

    @Test(arguments: [429, 403])
    func retryAfterOnARefusalHoldsTheWholeSource(status: Int) async throws {
        let harness = try await HTTPServiceHarness { seen in
            seen.path == "/search" ? .init(status, headers: [("Retry-After", "30")], "You have exceeded a secondary rate limit") : .init(200, "fine")
        }
        let refused = await harness.get("/search")
        let held = await harness.get("/repos/x")
        harness.clock.advance(by: .seconds(30))
        let after = await harness.get("/repos/x")
        await harness.stop()
        #expect(refused.status == .rateLimited)
        #expect(refused.retryAfterMilliseconds == 30_000 && refused.errorRetryAfterMilliseconds == 30_000)
        #expect(refused.httpStatus == status && refused.text.contains("secondary"))  // the refusal itself is handed on
        #expect(refused.error?.contains("Retry-After 30 s") == true)
        #expect(held.status == .rateLimited && held.retryAfterMilliseconds == 30_000)
        #expect(after.status == .ok)
        #expect(harness.server.requests.map(\.path) == ["/search", "/repos/x"])
    }

    @Test func aRefusalWithTheBudgetAtZeroWaitsForTheReset() async throws {
        let harness = try await HTTPServiceHarness { _ in .init(200) }
        let reset = Int(harness.clock.now.timeIntervalSince1970) + 120
        await harness.server.setResponder { _ in
            .init(403, headers: [("X-RateLimit-Remaining", "0"), ("X-RateLimit-Reset", "\(reset)")], "API rate limit exceeded")
        }
        let refused = await harness.get("/repos/a")
        let held = await harness.get("/repos/b")
        await harness.stop()
        #expect(refused.status == .rateLimited && refused.retryAfterMilliseconds == 121_000)
        #expect(held.status == .rateLimited && held.retryAfterMilliseconds == 121_000)
        #expect(harness.server.requests.count == 1)
    }

    @Test func aSecondaryLimitWithoutHeadersWaitsAMinuteAndDoublesOnRepeats() async throws {
        let harness = try await HTTPServiceHarness { seen in
            seen.path == "/fine" ? .init(200, "ok") : .init(403, "You have exceeded a secondary rate limit. Please wait a few minutes.")
        }
        let first = await harness.get("/a")
        harness.clock.advance(by: .seconds(60))
        let second = await harness.get("/a")
        let held = await harness.get("/fine")
        harness.clock.advance(by: .seconds(120))
        let fine = await harness.get("/fine")
        let afterSuccess = await harness.get("/a")
        await harness.stop()
        #expect(first.status == .rateLimited && first.retryAfterMilliseconds == 60_000)
        #expect(second.status == .rateLimited && second.retryAfterMilliseconds == 120_000)
        #expect(held.status == .rateLimited)
        #expect(fine.status == .ok)
        #expect(afterSuccess.retryAfterMilliseconds == 60_000)  // an answer in between starts over
        #expect(harness.server.requests.map(\.path) == ["/a", "/a", "/fine", "/a"])
    }

    @Test func aPlain403IsAnAnswer() async throws {
        let harness = try await HTTPServiceHarness { _ in .init(403, "Resource not accessible by integration") }
        let outcome = await harness.get("/private")
        await harness.stop()
        #expect(outcome.status == .ok && outcome.httpStatus == 403)
    }

    // MARK: - Circuit breaker

    @Test func fiveHundredsAndNetworkErrorsAreReportedAsUpstreamFailures() async throws {
        let harness = try await HTTPServiceHarness { seen in seen.path == "/down" ? .init(503, "unavailable") : .init(200, "up") }
        let down = await harness.get("/down")
        _ = await harness.get("/down")
        _ = await harness.get("/up")
        _ = await harness.get("/up")
        _ = await harness.get("/down")
        await harness.stop()
        #expect(down.status == .ok && down.httpStatus == 503)  // an answer all the same
        #expect(harness.service.upstream.take()["acme"] == [false, false, true, false])
    }
}

/// Remaining budgets 1, 0, 0, … for a scripted server.
final class Budget: Sendable {
    private let left = Mutex(1)
    func next() -> Int { left.withLock { value in defer { value = max(0, value - 1) }; return value } }
}

/// `gzip -c -n` of `bytes`: real gzip, not a hand-made one.
func gzip(_ bytes: [UInt8]) throws -> [UInt8] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/gzip")
    process.arguments = ["-c", "-n"]
    let input = Pipe()
    let output = Pipe()
    process.standardInput = input
    process.standardOutput = output
    try process.run()
    input.fileHandleForWriting.write(Data(bytes))
    try input.fileHandleForWriting.close()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return Array(data)
}

/// A TCP port on 127.0.0.1 nothing listens on: bound, then closed.
func closedPort() throws -> Int {
    let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(socket) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Bool in
            bind(socket, pointer, length) == 0 && getsockname(socket, pointer, &length) == 0
        }
    }
    guard bound else { throw CCompiler.CompileError(message: "cannot bind a socket") }
    return Int(UInt16(bigEndian: address.sin_port))
}
