/// Why the host's HTTP service gave no answer to a connector's request.
///
/// Messages name the source, the method and the URL without its query (which may carry a token),
/// never a header value.
package struct HTTPServiceError: Error, CustomStringConvertible, Sendable {
    /// What went wrong, as a code that can grow.
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String { case invalidRequest, unavailable, network, timedOut, cancelled, rateLimited, answerTooLarge }
        private let base: Base
        private init(_ base: Base) { self.base = base }
        /// The request is malformed (method, URL, headers, struct sizes): a plugin bug.
        package static let invalidRequest = Code(.invalidRequest)
        /// This host context has no HTTP service.
        package static let unavailable = Code(.unavailable)
        /// No answer arrived: DNS, connection refused or reset, TLS, too many redirects.
        package static let network = Code(.network)
        /// No complete answer within the request's timeout.
        package static let timedOut = Code(.timedOut)
        /// The call was cancelled (job timeout, shutdown, Ctrl-C) while the request ran.
        package static let cancelled = Code(.cancelled)
        /// The source's budget is spent, or the server refused with a rate limit: see `retryAfter`.
        package static let rateLimited = Code(.rateLimited)
        /// The body is larger than the service accepts.
        package static let answerTooLarge = Code(.answerTooLarge)
        package var description: String { base.rawValue }
    }

    package var code: Code
    package var message: String
    /// With `.rateLimited`: how long to wait before asking again.
    package var retryAfter: Duration?
    /// With `.rateLimited` when the server refused: its answer (status, headers, body).
    package var answer: UpstreamResponse?

    package init(_ code: Code, _ message: String, retryAfter: Duration? = nil, answer: UpstreamResponse? = nil) {
        self.code = code
        self.message = message
        self.retryAfter = retryAfter
        self.answer = answer
    }

    /// The status `host->http` returns for this error (see inlet_connector.h).
    package var status: PluginStatus {
        switch code {
        case .rateLimited: .rateLimited
        case .network, .timedOut, .cancelled: .retry
        default: .failed
        }
    }

    package var description: String { message }
}
