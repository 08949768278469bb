import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import InletCore
import InletHTTP
import Testing

@Suite("Requests no route or no runnable source takes")
struct UnmatchedRequestTests {
    static func error(_ response: TestResponse) -> (code: String?, message: String?) {
        let error = response.body.json["error"] as? [String: Any]
        return (error?["code"] as? String, error?["message"] as? String)
    }

    @Test func aPathWithNoRouteAnswersAJSON404() async throws {
        let harness = try HTTPHarness()
        try await harness.application.test(.router) { client in
            for (method, uri) in [(HTTPRequest.Method.get, "/nowhere"), (.post, "/webhooks"), (.get, "/webhooks/acme/extra")] {
                try await client.execute(uri: uri, method: method) { response in
                    #expect(response.status == .notFound)
                    #expect(Self.error(response).code == "not_found")
                    #expect(Self.error(response).message?.contains(uri) == true)
                }
            }
        }
    }

    @Test func anErrorNoHandlerAnsweredIsAJSON500() async throws {
        let harness = try HTTPHarness()
        // The admin API's reads fail on a database that lost its jobs table.
        try await harness.database.pool.write { db in try db.execute(sql: "DROP TABLE jobs") }
        try await harness.application.test(.router) { client in
            for uri in ["/v1/jobs", "/v1/jobs/1"] {
                try await client.execute(uri: uri, method: .get, headers: AdminAPITests.auth) { response in
                    #expect(response.status == .internalServerError, "\(uri)")
                    #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
                    #expect(Self.error(response).code == "internal")
                    #expect(Self.error(response).message?.contains("no such table: jobs") == true, "\(String(describing: Self.error(response).message))")
                }
            }
        }
    }

    @Test func aKnownPathWithAnotherMethodAnswers405WithItsMethods() async throws {
        let harness = try HTTPHarness()
        try await harness.application.test(.router) { client in
            for (method, uri, allow) in [
                (HTTPRequest.Method.get, "/webhooks/acme", "POST"), (.post, "/health", "GET, HEAD"), (.delete, "/metrics", "GET, HEAD"),
                (.get, "/v1/sources/plain/sync", "POST"), (.put, "/v1/quarantine/3", "DELETE"),
            ] {
                try await client.execute(uri: uri, method: method, headers: AdminAPITests.auth) { response in
                    #expect(response.status == .methodNotAllowed, "\(method) \(uri)")
                    #expect(Self.error(response).code == "method_not_allowed")
                    #expect(response.headers[.allow] == allow)
                }
            }
            // Nothing was enqueued by a GET on the sync route.
            #expect(try harness.count("jobs") == 0)
        }
    }

    @Test func unmatchedAdminPathsKeepTheAdminAPIsOwnChecks() async throws {
        let harness = try HTTPHarness()
        try await harness.application.test(.router) { client in
            try await client.execute(uri: "/v1/other", method: .get) { response in
                #expect(response.status == .unauthorized)
                #expect(Self.error(response).code == "unauthorized")
            }
            try await client.execute(uri: "/v1/other", method: .get, headers: AdminAPITests.auth) { response in
                #expect(response.status == .notFound)
                #expect(Self.error(response).code == "not_found")
            }
        }
        let off = try HTTPHarness(yaml: HTTPHarness.yaml(admin: nil))
        try await off.application.test(.router) { client in
            for (method, uri) in [(HTTPRequest.Method.get, "/v1/other"), (.post, "/v1/jobs")] {
                try await client.execute(uri: uri, method: method) { response in
                    #expect(response.status == .notFound)
                    #expect(Self.error(response).code == "admin_disabled")
                }
            }
        }
    }

    @Test func headAsksWhatGetWouldAnswer() async throws {
        let harness = try HTTPHarness()
        try await harness.application.test(.router) { client in
            try await client.execute(uri: "/health", method: .head) { response in
                #expect(response.status == .ok)
                #expect(response.body.readableBytes == 0)
            }
        }
    }

    /// Nor do the jobs of a source the daemon cannot run now (no working plugin, disabled by
    /// the watchdog): the sender is told, and nothing is stored.
    @Test func aSourceTheDaemonCannotRunTakesNoWebhookOrSync() async throws {
        let harness = try HTTPHarness()
        harness.availability.set("acme", reason: "disabled by the watchdog: 3 plugin calls did not return")
        try await harness.database.pool.write { db in
            try db.execute(sql: "INSERT INTO quarantine (source, kind, key, error, created_at) VALUES ('acme', 'item', 'a', 'bad', 'now')")
        }
        let body = try Fixture.payload("push")
        try await harness.application.test(.router) { client in
            try await client.deliver(body) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(Self.error(response).code == "source_unavailable")
                #expect(Self.error(response).message?.contains("disabled by the watchdog") == true)
            }
            for uri in ["/v1/sources/acme/sync", "/v1/quarantine/1/retry"] {
                try await client.execute(uri: uri, method: .post, headers: AdminAPITests.auth) { response in
                    #expect(response.status == .conflict, "\(uri)")
                    #expect(Self.error(response).code == "source_unavailable")
                }
            }
            // A stranger's request (no signature) learns nothing of it: 401 first.
            try await client.deliver(body, secret: nil) { response in
                #expect(response.status == .unauthorized)
            }
            // A load error names paths: a signed sender gets /health's words for it.
            harness.availability.set("acme", reason: Orchestrator.cannotRunPrefix + "inlet.yaml:6:5: plugin /srv/secret/path.so: no such file")
            try await client.deliver(body) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(Self.error(response).message == "source 'acme' cannot take deliveries now: cannot run: its plugin or its config block did not load")
            }
            // Once it can run again, it takes them.
            harness.availability.set("acme", reason: nil)
            try await client.deliver(body) { response in
                #expect(response.status == .accepted)
            }
        }
        #expect(try harness.count("jobs") == 1)
    }

    /// A disabled source's jobs never run: taking its webhooks or syncs would only fill the queue.
    @Test func aDisabledSourceTakesNoWebhookSyncOrRetry() async throws {
        let yaml = HTTPHarness.yaml() + """

              - name: off
                connector: github
                enabled: false
                webhook: { secret: "\(HTTPHarness.secret)" }
            """
        let harness = try HTTPHarness(yaml: yaml)
        try await harness.database.pool.write { db in
            try db.execute(sql: "INSERT INTO quarantine (source, kind, key, error, created_at) VALUES ('off', 'item', 'a', 'bad', 'now')")
            try db.execute(sql: "INSERT INTO quarantine (source, kind, key, error, created_at) VALUES ('gone', 'item', 'b', 'bad', 'now')")
        }
        let body = try Fixture.payload("push")
        try await harness.application.test(.router) { client in
            try await client.deliver(body, to: "off") { response in
                #expect(response.status == .notFound)
                #expect(Self.error(response).message?.contains("disabled") == true)
            }
            try await client.execute(uri: "/v1/sources/off/sync", method: .post, headers: AdminAPITests.auth) { response in
                #expect(response.status == .conflict)
                #expect(Self.error(response).code == "source_unavailable")
            }
            for (id, needle) in [(1, "disabled"), (2, "no longer in the config")] {
                try await client.execute(uri: "/v1/quarantine/\(id)/retry", method: .post, headers: AdminAPITests.auth) { response in
                    #expect(response.status == .conflict)
                    #expect(Self.error(response).code == "source_unavailable")
                    #expect(Self.error(response).message?.contains(needle) == true)
                }
            }
        }
        #expect(try harness.isEmpty())
        #expect(try harness.count("quarantine") == 2)
    }
}
