import Foundation
import Testing

@testable import InletCore

/// GitHub's documented webhook payloads (octokit/webhooks) handed to the connector as the
/// daemon hands a stored delivery: records straight from the payload, no API call.
@Suite("GitHub connector: webhooks")
struct GitHubWebhookTests {
    /// The payloads' repository (Codertocat/Hello-World, default branch master), discovered.
    static func discovered() async throws -> GitHubHarness {
        let harness = try await GitHubHarness.start(config: ["owner": "Codertocat"]) { world in
            world.owners["Codertocat"] = "users"
            world.addRepository(FakeGitHub.Repository(owner: "Codertocat", name: "Hello-World", branch: "master", files: ["README.md": Array("Hello\n".utf8)]))
        }
        let result = try await harness.run()
        #expect(result.ok, "\(result.message ?? "")")
        #expect(result.followUps.map(\.uniqueKey) == ["repo:Codertocat/Hello-World"])
        _ = harness.standIn.requests(reset: true)
        return harness
    }

    @Test func issuesPullRequestsAndCommentsAreWrittenFromThePayloadWithoutAnAPICall() async throws {
        let harness = try await Self.discovered()
        defer { Task { await harness.stop() } }

        let opened = try await harness.webhook("issues", try Fixtures.webhook("issues/opened.payload.json"))
        #expect(opened.ok, "\(opened.message ?? "")")
        let issue = try #require(try harness.live()["Codertocat/Hello-World/issues/1"])
        #expect(issue.kind == "issue")
        #expect(issue.metadata["title"] as? String == "Spelling error in the README file")
        #expect(issue.metadata["author"] as? String == "Codertocat")
        #expect(issue.metadata["labels"] as? [String] == ["bug"])
        #expect(issue.content == "It looks like you accidently spelled 'commit' with two 't's.")

        let edited = try await harness.webhook("issues", try Fixtures.webhook("issues/edited.payload.json"))
        #expect(edited.ok)

        let closed = try await harness.webhook("pull_request", try Fixtures.webhook("pull_request/closed.payload.json"))
        #expect(closed.ok, "\(closed.message ?? "")")
        let pull = try #require(try harness.live()["Codertocat/Hello-World/pulls/2"])
        #expect(pull.kind == "pull_request")
        #expect(pull.metadata["state"] as? String == "closed")
        #expect(pull.metadata["base"] as? String == "master")
        #expect(pull.metadata["head"] as? String == "changes")
        #expect(pull.metadata["merged"] as? Bool == false)

        let comment = try await harness.webhook("issue_comment", try Fixtures.webhook("issue_comment/created.payload.json"))
        #expect(comment.ok, "\(comment.message ?? "")")
        let records = try harness.live()
        let commentRecord = try #require(records.first { $0.key.hasPrefix("Codertocat/Hello-World/issues/1/comments/") }?.value)
        #expect(commentRecord.kind == "comment")
        #expect(commentRecord.content == "You are totally right! I'll get this fixed right away.")

        #expect(harness.standIn.requests().isEmpty, "webhooks cost no API request")
        // The numbers are remembered, so removing the repository tombstones them.
        let state = try #require(try harness.state("repo:Codertocat/Hello-World"))
        #expect(state.contains(#""issueNumbers":[1]"#) && state.contains(#""pullNumbers":[2]"#))
    }

    @Test func anOlderDeliveryNeverOverwritesANewerRecord() async throws {
        let harness = try await Self.discovered()
        defer { Task { await harness.stop() } }
        // GitHub's payload, edited a minute later with a new title (the later state of the issue).
        let original = try Fixtures.webhook("issues/opened.payload.json")
        var later = try #require(try JSONSerialization.jsonObject(with: Data(original)) as? [String: Any])
        var issue = try #require(later["issue"] as? [String: Any])
        issue["title"] = "Spelling error in the README file (fixed title)"
        issue["updated_at"] = "2019-05-15T15:21:18Z"
        later["issue"] = issue
        later["action"] = "edited"
        let newer = Array(try JSONSerialization.data(withJSONObject: later))

        #expect(try await harness.webhook("issues", newer).ok)
        // The older delivery arrives late (a redelivery, or out of order): not written.
        let late = try await harness.webhook("issues", original)
        #expect(late.ok, "\(late.message ?? "")")
        let record = try #require(try harness.live()["Codertocat/Hello-World/issues/1"])
        #expect(record.metadata["title"] as? String == "Spelling error in the README file (fixed title)")
        #expect(record.metadata["updated_at"] as? String == "2019-05-15T15:21:18Z")
        // A delivery as new as the record is written (an edit within the same second).
        issue["title"] = "Same second, newer words"
        later["issue"] = issue
        #expect(try await harness.webhook("issues", Array(try JSONSerialization.data(withJSONObject: later))).ok)
        #expect(try harness.live()["Codertocat/Hello-World/issues/1"]?.metadata["title"] as? String == "Same second, newer words")
    }

