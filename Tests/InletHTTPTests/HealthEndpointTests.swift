import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import InletCore
import InletHTTP
import Testing

@Suite("GET /health")
struct HealthEndpointTests {
    @Test func healthyWithEverySourceAndTheQueue() async throws {
        let harness = try HTTPHarness()
        let body = try Fixture.payload("push")
        try await harness.application.test(.router) { client in
            _ = try await client.deliver(body)
            _ = try await client.deliver(body, secret: "wrong")
            try await client.execute(uri: "/health", method: .get) { response in
                #expect(response.status == .ok)
                let report = try JSONDecoder.iso.decode(HealthReport.self, from: Data(response.body.readableBytesView))
                #expect(report.status == "healthy")
                #expect(report.queue == HealthReport.Queue(size: 1, max: 100, usagePercent: 1, backpressure: false))
                let acme = try #require(report.sources.first { $0.name == "acme" })
                #expect(acme.status == "ok")
                #expect(acme.circuitBreaker == "closed")
                #expect(acme.eventsReceived == 2 && acme.eventsQueued == 1 && acme.errors == 1)
                #expect(report.sources.map(\.name) == ["acme", "plain"])
                // The raw shape, key by key.
                let json = response.body.json
                let queue = json["queue"] as? [String: Any]
                #expect(Set(queue?.keys ?? [:].keys) == ["size", "max", "usage_percent", "backpressure"])
                let first = (json["sources"] as? [[String: Any]])?.first
                #expect(first?["events_received"] as? Int == 2)
            }
        }
    }

    @Test func degradedWhenABreakerIsOpenOrASyncFailed() async throws {
        let harness = try HTTPHarness()
        try await harness.database.pool.write { db in
            try db.execute(sql: """
                INSERT INTO source_status (source, breaker_state, consecutive_failures, stuck_calls, last_sync_at, last_outcome,
                    last_error, next_run_at, updated_at)
                VALUES ('plain', 'open', 5, 0, 1700000000, 'failed', 'HTTP 503', 1700000300, 1700000000)
                """)
        }
        try await harness.application.test(.router) { client in
            try await client.execute(uri: "/health", method: .get) { response in
                #expect(response.status == .ok)
                let report = try JSONDecoder.iso.decode(HealthReport.self, from: Data(response.body.readableBytesView))
                #expect(report.status == "degraded")
                let plain = try #require(report.sources.first { $0.name == "plain" })
                #expect(plain.status == "degraded")
                #expect(plain.circuitBreaker == "open")
                #expect(plain.lastOutcome == "failed")
                #expect(plain.lastSyncAt == Date(timeIntervalSince1970: 1_700_000_000))
                #expect(plain.nextRunAt == Date(timeIntervalSince1970: 1_700_000_300))
            }
        }
    }

    @Test func errorTextsOnlyWithTheAdminToken() async throws {
        // What a failed sync's error names (hosts, URLs, paths) is nobody's business but the
        // operator's: /health answers anyone who can reach it.
        let harness = try HTTPHarness()
        try await harness.database.pool.write { db in
            try db.execute(sql: """
                INSERT INTO source_status (source, breaker_state, consecutive_failures, stuck_calls, last_sync_at, last_outcome,
                    last_error, updated_at)
                VALUES ('plain', 'closed', 1, 0, 1700000000, 'failed', 'cannot read /srv/private/ledger.csv', 1700000000)
                """)
        }
        try await harness.application.test(.router) { client in
            func reason(_ headers: HTTPFields) async throws -> (HTTPResponse.Status, String?, String) {
                try await client.execute(uri: "/health", method: .get, headers: headers) { response in
                    let text = String(buffer: response.body)
                    let report = try? JSONDecoder.iso.decode(HealthReport.self, from: Data(response.body.readableBytesView))
                    return (response.status, report?.sources.first { $0.name == "plain" }?.reason, text)
                }
            }
            let anonymous = try await reason([:])
            #expect(anonymous.0 == .ok && anonymous.1 == "last sync failed")
            #expect(!anonymous.2.contains("/srv/private"))
            let withToken = try await reason([.authorization: "Bearer t0ken"])
            #expect(withToken.0 == .ok && withToken.1 == "last sync failed: cannot read /srv/private/ledger.csv")
            let mistyped = try await reason([.authorization: "Bearer t0ke"])
            #expect(mistyped.0 == .unauthorized && !mistyped.2.contains("/srv/private"))
        }
    }

