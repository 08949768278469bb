import Foundation
import Testing

@testable import InletCore

/// Discovery, files, issues and pull requests against the stand-in, with the exact requests.
@Suite("GitHub connector: discovery, files, issues, pull requests")
struct GitHubSyncTests {
    /// An organisation with one repository of `files` files, issues and pull requests, plus
    /// repositories the default filters leave out.
    static func acme(files: Int = 8) -> (inout FakeGitHub) -> Void {
        { world in
            world.owners["acme"] = "orgs"
            var widgets = FakeGitHub.Repository(owner: "acme", name: "widgets")
            widgets.files = [
                "README.md": Array("# Widgets\n".utf8),
                "Sources/Widgets/Widget.swift": Array("struct Widget {}\n".utf8),
                "assets/logo.png": [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00],
                "data/big.txt": Array(String(repeating: "0123456789abcdef\n", count: 200).utf8),
                "skip/ignored.txt": Array("not taken\n".utf8),
            ]
            for index in 0..<max(0, files - widgets.files.count) {
                widgets.files["Sources/Widgets/File\(index).swift"] = Array("let value\(index) = \(index)\n".utf8)
            }
            world.addRepository(widgets)
            world.addRepository(FakeGitHub.Repository(owner: "acme", name: "old-stuff", archived: true, files: ["a.txt": [0x61]]))
            world.addRepository(FakeGitHub.Repository(owner: "acme", name: "forked", fork: true, files: ["a.txt": [0x61]]))
            world.addRepository(FakeGitHub.Repository(owner: "acme", name: "archive-2019", files: ["a.txt": [0x61]]))
            world.upsertIssue("acme/widgets", number: 1, title: "Crash on start", body: "It crashes.", labels: ["bug"])
            world.upsertIssue("acme/widgets", number: 2, title: "Docs", body: nil, state: "closed")
            world.upsertIssue("acme/widgets", number: 3, title: "Add widget", body: "Adds one.", pull: .init(head: "feature/add", merged: true))
            world.upsertIssue("acme/widgets", number: 4, title: "Draft", body: "WIP", pull: .init(head: "wip"))
        }
    }

    static var acmeConfig: [String: Any] { ["owner": "acme", "exclude_repos": ["archive-*"], "exclude": ["skip/**"], "max_file_size": "1KB"] }