    @Test func aPushToTheDefaultBranchQueuesAHighPriorityCoalescedRepositorySync() async throws {
        let harness = try await Self.discovered()
        defer { Task { await harness.stop() } }

        // The documented example pushes a tag: not the branch the connector follows.
        let tag = try await harness.webhook("push", try Fixtures.webhook("push/payload.json"))
        #expect(tag.ok && tag.followUps.isEmpty)

        let push = try await harness.webhook("push", try Fixtures.webhook("push/payload.json") { payload in
            payload["ref"] = "refs/heads/master"
            payload["after"] = "6113728f27ae82c7b1a177c8d03f9e96e0adf246"
        })
        #expect(push.ok, "\(push.message ?? "")")
        #expect(push.followUps.count == 1)
        let job = try #require(push.followUps.first)
        #expect(job.kind == "repo")
        #expect(job.priority == 2)
        #expect(job.uniqueKey == "repo:Codertocat/Hello-World")
        #expect(try harness.state("dirty:Codertocat/Hello-World") == "6113728f27ae82c7b1a177c8d03f9e96e0adf246")
        #expect(harness.standIn.requests().isEmpty)

        // A push to a repository discovery has not seen asks for a discovery, unless the filters
        // (here: forks) would leave it out.
        func pushTo(_ name: String, fork: Bool) throws -> [UInt8] {
            try Fixtures.webhook("push/payload.json") { payload in
                var repository = payload["repository"] as! [String: Any]
                repository["full_name"] = "Codertocat/\(name)"
                repository["name"] = name
                repository["fork"] = fork
                payload["repository"] = repository
                payload["ref"] = "refs/heads/master"
            }
        }
        let newRepository = try await harness.webhook("push", try pushTo("Brand-New", fork: false))
        #expect(newRepository.followUps.map(\.uniqueKey) == ["sync:gh"])
        let fork = try await harness.webhook("push", try pushTo("A-Fork", fork: true))
        #expect(fork.ok && fork.followUps.isEmpty)

        // The repo job then checks the head even though the listing did not move, and clears the mark.
        let sync = try await harness.run("repo", args: ["repo": "Codertocat/Hello-World"])
        #expect(sync.ok, "\(sync.message ?? "")")
        #expect(harness.standIn.requests().lines.first == "GET /repos/Codertocat/Hello-World/commits/master")
        #expect(try harness.state("dirty:Codertocat/Hello-World") == nil)
    }

    @Test func repositoryEventsUpdateDiscoveryAndPingAndInstallationAreAcknowledged() async throws {
        let harness = try await Self.discovered()
        defer { Task { await harness.stop() } }
        #expect(try await harness.run("repo", args: ["repo": "Codertocat/Hello-World"]).ok)
        #expect(try harness.live()["Codertocat/Hello-World/files/README.md"] != nil)

        for (event, file) in [("ping", "ping/payload.json"), ("installation", "installation/created.payload.json")] {
            let result = try await harness.webhook(event, try Fixtures.webhook(file))
            #expect(result.ok && result.followUps.isEmpty && result.counts.written == 0, "\(event): \(result.message ?? "")")
        }

        // Renamed (the documented example is another owner's): this owner's rename asks discovery.
        let renamed = try await harness.webhook("repository", try Fixtures.webhook("repository/renamed.payload.json") { payload in
            var repository = payload["repository"] as! [String: Any]
            repository["full_name"] = "Codertocat/Hello-World-2"
            repository["name"] = "Hello-World-2"
            payload["repository"] = repository
        })
        #expect(renamed.ok, "\(renamed.message ?? "")")
        #expect(renamed.followUps.map(\.uniqueKey) == ["sync:gh"])
        #expect(renamed.followUps.first?.priority == 2)

        // Deleted: every record of the repository is tombstoned at once.
        let deleted = try await harness.webhook("repository", try Fixtures.webhook("repository/renamed.payload.json") { payload in
            payload["action"] = "deleted"
            var repository = payload["repository"] as! [String: Any]
            repository["full_name"] = "Codertocat/Hello-World"
            repository["name"] = "Hello-World"
            payload["repository"] = repository
        })
        #expect(deleted.ok, "\(deleted.message ?? "")")
        let documents = try harness.documents()
        #expect(documents["Codertocat/Hello-World/files/README.md"]?.deleted == true)
        #expect(documents["Codertocat/Hello-World"]?.deleted == true)
        #expect(harness.standIn.requests().filter { $0.path.hasPrefix("/users") }.isEmpty)
    }

    @Test func anUnreadablePayloadIsAPermanentFailure() async throws {
        let harness = try await Self.discovered()
        defer { Task { await harness.stop() } }
        let result = try await harness.webhook("issues", Array(#"{"action": "opened"}"#.utf8))
        #expect(result.status == .failed)
        #expect(result.message?.contains("unexpected payload") == true)
    }
}
