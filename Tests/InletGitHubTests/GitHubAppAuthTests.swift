import Foundation
import Testing
import _CryptoExtras

@testable import InletCore

/// GitHub App credentials: an RS256 JWT (checked by the stand-in with the app's public key)
/// exchanged for an installation token, kept, and refreshed when GitHub answers 401.
@Suite("GitHub connector: GitHub App auth")
struct GitHubAppAuthTests {
    @Test func anInstallationTokenIsFetchedOnceAndRefreshedOnA401() async throws {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let folder = try ScratchFolder()
        let keyFile = folder.file("app.pem")
        try key.pemRepresentation.write(toFile: keyFile, atomically: true, encoding: .utf8)
        #expect(key.pemRepresentation.hasPrefix("-----BEGIN RSA PRIVATE KEY-----"), "GitHub's PKCS#1 form")

        let harness = try await GitHubHarness.start(
            config: ["owner": "acme", "app": ["app_id": 12345, "private_key_file": keyFile], "issues": false, "pull_requests": false]
        ) { world in
            world.owners["acme"] = "orgs"
            world.addRepository(FakeGitHub.Repository(owner: "acme", name: "widgets", files: ["README.md": Array("hi\n".utf8)]))
            // The installation also reaches another owner's repository: not this source's.
            world.owners["someone-else"] = "users"
            world.addRepository(FakeGitHub.Repository(owner: "someone-else", name: "notes", files: ["a.txt": [0x61]]))
            world.app = ("12345", key.publicKey, 42)
            world.tokens = ["(none yet)"]
        }
        defer { Task { await harness.stop() } }

        #expect(try await harness.syncAll().allOK)
        let first = harness.standIn.requests(reset: true)
        #expect(Array(first.lines.prefix(3)) == ["GET /orgs/acme/installation", "POST /app/installations/42/access_tokens", "GET /installation/repositories"])
        // One token for the whole run, sent as a bearer token on every API request.
        #expect(first.filter { $0.path.hasPrefix("/app/") }.count == 1)
        #expect(first.dropFirst(2).allSatisfy { $0.headers["authorization"] == "Bearer ghs_standin1" })
        #expect(first.allSatisfy { $0.status < 400 })
        #expect(try harness.live().keys.filter { !$0.contains("/files/") }.sorted() == ["acme/widgets"])

        // The token expires early (revoked): the 401 refreshes it and the request is sent again once.
        harness.standIn.world.withLock { _ = $0.tokens.remove("ghs_standin1") }
        #expect(try await harness.run().ok)
        let second = harness.standIn.requests(reset: true)
        #expect(second.lines == ["GET /installation/repositories", "POST /app/installations/42/access_tokens", "GET /installation/repositories"])
        #expect(second.map(\.status) == [401, 201, 304])
        #expect(second.last?.headers["authorization"] == "Bearer ghs_standin2")
    }

    @Test func aTokenAboutToExpireIsReplacedBeforeUse() async throws {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let harness = try await GitHubHarness.start(
            config: ["owner": "acme", "app": ["app_id": "7", "private_key": key.pemRepresentation, "installation_id": 42],
                     "issues": false, "pull_requests": false]
        ) { world in
            world.owners["acme"] = "orgs"
            world.app = ("7", key.publicKey, 42)
            // GitHub's tokens live an hour; this one is within the five-minute margin at once.
            world.tokenLifetime = 120
        }
        defer { Task { await harness.stop() } }
        #expect(try await harness.run().ok)
        #expect(try await harness.run().ok)
        // With the installation configured, no lookup; a fresh token for each run.
        #expect(harness.standIn.requests().lines == [
            "POST /app/installations/42/access_tokens", "GET /installation/repositories", "POST /app/installations/42/access_tokens", "GET /installation/repositories",
        ])
    }
}
