import Foundation
import Logging
import ServiceLifecycle
import Testing

@testable import InletCore

/// GitHub's limits and failures as the host and the connector meet them together: a spent
/// primary rate limit, a secondary limit with Retry-After, bursts of 5xx that open the
/// source's breaker. The time is the host's injected clock: nothing sleeps.
@Suite("GitHub connector: rate limits, breaker")
struct GitHubLimitsTests {
    static func oneRepository(_ world: inout FakeGitHub) {
        world.owners["acme"] = "orgs"
        var widgets = FakeGitHub.Repository(owner: "acme", name: "widgets")
        for index in 0..<6 { widgets.files["f\(index).txt"] = Array("file \(index)\n".utf8) }
        world.addRepository(widgets)
    }

    @Test func aSpentPrimaryRateLimitStopsEveryRequestUntilTheReset() async throws {
        let clock = ManualClock(Date())
        let reset = Int(clock.now.timeIntervalSince1970) + 600
        let harness = try await GitHubHarness.start(config: ["owner": "acme", "issues": false, "pull_requests": false], clock: clock) { world in
            Self.oneRepository(&world)
            // Four requests left: the listing, the head, the tree, one blob; the fourth answer says 0.
            world.remaining = 4
            world.reset = reset
        }
        defer { Task { await harness.stop() } }

        let discovery = try await harness.run()
        #expect(discovery.ok)
        let job = try #require(discovery.followUps.first)
        let limited = try await harness.run(job.kind, args: ["repo": "acme/widgets"])
        #expect(limited.status == .rateLimited, "\(limited.message ?? "")")
        let waited = try #require(limited.retryAfter)
        #expect(waited > .seconds(500) && waited <= .seconds(601), "until the reset: \(waited)")
        let spent = harness.standIn.requests(reset: true)
        #expect(spent.count == 4, "\(spent)")
        #expect(spent.allSatisfy { $0.status == 200 }, "GitHub never had to refuse: \(spent)")

        // Before the reset: nothing is sent at all.
        let again = try await harness.run(job.kind, args: ["repo": "acme/widgets"])
        #expect(again.status == .rateLimited)
        #expect(harness.standIn.requests().isEmpty)

        // After it: the job completes; the blob already fetched was not committed, so it is fetched again.
        clock.advance(by: .seconds(601))
        harness.standIn.world.withLock { world in
            world.remaining = 5000
            world.reset = reset + 3600
        }
        let done = try await harness.run(job.kind, args: ["repo": "acme/widgets"])
        #expect(done.ok, "\(done.message ?? "")")
        #expect(try harness.live().keys.filter { $0.contains("/files/") }.count == 6)
    }

    @Test(arguments: [403, 429])
    func aSecondaryRateLimitIsHonouredForItsRetryAfter(status: Int) async throws {
        let clock = ManualClock(Date())
        let harness = try await GitHubHarness.start(config: ["owner": "acme", "issues": false, "pull_requests": false], clock: clock) { world in
            Self.oneRepository(&world)
            // GitHub's documented secondary limit: 403 (or 429) with retry-after, budget left.
            world.scripted["/orgs/acme/repos"] = [ScriptedAnswer(
                status: status, headers: ["retry-after": "30", "content-type": "application/json"],
                body: #"{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}"#)]
        }
        defer { Task { await harness.stop() } }

        let limited = try await harness.run()
        #expect(limited.status == .rateLimited, "\(limited.message ?? "")")
        #expect(limited.retryAfter == .seconds(30))
        #expect(harness.standIn.requests(reset: true).map(\.status) == [status])

        // Within the 30 seconds nothing is sent; after them the listing is asked for again.
        clock.advance(by: .seconds(10))
        #expect(try await harness.run().status == .rateLimited)
        #expect(harness.standIn.requests().isEmpty)
        clock.advance(by: .seconds(21))
        let done = try await harness.run()
        #expect(done.ok, "\(done.message ?? "")")
        #expect(harness.standIn.requests().lines == ["GET /orgs/acme/repos"])
        #expect(done.followUps.map(\.uniqueKey) == ["repo:acme/widgets"])
    }
}
