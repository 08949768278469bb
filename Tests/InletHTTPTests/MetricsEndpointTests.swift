import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import InletCore
import InletHTTP
import Testing

@Suite("GET /metrics")
struct MetricsEndpointTests {
    @Test func servesEveryMetricInPrometheusTextFormat() async throws {
        let source = "metrics-\(UUID().uuidString.prefix(8).lowercased())"
        let harness = try HTTPHarness(yaml: HTTPHarness.yaml(source: source))
        _ = TestMetrics.registry
        InletMetrics.jobFinished(source: source, kind: "sync", outcome: "succeeded", duration: .milliseconds(1500))
        InletMetrics.coalesced(source: source)
        InletMetrics.records(source: source, written: 7, deleted: 0)
        InletMetrics.circuitState(source: source, value: 1)
        // Two real quarantine entries: the gauge is refreshed from the database at each scrape.
        let quarantine = QuarantineStore(database: harness.database, queue: harness.queue)
        try await harness.database.pool.write { db in
            for key in ["a.txt", "b.txt"] {
                try db.execute(
                    sql: "INSERT INTO quarantine (source, kind, key, error, created_at) VALUES (?, 'item', ?, 'bad', 'now')",
                    arguments: [source, key])
            }
        }
        let body = try Fixture.payload("push")
        try await harness.application.test(.router) { client in
            for secret in [HTTPHarness.secret, HTTPHarness.secret, "wrong"] {
                _ = try await client.deliver(body, to: source, secret: secret)
            }
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
                let metrics = try PrometheusText(response.body.text)
                #expect(metrics.value("inlet_webhooks_total", ["source": source, "event": "push", "outcome": "accepted"]) == 2)
                #expect(metrics.value("inlet_webhooks_total", ["source": source, "event": "unverified", "outcome": "unauthorized"]) == 1)
                #expect(metrics.value("inlet_jobs_total", ["source": source, "kind": "sync", "outcome": "succeeded"]) == 1)
                #expect(metrics.value("inlet_job_duration_seconds_count", ["source": source, "kind": "sync"]) == 1)
                #expect(metrics.value("inlet_job_duration_seconds_sum", ["source": source, "kind": "sync"]) == 1.5)
                #expect(metrics.value("inlet_job_duration_seconds_bucket", ["source": source, "kind": "sync", "le": "+Inf"]) == 1)
                // Buckets up to an hour: a sync of minutes is not lost in +Inf.
                #expect(metrics.value("inlet_job_duration_seconds_bucket", ["source": source, "kind": "sync", "le": "1.0"]) == 0)
                #expect(metrics.value("inlet_job_duration_seconds_bucket", ["source": source, "kind": "sync", "le": "5.0"]) == 1)
                #expect(metrics.value("inlet_job_duration_seconds_bucket", ["source": source, "kind": "sync", "le": "3600.0"]) == 1)
                #expect(metrics.value("inlet_jobs_coalesced_total", ["source": source]) == 1)
                #expect(metrics.value("inlet_records_written_total", ["source": source]) == 7)
                #expect(metrics.value("inlet_circuit_state", ["source": source]) == 1)
                #expect(metrics.value("inlet_quarantined", ["source": source]) == 2)
                // Refreshed from the database at the scrape (this process's queue: the two accepted deliveries, at least).
                #expect(metrics.value("inlet_queue_depth", ["state": "queued"]) != nil)
                #expect(metrics.types["inlet_webhooks_total"] == "counter")
                #expect(metrics.types["inlet_job_duration_seconds"] == "histogram")
                #expect(metrics.types["inlet_queue_depth"] == "gauge")
                // One label scheme: each metric always carries the same label names.
                #expect(metrics.labelNames("inlet_webhooks_total") == [["source", "event", "outcome"]])
                #expect(metrics.labelNames("inlet_jobs_total") == [["source", "kind", "outcome"]])
                #expect(metrics.labelNames("inlet_job_duration_seconds") == [["source", "kind"]])
            }
            // Once its entries are gone (dropped, retried) the source reads 0, not its last count.
            for entry in try quarantine.list(source: source) { try quarantine.drop(id: entry.id) }
            try await client.execute(uri: "/metrics", method: .get) { response in
                let metrics = try PrometheusText(response.body.text)
                #expect(metrics.value("inlet_quarantined", ["source": source]) == 0)
            }
        }
    }

    @Test func parserRefusesMalformedLines() throws {
        #expect(throws: PrometheusText.ParseError.self) { try PrometheusText("inlet_x{source=\"a\" 1\n") }
        #expect(throws: PrometheusText.ParseError.self) { try PrometheusText("inlet_x{source=a} 1\n") }
        #expect(throws: PrometheusText.ParseError.self) { try PrometheusText("inlet_x one\n") }
        #expect(try PrometheusText("# TYPE a counter\na{b=\"c\\\"d\"} 3\n").value("a", ["b": "c\"d"]) == 3)
    }
}