    @Test func firstSyncRecordsFilesIssuesAndPullRequestsOfTheTakenRepositories() async throws {
        let harness = try await GitHubHarness.start(config: Self.acmeConfig, Self.acme())
        defer { Task { await harness.stop() } }
        let results = try await harness.syncAll()
        #expect(results.allOK, "\(results.map { $0.message ?? "ok" })")
        // One repo job: archived, forked and excluded repositories are not taken.
        #expect(results[0].followUps.map(\.uniqueKey) == ["repo:acme/widgets"])
        #expect(results[0].followUps.map(\.kind) == ["repo"])

        let records = try harness.live()
        let files = records.filter { $0.value.kind == "file" }
        #expect(Set(files.keys) == Set([
            "acme/widgets/files/README.md", "acme/widgets/files/Sources/Widgets/Widget.swift", "acme/widgets/files/assets/logo.png",
            "acme/widgets/files/data/big.txt", "acme/widgets/files/Sources/Widgets/File0.swift", "acme/widgets/files/Sources/Widgets/File1.swift",
            "acme/widgets/files/Sources/Widgets/File2.swift",
        ]))
        let widget = try #require(files["acme/widgets/files/Sources/Widgets/Widget.swift"])
        #expect(widget.content == "struct Widget {}\n")
        #expect(widget.metadata["language"] as? String == "Swift")
        #expect(widget.metadata["repo"] as? String == "acme/widgets")
        #expect(widget.metadata["branch"] as? String == "main")
        #expect(widget.metadata["blob_sha"] as? String == FakeGitHub.blobSHA(Array("struct Widget {}\n".utf8)))
        let logo = try #require(files["acme/widgets/files/assets/logo.png"])
        #expect(logo.blobSHA == nil && logo.metadata["is_binary"] as? Bool == true)
        let big = try #require(files["acme/widgets/files/data/big.txt"])
        #expect(big.blobSHA == nil && big.metadata["too_large"] as? Bool == true && big.metadata["size"] as? Int == 3400)

        let issue = try #require(records["acme/widgets/issues/1"])
        #expect(issue.kind == "issue")
        #expect(issue.content == "It crashes.")
        #expect(issue.metadata["title"] as? String == "Crash on start")
        #expect(issue.metadata["labels"] as? [String] == ["bug"])
        #expect(issue.metadata["author"] as? String == "octocat")
        #expect(issue.metadata["state"] as? String == "open")
        #expect(records["acme/widgets/issues/2"]?.metadata["state"] as? String == "closed")
        #expect(records["acme/widgets/issues/3"] == nil, "a pull request is not recorded as an issue")
        let pull = try #require(records["acme/widgets/pulls/3"])
        #expect(pull.kind == "pull_request")
        #expect(pull.metadata["base"] as? String == "main")
        #expect(pull.metadata["head"] as? String == "feature/add")
        #expect(pull.metadata["merged"] as? Bool == true)
        #expect(records["acme/widgets/pulls/4"]?.metadata["merged"] as? Bool == false)
        let repository = try #require(records["acme/widgets"])
        #expect(repository.kind == "repository")
        #expect(repository.metadata["default_branch"] as? String == "main")
    }

    /// The figures of the closing note: requests spent on a first sync of a repository with N
    /// files, an unchanged re-sync, and a re-sync after a push touching 3 files.
    @Test func requestsSpentOnFirstSyncUnchangedResyncAndAPushOfThreeFiles() async throws {
        let fileCount = 40
        let harness = try await GitHubHarness.start(config: ["owner": "acme", "exclude_repos": ["archive-*"]], Self.acme(files: fileCount))
        defer { Task { await harness.stop() } }

        #expect(try await harness.syncAll().allOK)
        let first = harness.standIn.requests(reset: true)
        let blobs = first.filter { $0.path.contains("/git/blobs/") }
        // Every file's blob once, nothing twice; listing, head, tree, issues, pulls once each.
        #expect(blobs.count == fileCount)
        #expect(Set(blobs.map(\.path)).count == fileCount)
        #expect(first.filter { !$0.path.contains("/git/blobs/") }.lines == [
            "GET /orgs/acme/repos", "GET /repos/acme/widgets/commits/main",
            "GET /repos/acme/widgets/git/trees/\(harness.standIn.world.withLock { $0.commitSHA($0.repositories["acme/widgets"]!) })",
            "GET /repos/acme/widgets/issues", "GET /repos/acme/widgets/pulls",
        ])
        #expect(first.counted == fileCount + 5)

        // Unchanged: the listing and the issue listing, both conditional, both 304.
        #expect(try await harness.syncAll().allOK)
        let unchanged = harness.standIn.requests(reset: true)
        #expect(unchanged.lines == ["GET /orgs/acme/repos", "GET /repos/acme/widgets/issues"])
        #expect(unchanged.allSatisfy { $0.ifNoneMatch != nil })
        #expect(unchanged.notModified == 2 && unchanged.counted == 0)

        // A push touching 3 files: one edited, one added, one deleted.
        harness.standIn.world.withLock { world in
            world.push("acme/widgets", [
                "README.md": "# Widgets\n\nNow documented.\n", "docs/guide.md": "# Guide\n", "Sources/Widgets/File0.swift": nil,
            ])
        }
        let before = try harness.documents()
        #expect(try await harness.syncAll().allOK)
        let push = harness.standIn.requests(reset: true)
        #expect(push.filter { $0.path.contains("/git/blobs/") }.count == 2)
        #expect(push.filter { !$0.path.contains("/git/blobs/") }.lines.map { $0.hasPrefix("GET /repos/acme/widgets/git/trees/") ? "tree" : $0 } == [
            "GET /orgs/acme/repos", "GET /repos/acme/widgets/commits/main", "tree", "GET /repos/acme/widgets/issues",
        ])
        #expect(push.notModified == 1)
        let after = try harness.documents()
        #expect(after["acme/widgets/files/README.md"]?.content == "# Widgets\n\nNow documented.\n")
        #expect(after["acme/widgets/files/README.md"]?.version == 2)
        #expect(after["acme/widgets/files/docs/guide.md"]?.content == "# Guide\n")
        #expect(after["acme/widgets/files/Sources/Widgets/File0.swift"]?.deleted == true)
        #expect(after["acme/widgets/files/Sources/Widgets/Widget.swift"]?.version == before["acme/widgets/files/Sources/Widgets/Widget.swift"]?.version)

        print("""
            GitHub requests (stand-in), one repository of \(fileCount) files, 2 issues, 2 pull requests:
              first sync:              \(first.count) requests (\(first.counted) counted, \(first.notModified) free 304s)
              unchanged re-sync:       \(unchanged.count) requests (\(unchanged.counted) counted, \(unchanged.notModified) free 304s): the owner's listing + 1 per repository
              push touching 3 files:   \(push.count) requests (\(push.counted) counted, \(push.notModified) free 304s)
            """)
    }

    /// `inlet sync --full`: every file and issue is looked at again, but text the sink already
    /// stores is referred to by blob SHA, not fetched.
    @Test func aFullSyncRereadsTheTreeButFetchesNoBlobTheSinkHas() async throws {
        let harness = try await GitHubHarness.start(config: ["owner": "acme", "exclude_repos": ["archive-*"]], Self.acme())
        defer { Task { await harness.stop() } }
        #expect(try await harness.syncAll().allOK)
        _ = harness.standIn.requests(reset: true)
        let results = try await harness.syncAll(full: true)
        #expect(results.allOK)
        let requests = harness.standIn.requests()
        #expect(requests.lines.filter { !$0.contains("/git/") } == [
            "GET /orgs/acme/repos", "GET /repos/acme/widgets/commits/main", "GET /repos/acme/widgets/issues", "GET /repos/acme/widgets/pulls",
        ])
        // Only the binary (the sink keeps no binary bodies) is fetched again.
        #expect(requests.filter { $0.path.contains("/git/blobs/") }.count == 1)
        #expect(results[1].counts.written == 0, "nothing changed, so nothing new is written")
    }

    /// The goal of the issue, at scale: an unchanged owner of 120 repositories costs its listing
    /// (2 pages of 100) and one conditional request per repository, none counted.
    @Test func anUnchangedOwnerOf120RepositoriesCostsOneFreeRequestPerRepository() async throws {
        let harness = try await GitHubHarness.start(config: ["owner": "acme", "pull_requests": false]) { world in
            world.owners["acme"] = "orgs"
            for index in 0..<120 {
                world.addRepository(FakeGitHub.Repository(owner: "acme", name: "repo-\(index)", files: ["README.md": Array("repo \(index)\n".utf8)]))
                world.upsertIssue("acme/repo-\(index)", number: 1, title: "Issue of \(index)")
            }
        }
        defer { Task { await harness.stop() } }
        let first = try await harness.syncAll()
        #expect(first.count == 121 && first.allOK)
        _ = harness.standIn.requests(reset: true)

        #expect(try await harness.syncAll().allOK)
        let unchanged = harness.standIn.requests()
        #expect(unchanged.count == 2 + 120)
        #expect(unchanged.filter { $0.path == "/orgs/acme/repos" }.count == 2)
        #expect(unchanged.filter { $0.path.hasSuffix("/issues") }.count == 120)
        #expect(unchanged.counted == 0, "\(unchanged.filter { $0.status != 304 })")
        print("GitHub requests (stand-in), unchanged owner of 120 repositories: \(unchanged.count) requests, \(unchanged.counted) counted")
    }

    @Test func aTruncatedTreeIsWalkedSubtreeBySubtree() async throws {
        let harness = try await GitHubHarness.start(config: ["owner": "acme", "issues": false, "pull_requests": false]) { world in
            world.owners["acme"] = "orgs"
            var repository = FakeGitHub.Repository(owner: "acme", name: "big")
            for (folder, count) in [("a", 3), ("b", 3), ("c/deep", 4)] {
                for index in 0..<count { repository.files["\(folder)/f\(index).txt"] = Array("\(folder) \(index)\n".utf8) }
            }
            repository.files["top.txt"] = Array("top\n".utf8)
            world.addRepository(repository)
            // A recursive answer over 4 entries is truncated (GitHub's limit is 100,000 entries or 7 MB).
            world.truncateTreesOver = 4
        }
        defer { Task { await harness.stop() } }
        #expect(try await harness.syncAll().allOK)
        let files = try harness.live().keys.filter { $0.contains("/files/") }
        #expect(files.count == 11)
        #expect(files.contains("acme/big/files/c/deep/f3.txt"))
        let trees = harness.standIn.requests().filter { $0.path.contains("/git/trees/") }.map { $0.target.contains("recursive") ? "recursive" : "level" }
        // root (truncated) → root level → a, b (whole) → c (truncated) → c level → c/deep (whole).
        #expect(trees == ["recursive", "level", "recursive", "recursive", "recursive", "level", "recursive"])
    }

    @Test func discoveryFollowsTheRecordedLinkHeaderOverThreePages() async throws {
        let pages = try Fixtures.cassette("GitHub_repositories_by.json")
        let harness = try await GitHubHarness.start(config: ["owner": "dstufft", "issues": false, "pull_requests": false]) { world in
            let base = world.baseURL
            for (index, page) in pages.enumerated() {
                var headers = page.headers.filter { !["content-encoding", "content-length", "transfer-encoding", "status"].contains($0.key) }
                headers["link"] = headers["link"]?.replacingOccurrences(of: "https://api.github.com", with: base)
                // The first page is what the connector asks for; the others are the recorded Link URLs.
                let target = index == 0 ? "/users/dstufft/repos?per_page=100&type=owner" : String(page.uri.dropFirst("https://api.github.com".count))
                world.recorded[target] = (page.status, headers, page.body)
            }
        }
        defer { Task { await harness.stop() } }
        let result = try await harness.run()
        #expect(result.ok, "\(result.message ?? "")")
        #expect(harness.standIn.requests(reset: true).lines == [
            "GET /orgs/dstufft/repos", "GET /users/dstufft/repos", "GET /user/145979/repos", "GET /user/145979/repos",
        ])
        // One repo job per repository of the three pages that is neither a fork nor archived.
        var expected: [String] = []
        for page in pages {
            for repository in try #require(try JSONSerialization.jsonObject(with: Data(page.body)) as? [[String: Any]])
            where repository["fork"] as? Bool != true && repository["archived"] as? Bool != true {
                expected.append("repo:" + (repository["full_name"] as! String))
            }
        }
        #expect(expected.count > 20)
        #expect(result.followUps.compactMap(\.uniqueKey).sorted() == expected.sorted())
        #expect(try harness.live().filter { $0.value.kind == "repository" }.count == expected.count)

        // Again: the owner type is remembered and every page is a free 304.
        #expect(try await harness.run().ok)
        let again = harness.standIn.requests()
        #expect(again.lines == ["GET /users/dstufft/repos", "GET /user/145979/repos", "GET /user/145979/repos"])
        #expect(again.allSatisfy { $0.status == 304 && $0.ifNoneMatch != nil })
    }

    @Test func issuesFollowTheRecordedLinkHeaderOverFivePages() async throws {
        let exchanges = try #require(try Fixtures.object("api/paginate-issues.json") as? [[String: Any]])
        let harness = try await GitHubHarness.start(config: ["owner": "octokit-fixture-org"]) { world in
            world.owners["octokit-fixture-org"] = "orgs"
            world.addRepository(FakeGitHub.Repository(owner: "octokit-fixture-org", name: "paginate-issues", files: ["README.md": Array("hi\n".utf8)]))
            for (index, exchange) in exchanges.enumerated() {
                var headers = (exchange["headers"] as? [String: Any] ?? [:]).mapValues { "\($0)" }
                    .filter { !["content-encoding", "content-length"].contains($0.key) }
                headers["link"] = headers["link"]?.replacingOccurrences(of: "https://api.github.com", with: world.baseURL)
                let body = try! JSONSerialization.data(withJSONObject: exchange["response"]!)
                let target = index == 0
                    ? "/repos/octokit-fixture-org/paginate-issues/issues?state=all&sort=updated&direction=desc&per_page=100"
                    : exchange["path"] as! String
                world.recorded[target] = (exchange["status"] as! Int, headers, Array(body))
            }
        }
        defer { Task { await harness.stop() } }
        #expect(try await harness.syncAll().allOK)
        let issues = try harness.live().filter { $0.value.kind == "issue" }
        #expect(Set(issues.keys) == Set((1...13).map { "octokit-fixture-org/paginate-issues/issues/\($0)" }))
        #expect(harness.standIn.requests().filter { $0.path.hasSuffix("/issues") || $0.path.hasPrefix("/repositories/") }.count == 5)
    }

    @Test func incrementalIssuesEmitOnlyWhatChangedAndPullRequestsOnlyWhenOneChanged() async throws {
        let harness = try await GitHubHarness.start(config: ["owner": "acme", "exclude_repos": ["archive-*"]]) { world in
            Self.acme()(&world)
            for number in 10..<260 { world.upsertIssue("acme/widgets", number: number, title: "Issue \(number)") }
        }
        defer { Task { await harness.stop() } }
        #expect(try await harness.syncAll().allOK)
        let first = harness.standIn.requests(reset: true)
        #expect(first.filter { $0.path == "/repos/acme/widgets/issues" }.count == 3)  // 254 items over 3 pages
        #expect(try harness.live().filter { $0.value.kind == "issue" }.count == 252)

        _ = harness.standIn.world.withLock { world in
            world.upsertIssue("acme/widgets", number: 42, title: "Issue 42, retitled", labels: ["triage"])
        }
        let results = try await harness.syncAll()
        #expect(results.allOK)
        #expect(results[1].counts.written == 1)
        let second = harness.standIn.requests(reset: true)
        // The changed issue is on the first page, newest first: the walk stops there; no pull request changed.
        #expect(second.lines == ["GET /orgs/acme/repos", "GET /repos/acme/widgets/issues"])
        #expect(try harness.live()["acme/widgets/issues/42"]?.metadata["title"] as? String == "Issue 42, retitled")

        _ = harness.standIn.world.withLock { world in
            world.upsertIssue("acme/widgets", number: 4, title: "Draft, ready", body: "Done", pull: .init(head: "wip", merged: true))
        }
        #expect(try await harness.syncAll().allOK)
        #expect(harness.standIn.requests(reset: true).lines == ["GET /orgs/acme/repos", "GET /repos/acme/widgets/issues", "GET /repos/acme/widgets/pulls"])
        #expect(try harness.live()["acme/widgets/pulls/4"]?.metadata["merged"] as? Bool == true)

        // Quiet again: one free conditional request for the repository.
        #expect(try await harness.syncAll().allOK)
        let quiet = harness.standIn.requests()
        #expect(quiet.lines == ["GET /orgs/acme/repos", "GET /repos/acme/widgets/issues"])
        #expect(quiet.counted == 0)
    }

    /// Newest first, an issue updated while the walk is on page 1 jumps ahead of the pages
    /// read: this walk misses it, none of the others is skipped, and the next walk takes it
    /// (oldest first, the shift would skip an unchanged issue for good).
    @Test func anIssueUpdatedDuringTheWalkIsTakenNextTimeAndNoOtherIsSkipped() async throws {
        let harness = try await GitHubHarness.start(config: ["owner": "acme", "exclude_repos": ["archive-*"], "pull_requests": false]) { world in
            Self.acme()(&world)
            for number in 10..<260 { world.upsertIssue("acme/widgets", number: number, title: "Issue \(number)") }
            // Issue 15 is on the last page; it is edited right after the first page is answered.
            world.afterAnswering["/repos/acme/widgets/issues"] = [{ world in
                world.upsertIssue("acme/widgets", number: 15, title: "Issue 15, edited mid-walk")
            }]
        }
        defer { Task { await harness.stop() } }
        #expect(try await harness.syncAll().allOK)
        let first = try harness.live().filter { $0.value.kind == "issue" }
        // Every issue but the one that jumped ahead: the shift of the pages skipped no other.
        #expect(first.count == 251)
        #expect(first["acme/widgets/issues/15"] == nil)

        #expect(try await harness.syncAll().allOK)
        let second = try harness.live().filter { $0.value.kind == "issue" }
        #expect(second.count == 252)
        #expect(second["acme/widgets/issues/15"]?.metadata["title"] as? String == "Issue 15, edited mid-walk")
    }

    @Test func withIssuesTurnedOffPullRequestsComeFromThePullListingAlone() async throws {
        let harness = try await GitHubHarness.start(config: ["owner": "acme", "exclude_repos": ["archive-*"]]) { world in
            Self.acme()(&world)
            world.repositories["acme/widgets"]?.hasIssues = false
        }
        defer { Task { await harness.stop() } }
        #expect(try await harness.syncAll().allOK)
        let requests = harness.standIn.requests().lines
        #expect(!requests.contains("GET /repos/acme/widgets/issues"), "has_issues false: the issue listing answers 410, so it is not asked")
        #expect(requests.contains("GET /repos/acme/widgets/pulls"))
        let records = try harness.live()
        #expect(records.keys.filter { $0.contains("/pulls/") }.sorted() == ["acme/widgets/pulls/3", "acme/widgets/pulls/4"])
        #expect(records.keys.filter { $0.contains("/issues/") }.isEmpty)
    }

    @Test func aRepositoryThatAnswers404KeepsItsRecordsUntilTheListingDropsIt() async throws {
        let harness = try await GitHubHarness.start(config: ["owner": "acme", "exclude_repos": ["archive-*"]], Self.acme())
        defer { Task { await harness.stop() } }
        #expect(try await harness.syncAll().allOK)
        let recorded = try harness.live().keys.filter { $0.hasPrefix("acme/widgets") }
        #expect(recorded.count > 5)

        // The token loses access (or the repository goes): 404 on the repository, but the
        // listing (cached) still shows it. A push marks it so the head is asked for.
        harness.standIn.world.withLock { world in
            world.push("acme/widgets", ["README.md": "moved\n"])
            world.scripted["/repos/acme/widgets/commits/main"] = [ScriptedAnswer(status: 404, body: #"{"message":"Not Found"}"#)]
        }
        let results = try await harness.syncAll()
        #expect(results.allOK, "a 404 repository is not a failed job")
        #expect(results[1].followUps.map(\.uniqueKey) == ["sync:gh"], "the repo job asks discovery once")
        #expect(try harness.live().keys.filter { $0.hasPrefix("acme/widgets") }.count == recorded.count, "nothing tombstoned on a 404 alone")

        // Discovery: the repository is gone from the listing too: every record is tombstoned.
        harness.standIn.world.withLock { $0.repositories["acme/widgets"]?.hidden = true }
        #expect(try await harness.run().ok)
        let documents = try harness.documents()
        #expect(recorded.allSatisfy { documents[$0]?.deleted == true })
        #expect(try harness.state("repo:acme/widgets") == nil)
    }

    @Test func badConfigIsRefusedNamingTheField() async throws {
        let cases: [([String: Any], String)] = [
            (["token": "x"], "field 'owner'"),
            (["owner": "acme"], "field 'token'"),
            (["owner": "acme", "token": "x", "app": ["app_id": 1, "private_key": "x"]], "field 'token'"),
            (["owner": "acme", "token": "x", "owner_type": "team"], "field 'owner_type'"),
            (["owner": "acme", "token": "x", "max_file_size": "lots"], "field 'max_file_size'"),
            (["owner": "acme", "token_file": "/nonexistent/token"], "field 'token_file'"),
            (["owner": "acme", "app": ["app_id": 1, "private_key": "not a key"]], "field 'app.private_key'"),
            (["owner": "acme", "token": "x", "skip_forks": "yes"], "field 'skip_forks'"),
        ]
        let folder = try ScratchFolder()
        let plugin = try PluginLibrary.load(path: GitHubHarness.plugin)
        for (config, expected) in cases {
            let json = String(decoding: try JSONSerialization.data(withJSONObject: config), as: UTF8.self)
            do {
                let instance = try await ConnectorInstance.create(
                    plugin: plugin, source: "bad", configJSON: json, dataDirectory: folder.file("data"), configDirectory: folder.path,
                    logger: .init(label: "test"))
                await instance.destroy()
                Issue.record("accepted \(json)")
            } catch {
                #expect("\(error)".contains(expected), "\(json): \(error)")
            }
        }
    }
}
