import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization
import _CryptoExtras

/// One request the stand-in received.
struct ReceivedRequest: Sendable, CustomStringConvertible {
    var method: String
    /// Path and query, as sent.
    var target: String
    /// Lowercased names.
    var headers: [String: String]
    var status: Int

    var path: String { String(target.split(separator: "?", maxSplits: 1)[0]) }
    var ifNoneMatch: String? { headers["if-none-match"] }
    var description: String { "\(method) \(target) → \(status)\(ifNoneMatch == nil ? "" : " (conditional)")" }
}

/// An answer written by a test, served before the model is asked.
struct ScriptedAnswer: Sendable {
    var status: Int
    var headers: [String: String] = [:]
    var body: String = ""
}

/// A local GitHub: Hummingbird on an ephemeral port, answering the REST endpoints the
/// connector uses from a small model (repositories with files, issues, pull requests) rendered
/// in GitHub's shapes (objects taken from recorded answers), with GitHub's ETag, Link and
/// rate-limit behaviour, and recording every request. Recorded exchanges can be mounted as they are.
final class GitHubStandIn: Sendable {
    /// The model and the request log, shared by the server's handler and the test.
    ///
    /// Unchecked Sendable, and safe: `value` is only touched inside `withLock`, under `lock`, so no
    /// two threads ever access it at once; the closures passed in do not let references to it
    /// escape.
    final class Shared: @unchecked Sendable {
        private let lock = NSLock()
        private var value = FakeGitHub()

        func withLock<R>(_ body: (inout FakeGitHub) throws -> R) rethrows -> R {
            lock.lock()
            defer { lock.unlock() }
            return try body(&value)
        }
    }

    /// The model: change it to change what GitHub answers.
    let world: Shared
    private let task: Mutex<Task<Void, any Error>?> = Mutex(nil)
    private let group: Mutex<ServiceGroup?> = Mutex(nil)
    let port: Int

    var baseURL: String { "http://127.0.0.1:\(port)" }

    private init(shared: Shared, port: Int) {
        self.world = shared
        self.port = port
    }

    /// Starts a stand-in; stop it with ``stop()``.
    static func start() async throws -> GitHubStandIn {
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let shared = Shared()
        let router = Router()
        let handler: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, _ in
            let body = try await request.body.collect(upTo: 1 << 20)
            return Self.answer(request, body: Array(buffer: body), shared: shared)
        }
        router.get("**", use: handler)
        router.post("**", use: handler)
        var logger = Logger(label: "github-stand-in")
        logger.logLevel = .critical
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: "github-stand-in"),
            onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) }, logger: logger)
        // Stopped by a graceful shutdown, never by cancelling the serving task: cancelling it can
        // leave an accepted connection unserved, and NIO traps on it ("Deinited NIOAsyncWriter
        // without calling finish()", apple/swift-nio#3481), above all with libcurl's pooled
        // keep-alive connections still open.
        let serviceGroup = ServiceGroup(services: [app], logger: logger)
        let task = Task { try await serviceGroup.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else {
            await serviceGroup.triggerGracefulShutdown()
            throw StandInError(message: "the GitHub stand-in did not start")
        }
        let standIn = GitHubStandIn(shared: shared, port: port)
        standIn.task.withLock { $0 = task }
        standIn.group.withLock { $0 = serviceGroup }
        shared.withLock { $0.baseURL = standIn.baseURL }
        return standIn
    }

    func stop() async {
        let task = self.task.withLock { $0 }
        await group.withLock { $0 }?.triggerGracefulShutdown()
        _ = try? await task?.value
    }

    /// Every request so far (and forgets them when `reset`).
    func requests(reset: Bool = false) -> [ReceivedRequest] {
        world.withLock { world in
            defer { if reset { world.requests = [] } }
            return world.requests
        }
    }

    private static func answer(_ request: Request, body: [UInt8], shared: Shared) -> Response {
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName] = field.value }
        let target = request.uri.path + (request.uri.query.map { "?\($0)" } ?? "")
        let reply = shared.withLock { world in world.handle(method: request.method.rawValue, target: target, headers: headers, body: body) }
        var fields = HTTPFields()
        for (name, value) in reply.headers.sorted(by: { $0.key < $1.key }) {
            if let field = HTTPField.Name(name) { fields.append(HTTPField(name: field, value: value)) }
        }
        return Response(
            status: HTTPResponse.Status(code: reply.status), headers: fields,
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: reply.body)))
    }
}

