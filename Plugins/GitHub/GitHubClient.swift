import Foundation
import InletPluginKit
import Synchronization

/// GitHub's REST API through the host's HTTP service: the headers GitHub wants, the
/// credentials (a token, or a GitHub App's installation token refreshed before it expires and on
/// a 401), and `Link` pagination. Rate limits, the ETag cache and the breaker are the host's.
final class GitHubClient: Sendable {
    let baseURL: String
    let owner: String
    private let credentials: Credentials

    private enum Credentials: Sendable {
        case token(String)
        case app(AppAuth)
    }

    /// True with GitHub App credentials (an installation lists its own repositories).
    var isApp: Bool {
        if case .app = credentials { return true }
        return false
    }

    static let userAgent = "inlet-github/1.0"
    static let apiVersion = "2022-11-28"
    static let json = "application/vnd.github+json"

    init(settings: GitHubSettings) throws {
        baseURL = settings.baseURL
        owner = settings.owner
        switch settings.credentials {
        case .token(let token): credentials = .token(token)
        case .app(let appID, let pem, let installation):
            credentials = .app(AppAuth(jwt: try AppJWT(appID: appID, privateKeyPEM: pem), installationID: installation))
        }
    }

    /// An absolute URL for an API path (`/repos/o/r`), or the URL itself when already absolute
    /// (a `Link` header's).
    func url(_ pathOrURL: String) -> String {
        pathOrURL.hasPrefix("http://") || pathOrURL.hasPrefix("https://") ? pathOrURL : baseURL + pathOrURL
    }

    /// One GET (or other method) with the credentials; a 401 with App credentials refreshes the
    /// installation token and tries once more. Any answer is returned; the host throws for
    /// spent budgets and network errors.
    func request(
        _ pathOrURL: String, method: String = "GET", accept: String = GitHubClient.json, body: [UInt8]? = nil,
        cacheable: Bool = true, host: InletHost
    ) throws -> HTTPResponse {
        let target = url(pathOrURL)
        var response = try host.http(HTTPRequest(
            method: method, url: target, headers: try headers(accept: accept, host: host), body: body, cacheable: cacheable))
        if response.status == 401, case .app(let auth) = credentials {
            host.log(.info, "github: \(method) \(InletHost.redactedPath(target)) answered 401; refreshing the installation token")
            auth.invalidate()
            response = try host.http(HTTPRequest(
                method: method, url: target, headers: try headers(accept: accept, host: host), body: body, cacheable: cacheable))
        }
        return response
    }

    /// A GET whose answer must be 2xx: 5xx is transient (the host has counted it against the
    /// breaker), 401/403 are permanent (credentials), anything else is a failure naming the URL.
    func get(_ pathOrURL: String, accept: String = GitHubClient.json, cacheable: Bool = true, host: InletHost) throws -> HTTPResponse {
        let response = try request(pathOrURL, accept: accept, cacheable: cacheable, host: host)
        try Self.check(response, "GET \(InletHost.redactedPath(url(pathOrURL)))")
        return response
    }

    static func check(_ response: HTTPResponse, _ what: String) throws {
        if let wait = rateLimitWait(response) {
            throw ConnectorError.rateLimited(retryAfter: wait, "github: \(what) answered \(response.status): rate limited (\(message(response)))")
        }
        switch response.status {
        case 200..<300: return
        case 500...: throw ConnectorError.retry("github: \(what) answered \(response.status)")
        case 401: throw ConnectorError.failed("github: \(what) answered 401: the credentials were refused (\(message(response)))")
        case 403: throw ConnectorError.failed("github: \(what) answered 403: access denied (\(message(response)))")
        default: throw ConnectorError.retry("github: \(what) answered \(response.status) (\(message(response)))")
        }
    }