    @Test func aLoadErrorIsNamedOnlyWithDetail() throws {
        let config = try ConfigLoader.load(yaml: HTTPHarness.yaml(), file: "/i.yaml", environment: [:])
        let loadError = "inlet.yaml:9: cannot load /opt/secret-plugins/libx.so: no such file"
        let runtime = [Orchestrator.SourceSnapshot(name: "plain", running: 0, breaker: "closed", stuckCalls: 0, disabledReason: nil, loadError: loadError)]
        // The daemon also records it, for `inlet status`, as the source's disabled reason.
        let recorded = ["plain": SourceStatusStore.Row(source: "plain", disabledReason: Orchestrator.cannotRunPrefix + loadError, updatedAt: Date())]
        for (status, live) in [([String: SourceStatusStore.Row](), runtime), (recorded, nil)] {
            let terse = HealthReport.make(config: config, status: status, runtime: live, stats: WebhookStats(), depth: [:], detail: false)
            let plain = try #require(terse.sources.first { $0.name == "plain" })
            #expect(plain.status == "disabled" && plain.reason == "cannot run: its plugin or its config block did not load")
            let full = HealthReport.make(config: config, status: status, runtime: live, stats: WebhookStats(), depth: [:], detail: true)
            #expect(full.sources.first { $0.name == "plain" }?.reason?.contains("/opt/secret-plugins/libx.so") == true)
        }
        // The watchdog's verdict is the host's own words: shown to anyone.
        let stuck = [Orchestrator.SourceSnapshot(name: "plain", running: 0, breaker: "closed", stuckCalls: 3, disabledReason: "disabled by the watchdog: 3 plugin calls did not return within timeout + cancel_grace", loadError: nil)]
        // Its stored next run will not come while it is disabled.
        let scheduled = ["plain": SourceStatusStore.Row(source: "plain", nextRunAt: Date(timeIntervalSince1970: 1_700_000_300), updatedAt: Date())]
        let terse = HealthReport.make(config: config, status: scheduled, runtime: stuck, stats: WebhookStats(), depth: [:], detail: false)
        #expect(terse.sources.first { $0.name == "plain" }?.reason?.hasPrefix("disabled by the watchdog: 3 plugin calls") == true)
        #expect(terse.sources.first { $0.name == "plain" }?.nextRunAt == nil)
        let running = HealthReport.make(config: config, status: scheduled, runtime: nil, stats: WebhookStats(), depth: [:], detail: false)
        #expect(running.sources.first { $0.name == "plain" }?.nextRunAt == Date(timeIntervalSince1970: 1_700_000_300))
    }

    @Test func unhealthyWith503WhenTheQueueIsFull() async throws {
        let harness = try HTTPHarness(yaml: HTTPHarness.yaml(maxSize: 2))
        _ = try harness.queue.enqueue(JobRequest(source: "plain"))
        _ = try harness.queue.enqueue(JobRequest(source: "acme"))
        try await harness.application.test(.router) { client in
            try await client.execute(uri: "/health", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                let report = try JSONDecoder.iso.decode(HealthReport.self, from: Data(response.body.readableBytesView))
                #expect(report.status == "unhealthy")
                #expect(report.queue == HealthReport.Queue(size: 2, max: 2, usagePercent: 100, backpressure: true))
            }
        }
    }

    @Test func aRateLimitedLastSyncLeavesTheSourceOkAndAFailedOneDegradesIt() throws {
        let config = try ConfigLoader.load(yaml: HTTPHarness.yaml(), file: "/i.yaml", environment: [:])
        func row(_ outcome: String) -> SourceStatusStore.Row {
            SourceStatusStore.Row(source: "plain", lastOutcome: outcome, updatedAt: Date())
        }
        for (outcome, verdict) in [("succeeded", "ok"), ("rate_limited", "ok"), ("failed", "degraded"), ("interrupted", "degraded")] {
            let report = HealthReport.make(config: config, status: ["plain": row(outcome)], runtime: nil, stats: WebhookStats(), depth: [:])
            #expect(report.sources.first { $0.name == "plain" }?.status == verdict, "\(outcome)")
        }
    }

    @Test func unhealthyWhenEverySourceIsDisabled() throws {
        let config = try ConfigLoader.load(yaml: HTTPHarness.yaml(), file: "/i.yaml", environment: [:])
        let runtime = config.sources.map {
            Orchestrator.SourceSnapshot(name: $0.name, running: 0, breaker: "closed", stuckCalls: 3, disabledReason: "3 stuck calls", loadError: nil)
        }
        let report = HealthReport.make(config: config, status: [:], runtime: runtime, stats: WebhookStats(), depth: [:])
        #expect(report.status == "unhealthy")
        #expect(report.sources.allSatisfy { $0.status == "disabled" && $0.reason == "3 stuck calls" })
    }
}

extension JSONDecoder {
    static var iso: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}
