import Foundation
import Logging
import Synchronization

/// The host's HTTP service behind `host->http`: one per process, shared by every source.
///
/// For every connector alike it reuses connections (libcurl), follows redirects of GET and HEAD,
/// undoes gzip, keeps ETag / Last-Modified validators per source in the state database, honours
/// rate limits before the server has to refuse, reports upstream failures to the source's circuit
/// breaker, counts requests in metrics, and never logs a header value or a query string.
package final class HTTPService: Sendable {
    private let client: CurlClient
    private let cache: HTTPCacheStore?
    private let ledger = Mutex(RateLimitLedger())
    private let clock: any ScheduleClock
    /// What each source's requests say about its upstream, for the orchestrator's breakers.
    package let upstream = UpstreamReports()
    /// The timeout of a request that names none.
    package let defaultTimeout: Duration
    /// The largest body accepted.
    package let maxBodySize: Int
    /// The largest body the cache stores (a larger answer is handed on, not cached).
    package let maxCachedBodySize: Int
    /// False (a dry run) keeps the cache as it is: validators are sent, answers not stored.
    package let storesAnswers: Bool

    /// Creates the service.
    /// - Parameters:
    ///   - database: where the ETag cache lives (`http_cache`); nil for no cache.
    ///   - clock: wall-clock time for rate-limit resets and cache timestamps (injected by tests).
    ///   - defaultTimeout: the whole exchange, for requests that name no timeout.
    ///   - storesAnswers: false in a dry run: the cache is read, never written.
    package init(
        database: InletDatabase? = nil, clock: any ScheduleClock = SystemScheduleClock(), defaultTimeout: Duration = .seconds(30),
        maxBodySize: Int = 256 << 20, maxCachedBodySize: Int = 8 << 20, storesAnswers: Bool = true
    ) {
        self.client = CurlClient()
        self.cache = database.map(HTTPCacheStore.init)
        self.clock = clock
        self.defaultTimeout = defaultTimeout
        self.maxBodySize = maxBodySize
        self.maxCachedBodySize = maxCachedBodySize
        self.storesAnswers = storesAnswers
    }

    /// Performs one request of `source` on the calling (plugin) thread.
    /// - Parameters:
    ///   - logger: the call's logger (it carries the source and job).
    ///   - isCancelled: the call's cancel flag, polled while the request runs.
    /// - Returns: any answer, 4xx and 5xx included; on a 304 to the service's own validators,
    ///   the cached answer marked `notModified`.
    /// - Throws: ``HTTPServiceError``.
    package func perform(
        _ request: UpstreamRequest, source: String, logger: Logger, isCancelled: @escaping @Sendable () -> Bool
    ) throws(HTTPServiceError) -> UpstreamResponse {
        let target = try request.validated(source: source)
        let describe = "source '\(source)': \(request.method) \(target.display)"
        if isCancelled() { throw HTTPServiceError(.cancelled, "\(describe): cancelled before sending") }

        let now = clock.now
        if case .wait(let until, let reason) = ledger.withLock({ $0.admit(source: source, route: target.route, now: now) }) {
            let wait = Duration.milliseconds(Int64((until.timeIntervalSince(now) * 1000).rounded(.up)))
            logger.debug("http \(request.method) \(target.display): not sent, \(reason)")
            throw HTTPServiceError(.rateLimited, "\(describe): not sent: \(reason)", retryAfter: wait)
        }

        // Conditional GET: the cached validators, unless the plugin sent its own.
        var headers = request.headers
        var cached: HTTPCacheStore.Entry?
        let cacheKey = HTTPCacheStore.key(url: request.url, accept: request.header("accept"))
        let usesCache = cache != nil && request.cacheable && request.method == "GET" && request.body == nil
        if usesCache, let cache, request.header("if-none-match") == nil, request.header("if-modified-since") == nil {
            do {
                cached = try cache.entry(source: source, key: cacheKey)
            } catch {
                logger.warning("http cache of \(target.display) unreadable, sending unconditionally: \(error)")
            }
            if let cached {
                if let etag = cached.etag { headers.append(("If-None-Match", etag)) }
                if let lastModified = cached.lastModified { headers.append(("If-Modified-Since", lastModified)) }
            }
        }

        let exchange = CurlClient.Exchange(
            method: request.method, url: request.url, headers: headers, body: request.body,
            timeout: request.timeout ?? defaultTimeout, maxBodySize: maxBodySize)
        let started = ContinuousClock.now
        let answer: CurlClient.Answer
        do {
            answer = try client.perform(exchange, describe: describe, isCancelled: isCancelled)
        } catch {
            logger.debug("http \(request.method) \(target.display): \(error.code) after \(ProgressLine.format(ContinuousClock.now - started))")
            if error.code == .network || error.code == .timedOut {
                InletMetrics.httpRequest(source: source, host: target.host, status: "error")
                upstream.record(source: source, success: false)
            }
            throw error
        }
        let elapsed = ContinuousClock.now - started
        InletMetrics.httpRequest(source: source, host: target.host, status: String(answer.status))
        upstream.record(source: source, success: answer.status < 500)

        let answeredAt = clock.now
        let verdict = ledger.withLock {
            $0.record(source: source, route: target.route, status: answer.status, headers: answer.headers, body: answer.body, now: answeredAt)
        }
        if let remaining = answer.headers.last(where: { $0.name == "x-ratelimit-remaining" }).flatMap({ Int($0.value) }) {
            InletMetrics.rateLimitRemaining(source: source, remaining: remaining)
        }
        let response = UpstreamResponse(status: answer.status, headers: answer.headers, body: answer.body)
        if case .limited(let until, let reason) = verdict {
            logger.warning("http \(request.method) \(target.display) \(answer.status) in \(ProgressLine.format(elapsed)): rate limited, \(reason)")
            let wait = Duration.milliseconds(Int64((until.timeIntervalSince(answeredAt) * 1000).rounded(.up)))
            throw HTTPServiceError(.rateLimited, "\(describe): \(reason)", retryAfter: wait, answer: response)
        }
        logger.debug("http \(request.method) \(target.display) \(answer.status) in \(ProgressLine.format(elapsed))\(cached != nil && answer.status == 304 ? " (not modified: cached answer)" : "")")

        if answer.status == 304, let cached {
            return UpstreamResponse(status: cached.status, headers: cached.headers, body: cached.body, notModified: true)
        }
        if usesCache, storesAnswers, answer.status == 200, let cache {
            let etag = response.header("etag")
            let lastModified = response.header("last-modified")
            do {
                if (etag != nil || lastModified != nil) && answer.body.count <= maxCachedBodySize {
                    try cache.store(
                        HTTPCacheStore.Entry(etag: etag, lastModified: lastModified, status: 200, headers: answer.headers, body: answer.body),
                        source: source, key: cacheKey, url: request.url, now: answeredAt)
                } else if cached != nil {
                    try cache.remove(source: source, key: cacheKey)
                }
            } catch {
                logger.warning("http cache of \(target.display) not updated: \(error)")
            }
        }
        return response
    }

    /// The budget the last answer of `source` described, for `resource` (`x-ratelimit-resource`).
    package func rateLimitBudget(source: String, resource: String = "") -> RateLimitLedger.Budget? {
        ledger.withLock { $0.budget(source: source, resource: resource) }
    }
}