    /// How long to wait when a 403 or 429 is a rate limit, following GitHub's rules: its
    /// `retry-after`; else, with `x-ratelimit-remaining: 0`, until `x-ratelimit-reset`; else, for
    /// a 403/429 that says "rate limit", at least a minute. Nil for any other answer (a 403 that
    /// is a permission problem stays a failure). The host normally answers these itself
    /// (RATE_LIMITED before the connector sees them); this is the connector's own guard, so a
    /// rate limit can never become a permanent failure that quarantines the job.
    static func rateLimitWait(_ response: HTTPResponse, now: Date = Date()) -> Duration? {
        guard response.status == 403 || response.status == 429 else { return nil }
        if let seconds = response.header("retry-after").flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) }) {
            return .seconds(max(1, seconds))
        }
        if response.header("x-ratelimit-remaining") == "0",
            let reset = response.header("x-ratelimit-reset").flatMap({ TimeInterval($0.trimmingCharacters(in: .whitespaces)) })
        {
            return .seconds(max(1, Int((reset - now.timeIntervalSince1970).rounded(.up))))
        }
        if response.status == 429 || message(response).lowercased().contains("rate limit") { return .seconds(60) }
        return nil
    }

    /// GitHub's `message` field of an error answer, for logs.
    static func message(_ response: HTTPResponse) -> String {
        struct Body: Decodable { var message: String? }
        return (try? JSONDecoder().decode(Body.self, from: Data(response.body)).message) ?? "no message"
    }

    /// Decodes a JSON answer (snake_case keys to camelCase).
    static func decode<T: Decodable>(_ type: T.Type, _ response: HTTPResponse, _ what: String) throws -> T {
        do {
            return try GitHub.decode(T.self, from: response.body)
        } catch {
            throw ConnectorError.retry("github: \(what): unexpected answer (\(error))")
        }
    }

    /// Every page of a listing, in order, following the `Link` header's `rel="next"` URL.
    /// `page` returns false to stop early.
    func pages(
        _ path: String, host: InletHost, onFirst: (HTTPResponse) throws -> Bool = { _ in true },
        page: (HTTPResponse) throws -> Bool
    ) throws {
        var next: String? = path
        var first = true
        while let current = next {
            if host.isCancelled { throw ConnectorError.retry("github: cancelled") }
            let response = try request(current, host: host)
            if first {
                first = false
                guard try onFirst(response) else { return }
            }
            try Self.check(response, "GET \(InletHost.redactedPath(url(current)))")
            guard try page(response) else { return }
            next = response.link("next")
        }
    }

    private func headers(accept: String, host: InletHost) throws -> [(name: String, value: String)] {
        let token: String
        switch credentials {
        case .token(let value): token = value
        case .app(let auth): token = try auth.installationToken(client: self, host: host)
        }
        return [
            ("Accept", accept), ("Authorization", "Bearer \(token)"), ("User-Agent", Self.userAgent),
            ("X-GitHub-Api-Version", Self.apiVersion),
        ]
    }

    /// A GitHub App's installation token, kept until five minutes before it expires.
    final class AppAuth: Sendable {
        let jwt: AppJWT
        private let cached = Mutex<Cached?>(nil)
        private let installation: Mutex<String?>

        struct Cached {
            var token: String
            var expires: Date
        }

        init(jwt: AppJWT, installationID: String?) {
            self.jwt = jwt
            self.installation = Mutex(installationID)
        }

        func invalidate() { cached.withLock { $0 = nil } }

        func installationToken(client: GitHubClient, host: InletHost) throws -> String {
            if let current = cached.withLock({ $0 }), current.expires.timeIntervalSinceNow > 300 { return current.token }
            let bearer = try jwt.token()
            let appHeaders: [(name: String, value: String)] = [
                ("Accept", GitHubClient.json), ("Authorization", "Bearer \(bearer)"), ("User-Agent", GitHubClient.userAgent),
                ("X-GitHub-Api-Version", GitHubClient.apiVersion),
            ]
            let id = try installation.withLock { $0 } ?? findInstallation(client: client, headers: appHeaders, host: host)
            let response = try host.http(HTTPRequest(
                method: "POST", url: client.url("/app/installations/\(id)/access_tokens"), headers: appHeaders, cacheable: false))
            try GitHubClient.check(response, "POST /app/installations/\(id)/access_tokens")
            struct Answer: Decodable { var token: String; var expiresAt: String? }
            let answer = try GitHubClient.decode(Answer.self, response, "installation token")
            let expires = answer.expiresAt.flatMap(Timestamps.date(iso:)) ?? Date().addingTimeInterval(3600)
            cached.withLock { $0 = Cached(token: answer.token, expires: expires) }
            host.log(.info, "github: new installation token for app \(jwt.appID) (installation \(id)), valid until \(answer.expiresAt ?? "?")")
            return answer.token
        }

        /// The app's installation on the owner: the organisation's, else the user's.
        private func findInstallation(client: GitHubClient, headers: [(name: String, value: String)], host: InletHost) throws -> String {
            for kind in ["orgs", "users"] {
                let path = "/\(kind)/\(client.owner)/installation"
                let response = try host.http(HTTPRequest(url: client.url(path), headers: headers, cacheable: false))
                if response.status == 404 { continue }
                try GitHubClient.check(response, "GET \(path)")
                struct Answer: Decodable { var id: Int }
                let id = String(try GitHubClient.decode(Answer.self, response, "installation").id)
                installation.withLock { $0 = id }
                return id
            }
            throw ConnectorError.failed("github: app \(jwt.appID) is not installed on '\(client.owner)' (set app.installation_id, or install it)")
        }
    }
}

extension InletHost {
    /// A URL without its query, for messages.
    static func redactedPath(_ url: String) -> String {
        url.split(separator: "?", maxSplits: 1).first.map(String.init) ?? url
    }
}
