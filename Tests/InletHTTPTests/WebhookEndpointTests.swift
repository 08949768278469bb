import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import InletCore
import InletHTTP
import Testing

@Suite("POST /webhooks/{source}")
struct WebhookEndpointTests {
    @Test(arguments: ["push", "issues-opened", "pull_request-opened"])
    func storesRealDeliveriesWithTheirJob(fixture: String) async throws {
        let harness = try HTTPHarness()
        let body = try Fixture.payload(fixture)
        let event = String(fixture.split(separator: "-")[0])
        let delivery = UUID().uuidString
        try await harness.application.test(.router) { client in
            try await client.deliver(body, event: event, delivery: delivery) { response in
                #expect(response.status == .accepted)
                let jobID = (response.body.json["job_id"] as? NSNumber)?.int64Value
                #expect(jobID != nil)
                let job = try #require(try harness.queue.job(id: jobID ?? -1))
                #expect(job.kind == "webhook" && job.source == "acme" && job.priority == JobPriority.webhook && job.state == .queued)
                let stored = try #require(try WebhookDelivery.forJob(args: job.args, in: harness.database))
                #expect(stored.deliveryID == delivery)
                #expect(stored.event == event)
                #expect(stored.body == body)
                let headers = try #require(try JSONSerialization.jsonObject(with: Data(stored.headers.utf8)) as? [String: String])
                #expect(headers["x-github-event"] == event)
                #expect(headers["x-github-delivery"] == delivery)
                #expect(headers["user-agent"] == #"GitHub-Hookshot/044aadd (test "quoted" \ back)"#)
                #expect(headers["content-type"] == "application/json")
                #expect(stored.jobID == job.id)
                // The job says which delivery it carries, in GitHub's words too.
                let args = try #require(try JSONSerialization.jsonObject(with: Data(job.args.utf8)) as? [String: Any])
                #expect(args["event"] as? String == event && args["guid"] as? String == delivery)
                #expect((args["delivery"] as? NSNumber)?.int64Value == stored.id)
            }
        }
    }

