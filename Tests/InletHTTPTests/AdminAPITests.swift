import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import InletCore
import InletHTTP
import Testing

@Suite("Admin API /v1")
struct AdminAPITests {
    static let auth: HTTPFields = [.authorization: "Bearer t0ken"]

    static func errorCode(_ response: TestResponse) -> String? {
        (response.body.json["error"] as? [String: Any])?["code"] as? String
    }

    @Test func refusesWithoutTheToken() async throws {
        let harness = try HTTPHarness()
        try await harness.application.test(.router) { client in
            for headers: HTTPFields in [[:], [.authorization: "Bearer nope"], [.authorization: "t0ken"], [.authorization: "Basic dDBrZW4="]] {
                for (method, uri) in [(HTTPRequest.Method.get, "/v1/jobs"), (.post, "/v1/sources/plain/sync"), (.delete, "/v1/quarantine/1")] {
                    try await client.execute(uri: uri, method: method, headers: headers) { response in
                        #expect(response.status == .unauthorized)
                        #expect(Self.errorCode(response) == "unauthorized")
                        #expect(response.headers[.wwwAuthenticate] == #"Bearer realm="inlet""#)
                    }
                }
            }
        }
        #expect(try harness.count("jobs") == 0)
    }

    @Test func theBearerSchemeIsMatchedInAnyCase() async throws {
        let harness = try HTTPHarness()
        try await harness.application.test(.router) { client in
            for header in ["bearer t0ken", "BEARER  t0ken", "Bearer t0ken"] {
                let response = try await client.execute(uri: "/v1/jobs", method: .get, headers: [.authorization: header])
                #expect(response.status == .ok, "\(header)")
            }
            for header in ["Bearer", "Bearer ", "Bearert0ken", "Bearer T0KEN", "Basic t0ken"] {
                let response = try await client.execute(uri: "/v1/jobs", method: .get, headers: [.authorization: header])
                #expect(response.status == .unauthorized, "\(header)")
            }
        }
    }

    @Test func disabledWithoutAToken() async throws {
        let harness = try HTTPHarness(yaml: HTTPHarness.yaml(admin: nil))
        try await harness.application.test(.router) { client in
            try await client.execute(uri: "/v1/jobs", method: .get, headers: Self.auth) { response in
                #expect(response.status == .notFound)
                #expect(Self.errorCode(response) == "admin_disabled")
            }
        }
    }

    @Test func syncEnqueuesThenCoalesces() async throws {
        let harness = try HTTPHarness()
        try await harness.application.test(.router) { client in
            let first = try await client.execute(uri: "/v1/sources/plain/sync", method: .post, headers: Self.auth)
            #expect(first.status == .accepted)
            #expect(first.body.json["coalesced"] as? Bool == false)
            let id = try #require((first.body.json["job_id"] as? NSNumber)?.int64Value)
            let job = try #require(try harness.queue.job(id: id))
            #expect(job.uniqueKey == "sync:plain" && job.priority == 3 && job.kind == "sync")
            let second = try await client.execute(uri: "/v1/sources/plain/sync", method: .post, headers: Self.auth)
            #expect(second.status == .accepted)
            #expect(second.body.json["coalesced"] as? Bool == true)
            #expect((second.body.json["job_id"] as? NSNumber)?.int64Value == id)
            #expect(try harness.queue.job(id: id)?.args == "{}")
            // A full sync asked for while a plain one is queued: the merged job is full.
            let full = try await client.execute(uri: "/v1/sources/plain/sync?full=true", method: .post, headers: Self.auth)
            #expect(full.status == .accepted && full.body.json["coalesced"] as? Bool == true)
            #expect(try harness.queue.job(id: id)?.args == #"{"full":true}"#)
            let badFull = try await client.execute(uri: "/v1/sources/plain/sync?full=yes", method: .post, headers: Self.auth)
            #expect(badFull.status == .badRequest && Self.errorCode(badFull) == "bad_request")
            let unknownParameter = try await client.execute(uri: "/v1/sources/plain/sync?ful=true", method: .post, headers: Self.auth)
            #expect(unknownParameter.status == .badRequest && Self.errorCode(unknownParameter) == "bad_request")
            let unknown = try await client.execute(uri: "/v1/sources/nope/sync", method: .post, headers: Self.auth)
            #expect(unknown.status == .notFound && Self.errorCode(unknown) == "not_found")
        }
        #expect(try harness.count("jobs") == 1)
    }

