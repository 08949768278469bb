import Foundation

/// A connector written in Swift: one type per plugin, exported with ``ConnectorExport/register(_:hostABI:)``.
///
/// The SDK hides every pointer of the C ABI. An instance serves one source; the host never calls
/// one instance from two threads at once unless ``supportsReentrantCalls`` is true.
public protocol Connector: AnyObject {
    /// The name sources use in `connector:` (for example `git`).
    static var name: String { get }
    /// The plugin's own version, shown by `inlet plugins list`.
    static var version: String { get }
    /// One line for `inlet plugins list`.
    static var summary: String { get }
    /// A JSON Schema of the source's `config:` block; `inlet validate` checks configs against it.
    static var configSchema: String? { get }
    /// True when ``webhook(_:host:)`` handles events.
    static var supportsWebhooks: Bool { get }
    /// True when one instance may be called from several threads at once.
    static var supportsReentrantCalls: Bool { get }

    /// Makes an instance for one source.
    /// - Throws: a ``ConnectorError`` (or any error) explaining a bad config; the source does not load.
    init(config: ConnectorConfig, host: InletHost) throws

    /// Runs one job of this source (`kind` is `sync`, or a kind the connector enqueued).
    ///
    /// Records and state staged through `host` are committed when this returns without throwing.
    /// - Throws: ``ConnectorError`` to choose retry, rate limiting or permanent failure; any other
    ///   error counts as a transient failure and is retried.
    func sync(kind: String, args: JSONObject, host: InletHost) throws

    /// Handles one verified webhook delivery (only called when ``supportsWebhooks`` is true).
    func webhook(_ event: WebhookEvent, host: InletHost) throws

    /// Checks the instance's health; throw to report it unhealthy.
    func health(host: InletHost) throws
}

extension Connector {
    public static var summary: String { "" }
    public static var configSchema: String? { nil }
    public static var supportsWebhooks: Bool { false }
    public static var supportsReentrantCalls: Bool { false }

    public func webhook(_ event: WebhookEvent, host: InletHost) throws {
        throw ConnectorError.failed("\(Self.name) does not handle webhooks")
    }

    public func health(host: InletHost) throws {}
}

/// What a connector throws to choose how the host treats a failed call.
public struct ConnectorError: Error, CustomStringConvertible, Sendable {
    /// How the host proceeds after the failure.
    public enum Disposition: Sendable, Equatable {
        /// Transient: the job runs again after a backoff.
        case retry
        /// An upstream budget is spent: the job runs again after exactly this delay, and the
        /// attempt is not counted as a failure.
        case rateLimited(retryAfter: Duration)
        /// Permanent: the job goes to quarantine without further retries.
        case failed
    }

    public var disposition: Disposition
    public var message: String
    /// True when the host already explained this status on the call (its HTTP service does, with
    /// more detail than the SDK sees): rethrowing it then keeps the host's words.
    var explainedByHost = false

    public init(_ disposition: Disposition, _ message: String) {
        self.disposition = disposition
        self.message = message
    }

    public static func retry(_ message: String) -> ConnectorError { .init(.retry, message) }
    public static func failed(_ message: String) -> ConnectorError { .init(.failed, message) }
    public static func rateLimited(retryAfter: Duration, _ message: String) -> ConnectorError {
        .init(.rateLimited(retryAfter: retryAfter), message)
    }

    public var description: String { message }
}

/// A webhook delivery as the host verified it.
public struct WebhookEvent: Sendable {
    /// The event name, for example `push`.
    public var name: String
    /// The delivery's unique id (GitHub's `X-GitHub-Delivery`).
    public var deliveryID: String
    /// The headers that matter, with lowercase names.
    public var headers: [String: String]
    /// The raw request body.
    public var body: [UInt8]

    public init(name: String, deliveryID: String, headers: [String: String], body: [UInt8]) {
        self.name = name
        self.deliveryID = deliveryID
        self.headers = headers
        self.body = body
    }
}