    @Test func eventLabelsAreBoundedPerSource() {
        let stats = WebhookStats()
        // Lowercase names only, as GitHub's are: "event_a", "event_b", …, "event_da".
        func name(_ index: Int) -> String {
            let letters = Array("abcdefghijklmnopqrstuvwxyz")
            var text = "", rest = index + 1
            while rest > 0 { rest -= 1; text = String(letters[rest % 26]) + text; rest /= 26 }
            return "event_" + text
        }
        for index in 0..<WebhookStats.maxEventLabels { #expect(stats.eventLabel(source: "a", event: name(index)) == name(index)) }
        #expect(stats.eventLabel(source: "a", event: "one_too_many") == "other")
        #expect(stats.eventLabel(source: "a", event: name(0)) == name(0))  // a name it has seen stays
        #expect(stats.eventLabel(source: "b", event: "one_too_many") == "one_too_many")  // per source
        #expect(stats.eventLabel(source: "b", event: "Push") == "other")
        #expect(stats.eventLabel(source: "b", event: String(repeating: "a", count: 65)) == "other")
    }

    @Test func aRepeatedDeliveryIDAnswers200AndAddsNoJob() async throws {
        let harness = try HTTPHarness()
        let body = try Fixture.payload("push")
        let headers = HTTPFields.github(event: "push", delivery: "72d3162e-cc78-11e3-81ab-4c9367dc0958", body: body)
        try await harness.application.test(.router) { client in
            let first = try await client.execute(uri: "/webhooks/acme", method: .post, headers: headers, body: ByteBuffer(bytes: body))
            #expect(first.status == .accepted)
            let second = try await client.execute(uri: "/webhooks/acme", method: .post, headers: headers, body: ByteBuffer(bytes: body))
            #expect(second.status == .ok)
            #expect(second.body.json["duplicate"] as? Bool == true)
            #expect(second.body.json["job_id"] as? NSNumber == first.body.json["job_id"] as? NSNumber)
        }
        #expect(try harness.count("jobs") == 1)
        #expect(try harness.count("webhook_deliveries") == 1)
    }

    /// GitHub's "Redeliver" after the operator cancelled or quarantined the event's job: the
    /// event is queued again (202), and only a job that will still run or did run is a duplicate.
    @Test func aRedeliveryQueuesAgainAnEventWhoseJobWillNotRun() async throws {
        let harness = try HTTPHarness()
        let body = try Fixture.payload("push")
        let headers = HTTPFields.github(event: "push", delivery: "9c1b8d1e-redelivered", body: body)
        let jobs = try await harness.application.test(.router) { client -> [Int64] in
            func send(expect status: HTTPResponse.Status) async throws -> Int64 {
                let response = try await client.execute(uri: "/webhooks/acme", method: .post, headers: headers, body: ByteBuffer(bytes: body))
                #expect(response.status == status)
                return try #require((response.body.json["job_id"] as? NSNumber)?.int64Value)
            }
            let first = try await send(expect: .accepted)
            _ = try harness.queue.cancel(id: first)
            let second = try await send(expect: .accepted)  // cancelled: a new job for the stored delivery
            #expect(second != first)
            try await harness.database.pool.write { db in
                try harness.queue.markQuarantined(jobID: second, leaseID: nil, error: "the connector refused it", now: Date(), in: db)
            }
            let third = try await send(expect: .accepted)  // quarantined: the same job, queued again
            let fourth = try await send(expect: .ok)  // queued: a duplicate
            return [first, second, third, fourth]
        }
        #expect(jobs[2] == jobs[1] && jobs[3] == jobs[1])
        let job = try #require(try harness.queue.job(id: jobs[1]))
        #expect(job.state == .queued && job.attempts == 0)
        #expect(try harness.count("quarantine") == 0)
        #expect(try harness.count("webhook_deliveries") == 1)
        // The worker finds the delivery through the new job, and pruning the cancelled one keeps it.
        #expect(try WebhookDelivery.forJob(args: job.args, in: harness.database)?.jobID == jobs[1])
        #expect(try harness.queue.prune(finishedBefore: Date().addingTimeInterval(60)) == 1)
        #expect(try WebhookDelivery.forJob(args: job.args, in: harness.database)?.jobID == jobs[1])
    }

    @Test func aJSONMediaTypeWithParametersIsJSON() async throws {
        let harness = try HTTPHarness()
        let body = try Fixture.payload("push")
        var fields = HTTPFields.github(event: "push", body: body)
        fields[.contentType] = "Application/JSON ; charset=utf-8"
        let headers = fields
        try await harness.application.test(.router) { client in
            let response = try await client.execute(uri: "/webhooks/acme", method: .post, headers: headers, body: ByteBuffer(bytes: body))
            #expect(response.status == .accepted)
        }
        #expect(try harness.count("webhook_deliveries") == 1)
    }

    @Test func pingAnswers200AndStoresNothing() async throws {
        let harness = try HTTPHarness()
        let body = try Fixture.payload("ping")
        try await harness.application.test(.router) { client in
            try await client.deliver(body, event: "ping") { response in
                #expect(response.status == .ok)
            }
        }
        #expect(try harness.isEmpty())
    }

    @Test func acceptsEverySecretOfARotation() async throws {
        let harness = try HTTPHarness(yaml: HTTPHarness.yaml(secrets: ["old secret", "new secret"]))
        let body = try Fixture.payload("push")
        try await harness.application.test(.router) { client in
            for secret in ["old secret", "new secret"] {
                let response = try await client.deliver(body, secret: secret)
                #expect(response.status == .accepted)
            }
            let response = try await client.deliver(body, secret: "retired")
            #expect(response.status == .unauthorized)
        }
        #expect(try harness.count("jobs") == 2)
    }

    // MARK: - Every rejection stores nothing

    struct Rejection: Sendable, CustomTestStringConvertible {
        var name: String
        var path = "/webhooks/acme"
        var status: HTTPResponse.Status
        var code: String
        var headers: @Sendable ([UInt8]) -> HTTPFields
        var body: @Sendable ([UInt8]) -> [UInt8] = { $0 }
        var testDescription: String { name }
    }

    static let rejections: [Rejection] = [
        Rejection(name: "missing signature", status: .unauthorized, code: "unauthorized") { .github(event: "push", body: $0, secret: nil) },
        Rejection(name: "wrong secret", status: .unauthorized, code: "unauthorized") { .github(event: "push", body: $0, secret: "guess") },
        Rejection(name: "body changed after signing", status: .unauthorized, code: "unauthorized",
                  headers: { .github(event: "push", body: $0) }, body: { $0 + Array(" ".utf8) }),
        Rejection(name: "garbage signature", status: .unauthorized, code: "unauthorized") {
            var fields = HTTPFields.github(event: "push", body: $0)
            fields[HTTPField.Name("X-Hub-Signature-256")!] = "sha256=nothex"
            return fields
        },
        Rejection(name: "unknown source", path: "/webhooks/nobody", status: .notFound, code: "not_found") { .github(event: "push", body: $0) },
        Rejection(name: "source without webhooks", path: "/webhooks/plain", status: .notFound, code: "not_found") {
            .github(event: "push", body: $0)
        },
        Rejection(name: "body that is not JSON", status: .badRequest, code: "bad_request",
                  headers: { .github(event: "push", body: $0) }, body: { _ in Array("payload=%7B%7D".utf8) }),
        Rejection(name: "JSON that is not an object", status: .badRequest, code: "bad_request",
                  headers: { .github(event: "push", body: $0) }, body: { _ in Array("[1, 2]".utf8) }),
        Rejection(name: "form-encoded content type", status: .badRequest, code: "bad_request") {
            var fields = HTTPFields.github(event: "push", body: $0)
            fields[.contentType] = "application/x-www-form-urlencoded"
            return fields
        },
        Rejection(name: "media type that only starts like JSON's", status: .badRequest, code: "bad_request") {
            var fields = HTTPFields.github(event: "push", body: $0)
            fields[.contentType] = "application/jsonx"
            return fields
        },
        Rejection(name: "missing event", status: .badRequest, code: "bad_request") {
            var fields = HTTPFields.github(event: "push", body: $0)
            fields[HTTPField.Name("X-GitHub-Event")!] = nil
            return fields
        },
        Rejection(name: "missing delivery id", status: .badRequest, code: "bad_request") {
            var fields = HTTPFields.github(event: "push", body: $0)
            fields[HTTPField.Name("X-GitHub-Delivery")!] = nil
            return fields
        },
        Rejection(name: "event sent twice", status: .badRequest, code: "bad_request") {
            var fields = HTTPFields.github(event: "push", body: $0)
            fields.append(HTTPField(name: HTTPField.Name("X-GitHub-Event")!, value: "issues"))
            return fields
        },
        Rejection(name: "delivery id sent twice", status: .badRequest, code: "bad_request") {
            var fields = HTTPFields.github(event: "push", body: $0)
            fields.append(HTTPField(name: HTTPField.Name("X-GitHub-Delivery")!, value: "second"))
            return fields
        },
    ]

    @Test(arguments: rejections)
    func rejectsAndStoresNothing(_ rejection: Rejection) async throws {
        let harness = try HTTPHarness()
        let payload = try Fixture.payload("push")
        let body = rejection.body(payload)
        // Signed over what the test means to send (a "changed body" is signed over the original).
        let headers = rejection.headers(rejection.name == "body changed after signing" ? payload : body)
        try await harness.application.test(.router) { client in
            try await client.execute(uri: rejection.path, method: .post, headers: headers, body: ByteBuffer(bytes: body)) { response in
                #expect(response.status == rejection.status)
                let error = response.body.json["error"] as? [String: Any]
                #expect(error?["code"] as? String == rejection.code)
                #expect((error?["message"] as? String)?.isEmpty == false)
            }
        }
        #expect(try harness.isEmpty())
    }

    @Test func fullQueueAnswers429WithRetryAfterAndStoresNothing() async throws {
        let harness = try HTTPHarness(yaml: HTTPHarness.yaml(maxSize: 1))
        _ = try harness.queue.enqueue(JobRequest(source: "plain"))
        let body = try Fixture.payload("push")
        try await harness.application.test(.router) { client in
            try await client.deliver(body) { response in
                #expect(response.status == .tooManyRequests)
                #expect(response.headers[.retryAfter] == "30")
                #expect((response.body.json["error"] as? [String: Any])?["code"] as? String == "queue_full")
            }
        }
        #expect(try harness.count("webhook_deliveries") == 0)
        #expect(try harness.count("jobs") == 1)
    }

    @Test func manyConcurrentDeliveriesShareCommitsAndAllLand() async throws {
        let harness = try HTTPHarness(yaml: HTTPHarness.yaml(maxSize: 1000))
        let body = try Fixture.payload("push")
        let (connections, perConnection) = (20, 10)
        try await harness.application.test(.live) { client in
            let port = try #require(client.port)
            // Several connections, as GitHub's deliveries arrive: one connection's requests are
            // served one after another, so only requests on different connections can share a
            // commit (and 200 on one connection can outlast the client's read timeout on a loaded machine).
            try await withThrowingTaskGroup(of: [HTTPResponse.Status].self) { group in
                for connection in 0..<connections {
                    group.addTask {
                        try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
                            var statuses: [HTTPResponse.Status] = []
                            for index in 0..<perConnection {
                                let delivery = "d-\(connection)-\(index)"
                                statuses.append(
                                    try await client.post(
                                        "/webhooks/acme", headers: .github(event: "push", delivery: delivery, body: body),
                                        body: ByteBuffer(bytes: body)
                                    ).status)
                            }
                            return statuses
                        }
                    }
                }
                for try await statuses in group { #expect(statuses == Array(repeating: .accepted, count: perConnection)) }
            }
        }
        let count = connections * perConnection
        #expect(try harness.count("webhook_deliveries") == count)
        #expect(try harness.count("jobs") == count)
        #expect(harness.surface.committer.transactions < count)
    }
}
