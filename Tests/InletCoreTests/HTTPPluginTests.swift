import CInletABI
import Foundation
import GRDB
import Logging
import Testing

@testable import InletCore

@Suite("host->http from real plugins (Swift SDK and plain C)")
struct HTTPPluginTests {
    /// The Swift echo connector with the harness's service, for `http` jobs.
    func echo(_ harness: HTTPServiceHarness, source: String = "echo") async throws -> ConnectorInstance {
        let plugin = try PluginLibrary.load(path: BuildProducts.swiftEchoPlugin)
        return try await ConnectorInstance.create(
            plugin: plugin, source: source, configJSON: "{}", dataDirectory: harness.directory.file("data"),
            configDirectory: harness.directory.path, logger: harness.logs.logger(), http: harness.service)
    }

    func record(_ database: InletDatabase, source: String = "echo", key: String = "http") throws -> (metadata: [String: Any], content: String)? {
        try database.pool.read { db in
            try Row.fetchOne(db, sql: """
                SELECT d.metadata, b.content FROM documents d LEFT JOIN blobs b ON b.sha = d.blob_sha
                WHERE d.source = ? AND d.key = ?
                """, arguments: [source, key])
        }.map { row in
            let metadata = try JSONSerialization.jsonObject(with: Data((row["metadata"] as String).utf8)) as! [String: Any]
            return (metadata, String(decoding: (row["content"] as Data?) ?? Data(), as: UTF8.self))
        }
    }

    @Test func theSwiftSDKGetsTheAnswerAndTheEngineCommitsWhatItEmits() async throws {
        let harness = try await HTTPServiceHarness { seen in
            .init(200, headers: [("X-Seen-Auth", seen.header("authorization") == nil ? "no" : "yes")], "body of \(seen.path)")
        }
        let instance = try await echo(harness)
        let args = #"{"url": "\#(harness.server.url("/items/1"))", "headers": {"Authorization": "Bearer s3cr3t"}}"#
        let result = await SyncRunner(database: harness.database, logger: harness.logs.logger()).run(instance: instance, kind: "http", args: args)
        await instance.destroy()
        await harness.stop()
        #expect(result.status == .ok)
        let stored = try #require(try record(harness.database))
        #expect(stored.content == "body of /items/1")
        #expect(stored.metadata["status"] as? Int == 200)
        #expect(stored.metadata["not_modified"] as? Bool == false)
        #expect((stored.metadata["headers"] as? [String: Any])?["x-seen-auth"] as? String == "yes")
        #expect(harness.server.requests.map(\.path) == ["/items/1"])
    }

    @Test func aRateLimitedRequestRateLimitsTheJobWithTheHostsDelayAndWords() async throws {
        let harness = try await HTTPServiceHarness { _ in .init(429, headers: [("Retry-After", "30")], "slow down") }
        let instance = try await echo(harness)
        let args = #"{"url": "\#(harness.server.url("/limited?token=QUERYSECRET"))"}"#
        let result = await SyncRunner(database: harness.database, logger: harness.logs.logger()).run(instance: instance, kind: "http", args: args)
        await instance.destroy()
        await harness.stop()
        #expect(result.status == .rateLimited)
        #expect(result.retryAfter == .seconds(30))
        let message = try #require(result.message)
        #expect(message.contains("source 'echo'") && message.contains("Retry-After 30 s"), "\(message)")
        #expect(!message.contains("QUERYSECRET"))
        #expect(try record(harness.database) == nil)  // nothing committed
    }

