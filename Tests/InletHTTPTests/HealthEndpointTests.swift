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