    @Test func listsAndShowsJobsWithFilters() async throws {
        let harness = try HTTPHarness()
        let a = try #require(try harness.queue.enqueue(JobRequest(source: "plain")).jobID)
        let b = try #require(try harness.queue.enqueue(
            JobRequest(source: "acme", kind: "webhook", args: #"{"delivery": 7, "full": true, "note": "x", "ratio": 0.5, "list": [1, null]}"#)).jobID)
        _ = try harness.queue.cancel(id: a)
        try await harness.application.test(.router) { client in
            func ids(_ query: String) async throws -> [Int64] {
                let response = try await client.execute(uri: "/v1/jobs\(query)", method: .get, headers: Self.auth)
                #expect(response.status == .ok)
                return (response.body.json["jobs"] as? [[String: Any]] ?? []).compactMap { ($0["id"] as? NSNumber)?.int64Value }
            }
            #expect(try await ids("") == [b, a])
            #expect(try await ids("?source=acme") == [b])
            #expect(try await ids("?state=queued") == [b])
            #expect(try await ids("?limit=1") == [b])
            let bad = try await client.execute(uri: "/v1/jobs?state=sleeping", method: .get, headers: Self.auth)
            #expect(bad.status == .badRequest && Self.errorCode(bad) == "bad_request")
            let badLimit = try await client.execute(uri: "/v1/jobs?limit=0", method: .get, headers: Self.auth)
            #expect(badLimit.status == .badRequest)

            let shown = try await client.execute(uri: "/v1/jobs/\(b)", method: .get, headers: Self.auth)
            #expect(shown.status == .ok)
            #expect(shown.body.json["kind"] as? String == "webhook")
            #expect(shown.body.json["state"] as? String == "queued")
            // The args object itself, as `inlet jobs list --json` gives it.
            let args = try #require(shown.body.json["args"] as? [String: Any], "\(shown.body.text)")
            #expect(args["delivery"] as? Int == 7 && args["full"] as? Bool == true && args["note"] as? String == "x")
            #expect(args["ratio"] as? Double == 0.5 && (args["list"] as? [Any])?.count == 2)
            #expect(shown.body.text.contains(#""full":true"#))
            let missing = try await client.execute(uri: "/v1/jobs/999", method: .get, headers: Self.auth)
            #expect(missing.status == .notFound && Self.errorCode(missing) == "not_found")
            let notID = try await client.execute(uri: "/v1/jobs/abc", method: .get, headers: Self.auth)
            #expect(notID.status == .badRequest)
        }
    }

    @Test func anUnknownQueryParameterIsRefusedNotIgnored() async throws {
        let harness = try HTTPHarness()
        _ = try harness.queue.enqueue(JobRequest(source: "plain"))
        try await harness.application.test(.router) { client in
            let requests: [(String, HTTPRequest.Method)] = [
                ("/v1/jobs?kind=webhook", .get), ("/v1/jobs?state=queued&sorce=plain", .get), ("/v1/quarantine?state=queued", .get),
                ("/v1/jobs/1?verbose=1", .get), ("/v1/quarantine/1/retry?x=1", .post), ("/v1/quarantine/1?x=1", .delete),
                // Twice: which value would count is a guess.
                ("/v1/jobs?state=queued&state=succeeded", .get), ("/v1/sources/plain/sync?full=true&full=false", .post),
            ]
            for (uri, method) in requests {
                try await client.execute(uri: uri, method: method, headers: Self.auth) { response in
                    #expect(response.status == .badRequest, "\(uri)")
                    #expect(Self.errorCode(response) == "bad_request")
                }
            }
        }
    }

    @Test func quarantineListRetryAndDrop() async throws {
        let harness = try HTTPHarness()
        let poisoned = try #require(try harness.queue.enqueue(JobRequest(source: "plain")).jobID)
        try await harness.database.pool.write { db in
            try harness.queue.markQuarantined(jobID: poisoned, leaseID: nil, error: "boom", now: Date(), in: db)
            try db.execute(sql: """
                INSERT INTO quarantine (source, kind, key, error, bytes, created_at) VALUES ('acme', 'item', 'a.txt', 'bad', x'0102', 'now')
                """)
        }
        try await harness.application.test(.router) { client in
            let list = try await client.execute(uri: "/v1/quarantine", method: .get, headers: Self.auth)
            #expect(list.status == .ok)
            let entries = list.body.json["entries"] as? [[String: Any]] ?? []
            #expect(entries.count == 2)
            let jobEntry = try #require(entries.first { $0["kind"] as? String == "job" })
            let itemEntry = try #require(entries.first { $0["kind"] as? String == "item" })
            #expect(itemEntry["size"] as? Int == 2)
            // Seen once: last seen when it was put aside.
            #expect(itemEntry["seen"] as? Int == 1 && itemEntry["last_seen_at"] as? String == "now")
            let jobEntryID = try #require((jobEntry["id"] as? NSNumber)?.int64Value)
            let itemEntryID = try #require((itemEntry["id"] as? NSNumber)?.int64Value)

            let retried = try await client.execute(uri: "/v1/quarantine/\(jobEntryID)/retry", method: .post, headers: Self.auth)
            #expect(retried.status == .accepted)
            #expect((retried.body.json["job_id"] as? NSNumber)?.int64Value == poisoned)
            #expect(try harness.queue.job(id: poisoned)?.state == .queued)
            #expect(try harness.queue.job(id: poisoned)?.attempts == 0)

            let dropped = try await client.execute(uri: "/v1/quarantine/\(itemEntryID)", method: .delete, headers: Self.auth)
            #expect(dropped.status == .noContent)
            let again = try await client.execute(uri: "/v1/quarantine/\(itemEntryID)", method: .delete, headers: Self.auth)
            #expect(again.status == .notFound && Self.errorCode(again) == "not_found")
            let retryMissing = try await client.execute(uri: "/v1/quarantine/999/retry", method: .post, headers: Self.auth)
            #expect(retryMissing.status == .notFound)
        }
        #expect(try harness.count("quarantine") == 0)
    }
}