    /// A connector in plain C: its sync GETs the URL in its args through host->http and emits
    /// the answer; a non-OK status is returned as it is (the host explained it on the call).
    static let cConnector = #"""
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include "inlet_connector.h"
        static const inlet_host *host;
        static inlet_status c(const inlet_host *h, inlet_call *call, const char *j, size_t n, void **out) {
            (void)call; (void)j; (void)n;
            if (h->struct_size < INLET_HOST_V1_0_SIZE || h->abi_version < INLET_ABI_MAKE_VERSION(1, 1)
                || h->http == NULL) return INLET_FAILED;
            host = h; *out = NULL; return INLET_OK;
        }
        static void d(void *i) { (void)i; }
        static inlet_status s(void *i, inlet_call *call, const char *kind, const char *args, size_t len) {
            (void)i; (void)kind; (void)len;
            /* args: {"url":"..."} (the test writes exactly this) */
            const char *start = strstr(args, "\"url\":\"");
            if (start == NULL) return INLET_FAILED;
            start += 7;
            char url[512]; size_t n = strcspn(start, "\"");
            if (n >= sizeof url) return INLET_FAILED;
            memcpy(url, start, n); url[n] = 0;
            inlet_http_request request; memset(&request, 0, sizeof request);
            request.struct_size = sizeof request;
            request.url = url;
            request.headers = "Accept: text/plain\r\nX-From: c";
            request.headers_len = strlen(request.headers);
            inlet_http_response response; memset(&response, 0, sizeof response);
            response.struct_size = sizeof response;
            inlet_status status = host->http(call, &request, &response);
            if (status != INLET_OK) return status;
            char metadata[128];
            int m = snprintf(metadata, sizeof metadata, "{\"status\": %d, \"not_modified\": %s}", (int)response.status,
                             (response.flags & INLET_HTTP_NOT_MODIFIED) ? "true" : "false");
            inlet_record r; memset(&r, 0, sizeof r);
            r.struct_size = sizeof r; r.kind = "http"; r.key = "c-http"; r.key_len = 6;
            r.metadata_json = metadata; r.metadata_len = (size_t)m;
            r.content = response.body.data; r.content_len = response.body.len;
            status = host->emit(call, &r);
            host->buffer_free(call, &response.headers);
            host->buffer_free(call, &response.body);
            return status;
        }
        static const inlet_connector t = { .struct_size = sizeof t, .abi_version = INLET_ABI_VERSION, .name = "c-http",
            .version = "1", .create = c, .destroy = d, .sync = s };
        INLET_EXPORT const inlet_connector *inlet_connector_register(uint32_t v) { (void)v; return &t; }
        """#

    @Test func aCConnectorCallsHostHTTPAndItsETagComesBackNotModified() async throws {
        let harness = try await HTTPServiceHarness { seen in
            if seen.header("if-none-match") == "\"c1\"" { return .init(304, headers: [("ETag", "\"c1\"")]) }
            return .init(200, headers: [("ETag", "\"c1\""), ("Content-Type", "text/plain")], "from c")
        }
        let path = try CCompiler.sharedLibrary(source: Self.cConnector, in: harness.directory, name: "chttp")
        let instance = try await ConnectorInstance.create(
            plugin: try PluginLibrary.load(path: path), source: "c", configJSON: "{}", dataDirectory: harness.directory.file("data"),
            configDirectory: harness.directory.path, logger: harness.logs.logger(), http: harness.service)
        let runner = SyncRunner(database: harness.database, logger: harness.logs.logger())
        let args = #"{"url":"\#(harness.server.url("/c"))"}"#
        let first = await runner.run(instance: instance, kind: "sync", args: args)
        #expect(first.status == .ok, "\(first.message ?? "")")
        #expect(try record(harness.database, source: "c", key: "c-http")?.metadata["not_modified"] as? Bool == false)
        let second = await runner.run(instance: instance, kind: "sync", args: args)
        #expect(second.status == .ok, "\(second.message ?? "")")
        let stored = try #require(try record(harness.database, source: "c", key: "c-http"))
        #expect(stored.content == "from c")
        #expect(stored.metadata["status"] as? Int == 200)
        #expect(stored.metadata["not_modified"] as? Bool == true)
        await instance.destroy()
        await harness.stop()
        #expect(harness.server.requests.map { $0.header("if-none-match") } == [nil, "\"c1\""])
        #expect(harness.server.requests.allSatisfy { $0.header("x-from") == "c" && $0.header("accept") == "text/plain" })
    }
}