struct StandInError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// The model behind the stand-in (guarded by its mutex).
struct FakeGitHub {
    struct Repository {
        var owner: String
        var name: String
        var branch: String? = "main"
        var archived = false
        var fork = false
        var hasIssues = true
        /// Answers 404 everywhere (deleted, or the token lost access).
        var hidden = false
        var files: [String: [UInt8]] = [:]
        var pushedAt = FakeGitHub.time(0)
        var commits = 1
        var fullName: String { "\(owner)/\(name)" }
    }

    struct Item {
        var number: Int
        var title: String
        var body: String?
        var state = "open"
        var labels: [String] = []
        var author = "octocat"
        var createdAt: String
        var updatedAt: String
        var pull: Pull?

        struct Pull {
            var base = "main"
            var head: String
            var merged = false
        }
    }

    var baseURL = ""
    /// Owners and their kind: `orgs` or `users`.
    var owners: [String: String] = [:]
    var repositories: [String: Repository] = [:]
    /// Issues and pull requests by repository full name, then number.
    var items: [String: [Int: Item]] = [:]
    var requests: [ReceivedRequest] = []
    /// Answers to serve first, by path (without query), in order.
    var scripted: [String: [ScriptedAnswer]] = [:]
    /// Changes made right after answering a path, in order, one per answer (to change GitHub
    /// in the middle of a walk over pages).
    var afterAnswering: [String: [(inout FakeGitHub) -> Void]] = [:]
    /// A recursive tree with more entries than this is answered truncated.
    var truncateTreesOver = Int.max
    /// Recorded exchanges mounted as they are: path and query → (status, headers, body).
    var recorded: [String: (Int, [String: String], [UInt8])] = [:]
    /// The primary rate limit: answers that are not 304 spend one.
    var limit = 5000
    var remaining = 5000
    var reset = Int(Date().timeIntervalSince1970) + 3600
    /// Bearer tokens accepted (empty: any token).
    var tokens: Set<String> = []
    /// A GitHub App: its id, public key and installation; tokens it issues, and their lifetime.
    var app: (id: String, key: _RSA.Signing.PublicKey, installation: Int)?
    var issuedTokens = 0
    var tokenLifetime: TimeInterval = 3600
    /// Monotonic "now" of the model, for timestamps.
    var clock = 10

