import Foundation
import Logging
import Synchronization

/// The host's HTTP service behind `host->http`: one per process, shared by every source.
///
/// For every connector alike it reuses connections (libcurl), follows redirects of GET and HEAD,
/// undoes gzip, and never logs a header value or a query string.
package final class HTTPService: Sendable {
    private let client: CurlClient
    private let clock: any ScheduleClock
    /// The timeout of a request that names none.
    package let defaultTimeout: Duration
    /// The largest body accepted.
    package let maxBodySize: Int

    /// Creates the service.
    /// - Parameters:
    ///   - clock: wall-clock time for rate-limit resets and cache timestamps (injected by tests).
    ///   - defaultTimeout: the whole exchange, for requests that name no timeout.
    package init(
        clock: any ScheduleClock = SystemScheduleClock(), defaultTimeout: Duration = .seconds(30),
        maxBodySize: Int = 256 << 20
    ) {
        self.client = CurlClient()
        self.clock = clock
        self.defaultTimeout = defaultTimeout
        self.maxBodySize = maxBodySize
    }

    /// Performs one request of `source` on the calling (plugin) thread.
    /// - Parameters:
    ///   - logger: the call's logger (it carries the source and job).
    ///   - isCancelled: the call's cancel flag, polled while the request runs.
    /// - Returns: any answer, 4xx and 5xx included.
    /// - Throws: ``HTTPServiceError``.
    package func perform(
        _ request: UpstreamRequest, source: String, logger: Logger, isCancelled: @escaping @Sendable () -> Bool
    ) throws(HTTPServiceError) -> UpstreamResponse {
        let target = try request.validated(source: source)
        let describe = "source '\(source)': \(request.method) \(target.display)"
        if isCancelled() { throw HTTPServiceError(.cancelled, "\(describe): cancelled before sending") }
        let exchange = CurlClient.Exchange(
            method: request.method, url: request.url, headers: request.headers, body: request.body,
            timeout: request.timeout ?? defaultTimeout, maxBodySize: maxBodySize)
        let started = ContinuousClock.now
        let answer: CurlClient.Answer
        do {
            answer = try client.perform(exchange, describe: describe, isCancelled: isCancelled)
        } catch {
            logger.debug("http \(request.method) \(target.display): \(error.code) after \(ProgressLine.format(ContinuousClock.now - started))")
            throw error
        }
        logger.debug("http \(request.method) \(target.display) \(answer.status) in \(ProgressLine.format(ContinuousClock.now - started))")
        return UpstreamResponse(status: answer.status, headers: answer.headers, body: answer.body)
    }
}