    static let epoch = Date().addingTimeInterval(-86_400)
    static func time(_ tick: Int) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: epoch.addingTimeInterval(TimeInterval(tick)))
    }

    mutating func tick() -> String {
        clock += 1
        return Self.time(clock)
    }

    // MARK: - Changes a test makes

    mutating func addRepository(_ repository: Repository) {
        var repository = repository
        repository.pushedAt = tick()
        repositories[repository.fullName] = repository
    }

    /// One commit on the default branch: writes `changes` (nil deletes a path).
    mutating func push(_ repo: String, _ changes: [String: String?]) {
        guard var repository = repositories[repo] else { return }
        for (path, content) in changes { repository.files[path] = content.map { Array($0.utf8) } }
        repository.commits += 1
        repository.pushedAt = tick()
        repositories[repo] = repository
    }

    @discardableResult
    mutating func upsertIssue(_ repo: String, number: Int, title: String, body: String? = nil, state: String = "open", labels: [String] = [], pull: Item.Pull? = nil) -> Item {
        let now = tick()
        var item = items[repo]?[number] ?? Item(number: number, title: title, createdAt: now, updatedAt: now)
        item.title = title
        item.body = body
        item.state = state
        item.labels = labels
        item.pull = pull
        item.updatedAt = now
        items[repo, default: [:]][number] = item
        return item
    }

    // MARK: - Git objects

    static func blobSHA(_ content: [UInt8]) -> String {
        var data = Array("blob \(content.count)\0".utf8)
        data += content
        return Insecure.SHA1.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }

    static func sha(_ text: String) -> String { Insecure.SHA1.hash(data: Array(text.utf8)).map { String(format: "%02x", $0) }.joined() }

    func commitSHA(_ repository: Repository) -> String { Self.sha("commit \(repository.fullName) \(repository.commits) \(treeSHA(repository, ""))") }

    /// Folder `prefix` ("" for the root, else "a/b/"): immediate blobs and subfolders.
    func folder(_ repository: Repository, _ prefix: String) -> (blobs: [String], folders: [String]) {
        var blobs = Set<String>(), folders = Set<String>()
        for path in repository.files.keys where path.hasPrefix(prefix) {
            let rest = path.dropFirst(prefix.count)
            if let slash = rest.firstIndex(of: "/") { folders.insert(String(rest[..<slash])) } else { blobs.insert(String(rest)) }
        }
        return (blobs.sorted(), folders.sorted())
    }

    func treeSHA(_ repository: Repository, _ prefix: String) -> String {
        let (blobs, folders) = folder(repository, prefix)
        var text = "tree \(repository.fullName) \(prefix)\n"
        for blob in blobs { text += "blob \(blob) \(Self.blobSHA(repository.files[prefix + blob]!))\n" }
        for sub in folders { text += "tree \(sub) \(treeSHA(repository, prefix + sub + "/"))\n" }
        return Self.sha(text)
    }

    /// Tree entries below `prefix`, paths relative to it.
    func treeEntries(_ repository: Repository, _ prefix: String, recursive: Bool) -> [[String: Any]] {
        let (blobs, folders) = folder(repository, prefix)
        var out: [(String, [String: Any])] = []
        for blob in blobs {
            let content = repository.files[prefix + blob]!
            out.append((blob, ["path": blob, "mode": "100644", "type": "blob", "sha": Self.blobSHA(content), "size": content.count,
                               "url": "\(baseURL)/repos/\(repository.fullName)/git/blobs/\(Self.blobSHA(content))"]))
        }
        for sub in folders {
            let sha = treeSHA(repository, prefix + sub + "/")
            out.append((sub, ["path": sub, "mode": "040000", "type": "tree", "sha": sha, "url": "\(baseURL)/repos/\(repository.fullName)/git/trees/\(sha)"]))
            if recursive {
                for var child in treeEntries(repository, prefix + sub + "/", recursive: true) {
                    child["path"] = sub + "/" + (child["path"] as! String)
                    out.append((child["path"] as! String, child))
                }
            }
        }
        return out.sorted { $0.0 < $1.0 }.map(\.1)
    }

    /// The folder whose tree has this SHA ("" for the root), or the commit's root.
    func folder(withTreeSHA sha: String, in repository: Repository) -> String? {
        if sha == commitSHA(repository) { return "" }
        var pending = [""]
        while let prefix = pending.popLast() {
            if treeSHA(repository, prefix) == sha { return prefix }
            pending += folder(repository, prefix).folders.map { prefix + $0 + "/" }
        }
        return nil
    }

    // MARK: - Answers

    struct Reply {
        var status: Int
        var headers: [String: String] = [:]
        var body: [UInt8] = []
    }

    mutating func handle(method: String, target: String, headers: [String: String], body: [UInt8]) -> Reply {
        var reply = route(method: method, target: target, headers: headers, body: body)
        reply.headers["x-ratelimit-limit"] = String(limit)
        reply.headers["x-ratelimit-remaining"] = String(remaining)
        reply.headers["x-ratelimit-reset"] = String(reset)
        reply.headers["x-ratelimit-used"] = String(limit - remaining)
        reply.headers["x-ratelimit-resource"] = "core"
        requests.append(ReceivedRequest(method: method, target: target, headers: headers, status: reply.status))
        let path = String(target.split(separator: "?", maxSplits: 1)[0])
        if var changes = afterAnswering[path], !changes.isEmpty {
            let change = changes.removeFirst()
            afterAnswering[path] = changes
            change(&self)
        }
        return reply
    }

    private mutating func route(method: String, target: String, headers: [String: String], body: [UInt8]) -> Reply {
        let path = String(target.split(separator: "?", maxSplits: 1)[0])
        if var queue = scripted[path], !queue.isEmpty {
            let answer = queue.removeFirst()
            scripted[path] = queue
            return Reply(status: answer.status, headers: answer.headers, body: Array(answer.body.utf8))
        }
        if path.hasPrefix("/app/") || path.hasSuffix("/installation") { return appRoute(method: method, path: path, headers: headers) }
        if !tokens.isEmpty {
            let token = headers["authorization"].map { String($0.dropFirst("Bearer ".count)) } ?? ""
            guard tokens.contains(token) else {
                return Reply(status: 401, headers: ["content-type": "application/json"], body: Array(#"{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest"}"#.utf8))
            }
        }
        if remaining <= 0 {
            return Reply(status: 403, headers: ["content-type": "application/json"], body: Array(#"{"message":"API rate limit exceeded for installation ID 1000.","documentation_url":"https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting"}"#.utf8))
        }
        var reply: Reply
        if let (status, recordedHeaders, recordedBody) = recorded[target] {
            reply = Reply(status: status, headers: recordedHeaders, body: recordedBody)
        } else {
            reply = modelRoute(path: path, query: Self.query(target), accept: headers["accept"] ?? "")
        }
        guard reply.status == 200, method == "GET" else {
            if reply.status != 304 { remaining -= 1 }
            return reply
        }
        // GitHub's conditional requests: a weak ETag of the body; a match answers 304, free.
        let etag = reply.headers["etag"] ?? "W/\"\(Self.sha(String(decoding: reply.body, as: UTF8.self) + (headers["accept"] ?? "")))\""
        reply.headers["etag"] = etag
        if let condition = headers["if-none-match"], condition == etag {
            return Reply(status: 304, headers: ["etag": etag])
        }
        remaining -= 1
        return reply
    }

    static func query(_ target: String) -> [String: String] {
        guard let mark = target.firstIndex(of: "?") else { return [:] }
        var out: [String: String] = [:]
        for pair in target[target.index(after: mark)...].split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            out[parts[0]] = parts.count > 1 ? (parts[1].removingPercentEncoding ?? parts[1]) : ""
        }
        return out
    }

    private func json(_ value: Any, status: Int = 200, headers: [String: String] = [:]) -> Reply {
        var headers = headers
        headers["content-type"] = "application/json; charset=utf-8"
        let data = (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys])) ?? Data()
        return Reply(status: status, headers: headers, body: Array(data))
    }

    private func notFound() -> Reply {
        json(["message": "Not Found", "documentation_url": "https://docs.github.com/rest"], status: 404)
    }

    /// One page of a listing, with GitHub's Link header (absolute URLs, `page` changed).
    private func page(_ items: [Any], path: String, query: [String: String]) -> Reply {
        let perPage = max(1, Int(query["per_page"] ?? "30") ?? 30)
        let number = max(1, Int(query["page"] ?? "1") ?? 1)
        let slice = Array(items.dropFirst((number - 1) * perPage).prefix(perPage))
        let pages = max(1, (items.count + perPage - 1) / perPage)
        func link(_ page: Int) -> String {
            var parameters = query
            parameters["page"] = String(page)
            let text = parameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "&")
            return "<\(baseURL)\(path)?\(text)>"
        }
        var links: [String] = []
        if number > 1 { links.append("\(link(number - 1)); rel=\"prev\"") }
        if number < pages { links += ["\(link(number + 1)); rel=\"next\"", "\(link(pages)); rel=\"last\""] }
        if number > 1 { links.append("\(link(1)); rel=\"first\"") }
        return json(slice, headers: links.isEmpty ? [:] : ["link": links.joined(separator: ", ")])
    }

    private func modelRoute(path: String, query: [String: String], accept: String) -> Reply {
        let parts = path.split(separator: "/").map(String.init)
        if parts == ["installation", "repositories"] {
            // What the App's installation was granted: every repository of its owner, private ones included.
            let granted = repositories.values.filter { !$0.hidden && owners[$0.owner] != nil }.sorted { $0.fullName < $1.fullName }
            let reply = page(granted.map(repositoryJSON), path: path, query: query)
            guard let items = try? JSONSerialization.jsonObject(with: Data(reply.body)) else { return reply }
            var wrapped = json(["total_count": granted.count, "repositories": items])
            wrapped.headers.merge(reply.headers.filter { $0.key == "link" }) { _, new in new }
            return wrapped
        }
        if parts.count == 3, parts[0] == "orgs" || parts[0] == "users", parts[2] == "repos" {
            guard owners[parts[1]] == parts[0] else { return notFound() }
            let listed = repositories.values.filter { $0.owner == parts[1] && !$0.hidden }.sorted { $0.name < $1.name }
            return page(listed.map(repositoryJSON), path: path, query: query)
        }
        guard parts.count >= 4, parts[0] == "repos", let repository = repositories["\(parts[1])/\(parts[2])"], !repository.hidden else {
            return notFound()
        }
        let repo = repository.fullName
        switch (parts[3], parts.count) {
        case ("commits", 5...):
            let ref = parts[4...].joined(separator: "/").removingPercentEncoding ?? ""
            guard ref == repository.branch else { return notFound() }
            if repository.files.isEmpty { return json(["message": "Git Repository is empty."], status: 409) }
            let sha = commitSHA(repository)
            guard accept.contains("sha") else { return json(["sha": sha]) }
            return Reply(status: 200, headers: ["content-type": "application/vnd.github.sha; charset=utf-8", "etag": "\"\(sha)\""], body: Array(sha.utf8))
        case ("git", 6) where parts[4] == "trees":
            guard let prefix = folder(withTreeSHA: parts[5], in: repository) else { return notFound() }
            var entries = treeEntries(repository, prefix, recursive: query["recursive"] != nil)
            let truncated = query["recursive"] != nil && entries.count > truncateTreesOver
            if truncated { entries = Array(entries.prefix(truncateTreesOver)) }
            let sha = treeSHA(repository, prefix)
            return json(["sha": sha, "url": "\(baseURL)/repos/\(repo)/git/trees/\(sha)", "tree": entries, "truncated": truncated])
        case ("git", 6) where parts[4] == "blobs":
            guard let content = repository.files.values.first(where: { Self.blobSHA($0) == parts[5] }) else { return notFound() }
            if accept.contains("raw") { return Reply(status: 200, headers: ["content-type": "application/vnd.github.raw"], body: content) }
            return json(["sha": parts[5], "size": content.count, "encoding": "base64", "content": Data(content).base64EncodedString()])
        case ("issues", 4):
            guard repository.hasIssues else { return json(["message": "Issues are disabled for this repo"], status: 410) }
            var list = Array((items[repo] ?? [:]).values)
            if let since = query["since"] { list = list.filter { $0.updatedAt >= since } }
            list.sort { ($0.updatedAt, $0.number) > ($1.updatedAt, $1.number) }
            if query["direction"] == "asc" { list.reverse() }
            return page(list.map { issueJSON($0, repo: repo) }, path: path, query: query)
        case ("pulls", 4):
            var list = (items[repo] ?? [:]).values.filter { $0.pull != nil }
            list.sort { ($0.updatedAt, $0.number) > ($1.updatedAt, $1.number) }
            return page(list.map { pullJSON($0, repo: repo) }, path: path, query: query)
        default:
            return notFound()
        }
    }

    // MARK: - GitHub App

    private mutating func appRoute(method: String, path: String, headers: [String: String]) -> Reply {
        guard let app else { return notFound() }
        let jwt = headers["authorization"].map { String($0.dropFirst("Bearer ".count)) } ?? ""
        guard Self.verify(jwt: jwt, key: app.key, appID: app.id) else {
            return json(["message": "A JSON web token could not be decoded"], status: 401)
        }
        let parts = path.split(separator: "/").map(String.init)
        if method == "GET", parts.count == 3, parts[2] == "installation", owners[parts[1]] == parts[0] {
            return json(["id": app.installation, "account": ["login": parts[1]], "app_id": Int(app.id) ?? 0])
        }
        if method == "POST", parts == ["app", "installations", String(app.installation), "access_tokens"] {
            issuedTokens += 1
            let token = "ghs_standin\(issuedTokens)"
            tokens.insert(token)
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime]
            return json(["token": token, "expires_at": formatter.string(from: Date().addingTimeInterval(tokenLifetime))], status: 201)
        }
        return notFound()
    }

    /// Checks an RS256 JWT as GitHub does: signature, issuer, not expired, at most 10 minutes.
    static func verify(jwt: String, key: _RSA.Signing.PublicKey, appID: String) -> Bool {
        let parts = jwt.split(separator: ".").map(String.init)
        guard parts.count == 3, let signature = base64URL(parts[2]), let payloadData = base64URL(parts[1]),
            let payload = try? JSONSerialization.jsonObject(with: payloadData) as? [String: Any]
        else { return false }
        let valid = key.isValidSignature(
            _RSA.Signing.RSASignature(rawRepresentation: signature), for: Data((parts[0] + "." + parts[1]).utf8), padding: .insecurePKCS1v1_5)
        let now = Int(Date().timeIntervalSince1970)
        guard let iat = payload["iat"] as? Int, let exp = payload["exp"] as? Int else { return false }
        return valid && "\(payload["iss"] ?? "")" == appID && exp > now && exp - iat <= 600
    }

    static func base64URL(_ text: String) -> Data? {
        var base = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base.count % 4 != 0 { base += "=" }
        return Data(base64Encoded: base)
    }

    // MARK: - Objects in GitHub's shapes (from recorded answers)

    func repositoryJSON(_ repository: Repository) -> [String: Any] {
        var object = Fixtures.repositoryTemplate
        object["name"] = repository.name
        object["full_name"] = repository.fullName
        object["default_branch"] = repository.branch ?? NSNull()
        object["archived"] = repository.archived
        object["fork"] = repository.fork
        object["has_issues"] = repository.hasIssues
        object["pushed_at"] = repository.pushedAt
        object["html_url"] = "https://github.com/\(repository.fullName)"
        object["url"] = "\(baseURL)/repos/\(repository.fullName)"
        if var owner = object["owner"] as? [String: Any] {
            owner["login"] = repository.owner
            object["owner"] = owner
        }
        return object
    }

    /// The fields issues and pull requests share, over a recorded object.
    func itemJSON(_ template: [String: Any], _ item: Item, url: String) -> [String: Any] {
        var object = template
        object["number"] = item.number
        object["title"] = item.title
        object["body"] = item.body ?? NSNull()
        object["state"] = item.state
        object["labels"] = item.labels.map { ["name": $0, "color": "ededed", "default": false] }
        object["created_at"] = item.createdAt
        object["updated_at"] = item.updatedAt
        object["closed_at"] = item.state == "closed" ? item.updatedAt : NSNull()
        object["html_url"] = url
        if var user = object["user"] as? [String: Any] {
            user["login"] = item.author
            object["user"] = user
        }
        return object
    }

    func issueJSON(_ item: Item, repo: String) -> [String: Any] {
        var object = itemJSON(Fixtures.issueTemplate, item, url: "https://github.com/\(repo)/\(item.pull == nil ? "issues" : "pull")/\(item.number)")
        if let pull = item.pull {
            object["pull_request"] = [
                "url": "\(baseURL)/repos/\(repo)/pulls/\(item.number)", "html_url": "https://github.com/\(repo)/pull/\(item.number)",
                "merged_at": pull.merged ? item.updatedAt : NSNull(),
            ] as [String: Any]
        }
        return object
    }

    func pullJSON(_ item: Item, repo: String) -> [String: Any] {
        var object = itemJSON(Fixtures.pullTemplate, item, url: "https://github.com/\(repo)/pull/\(item.number)")
        object["merged_at"] = item.pull?.merged == true ? item.updatedAt : NSNull()
        // The listing has no `merged` field (only the single pull request does).
        object.removeValue(forKey: "merged")
        for (side, ref) in [("base", item.pull?.base ?? "main"), ("head", item.pull?.head ?? "topic")] {
            if var end = object[side] as? [String: Any] {
                end["ref"] = ref
                end["sha"] = Self.sha("\(repo) \(ref)")
                end["label"] = "\(repo.split(separator: "/")[0]):\(ref)"
                object[side] = end
            }
        }
        return object
    }
}
