import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import InletCore
import Logging
import Metrics

/// `POST /webhooks/{source}`: verifies a GitHub delivery, stores it with its job (group commit:
/// durable before the answer), and answers within milliseconds.
package struct WebhookReceiver: Sendable {
    /// GitHub never sends more (its own cap); larger bodies are refused while they stream in.
    package static let maxBodySize = 25 * 1024 * 1024
    /// How long a client should wait after a 429 (queue full).
    package static let retryAfterSeconds = 30
    /// The most bytes of bodies buffered at once by all requests: five at GitHub's cap, or
    /// thousands of ordinary deliveries (a few KB each).
    package static let bodyBudgetBytes = 5 * maxBodySize
    /// The request headers kept with a delivery (lowercase), for the connector.
    static let keptHeaders = [
        "x-github-event", "x-github-delivery", "x-github-hook-id", "x-github-hook-installation-target-type",
        "x-github-hook-installation-target-id", "content-type", "user-agent",
    ]

    let config: LiveConfig
    let queue: JobQueue
    let committer: GroupCommitter
    let stats: WebhookStats
    let availability: SourceAvailability
    let budget: BodyBudget
    let wakeup: Wakeup?
    let logger: Logger

    package init(
        config: LiveConfig, queue: JobQueue, committer: GroupCommitter, stats: WebhookStats,
        availability: SourceAvailability = SourceAvailability(), budget: BodyBudget = BodyBudget(limit: bodyBudgetBytes),
        wakeup: Wakeup?, logger: Logger
    ) {
        self.availability = availability
        self.budget = budget
        self.config = config
        self.queue = queue
        self.committer = committer
        self.stats = stats
        self.wakeup = wakeup
        self.logger = logger
    }

    /// Outcomes as counted in `inlet_webhooks_total{outcome}`.
    enum Outcome: String {
        case accepted, duplicate, ping, unauthorized, tooLarge = "too_large", badRequest = "bad_request"
        case queueFull = "queue_full", busy, unavailable = "source_unavailable", error
    }

    func handle(_ request: Request, context: some RequestContext) async throws -> Response {
        let name = context.parameters.get("source") ?? ""
        guard let source = config.config.source(named: name), let webhook = source.webhook else {
            // No metric or stats: the label would be whatever a stranger typed.
            throw APIError(.notFound, code: "not_found", "no source '\(name)' takes webhooks")
        }
        // Its jobs would never run: they would only fill the queue until every source got 429.
        guard source.isEnabled else {
            throw APIError(.notFound, code: "not_found", "source '\(name)' is disabled (enabled: false): it takes no webhooks")
        }
        stats.record(source: name) { $0.received += 1 }
        // Until the signature checks out the event name is a stranger's text: not a label.
        var event = "unverified"
        do {
            let response = try await receive(request, source: source, secrets: webhook.secrets, event: &event)
            return response
        } catch let error as APIError {
            record(source: name, event: event, outcome: Self.outcome(of: error))
            throw error
        } catch let error as CancellationError {
            throw error  // the server is stopping or the client went away: not a failed delivery
        } catch {
            record(source: name, event: event, outcome: .error)
            logger.error("webhook for '\(name)' failed: \(error)")
            throw APIError(.internalServerError, code: "internal", "the delivery could not be stored; send it again")
        }
    }

    private func receive(_ request: Request, source: SourceConfig, secrets: [String], event: inout String) async throws -> Response {
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > Self.maxBodySize {
            throw Self.tooLarge
        }
        guard let signature = request.headers[Self.signatureHeader] else {
            throw APIError(.unauthorized, code: "unauthorized", "missing X-Hub-Signature-256")
        }
        let declared = request.headers[.contentLength].flatMap(Int.init)
        var held = 0
        defer { budget.give(held) }
        let body = try await Self.collect(request.body, upTo: Self.maxBodySize, declared: declared) { bytes in
            guard budget.take(bytes) else { throw Self.busy }
            held += bytes
        }
        guard WebhookSignature.isValid(signature, body: body, secrets: secrets) else {
            throw APIError(.unauthorized, code: "unauthorized", "X-Hub-Signature-256 does not match the body under any configured secret")
        }
        // Nor would they for a source the daemon cannot run now: the sender (signed, so not a
        // stranger) sees the failure in /health's words, without the error's paths, and can
        // redeliver once the operator fixed the source and reloaded.
        if let why = availability.reason(for: source.name) {
            throw APIError(.serviceUnavailable, code: "source_unavailable", "source '\(source.name)' cannot take deliveries now: \(HealthReport.publicReason(why))")
        }
        // Verified: from here on the event is a label (`other` when there is none to name).
        event = "other"
        // A header sent twice reads as both values joined by ", ": refused rather than stored so.
        for name in [Self.eventHeader, Self.deliveryHeader] where request.headers[values: name].count > 1 {
            throw APIError(.badRequest, code: "bad_request", "\(name.rawName) is sent more than once")
        }
        guard let eventName = request.headers[Self.eventHeader], !eventName.isEmpty else {
            throw APIError(.badRequest, code: "bad_request", "missing X-GitHub-Event")
        }
        event = stats.eventLabel(source: source.name, event: eventName)
        guard let deliveryID = request.headers[Self.deliveryHeader], !deliveryID.isEmpty, deliveryID.utf8.count <= 200 else {
            throw APIError(.badRequest, code: "bad_request", "missing or overlong X-GitHub-Delivery")
        }
        let contentType = request.headers[.contentType]?.lowercased() ?? "application/json"
        // The media type without its parameters (`; charset=utf-8`), as GitHub sends it.
        // (Trimmed by hand: Foundation's `trimmingCharacters` bridges through NSString, 1% of a delivery.)
        guard Self.trimmed(contentType.prefix { $0 != ";" }) == "application/json" else {
            throw APIError(.badRequest, code: "bad_request", "content type '\(contentType)' is not application/json: set the webhook's content type to application/json")
        }
        guard JSONObjectValidator.isObject(body) else {
            throw APIError(.badRequest, code: "bad_request", "the body is not a JSON object")
        }
        if eventName == "ping" {
            record(source: source.name, event: event, outcome: .ping)
            return Self.json(#"{"status":"pong"}"#, status: .ok)
        }

        // Hand-written JSON on the hot path: JSONEncoder cost more than the HMAC.
        var headerJSON = "{"
        for (name, field) in Self.keptHeaderFields {
            guard let value = request.headers[field] else { continue }
            if headerJSON.utf8.count > 1 { headerJSON += "," }
            headerJSON += "\"\(name)\":\"\(JSONText.escaped(value))\""
        }
        headerJSON += "}"
        let headers = headerJSON
        let queue = self.queue
        let maxAttempts = source.retry.maxAttempts
        let sourceName = source.name
        let outcome = try await committer.write { db in
            try WebhookDelivery.store(
                source: sourceName, deliveryID: deliveryID, event: eventName, headers: headers, body: body,
                maxAttempts: maxAttempts, queue: queue, now: Date(), in: db)
        }
        switch outcome {
        case .queued(let deliveryRow, let jobID):
            record(source: source.name, event: event, outcome: .accepted)
            stats.record(source: source.name) { $0.queued += 1 }
            wakeup?.signal()
            logger.debug("webhook '\(eventName)' for '\(source.name)' stored", metadata: ["delivery": "\(deliveryID)", "job": "\(jobID)"])
            return Self.json(#"{"delivery":\#(deliveryRow),"job_id":\#(jobID)}"#, status: .accepted)
        case .duplicate(let jobID):
            record(source: source.name, event: event, outcome: .duplicate)
            return Self.json(#"{"duplicate":true,"job_id":\#(jobID.map(String.init) ?? "null")}"#, status: .ok)
        case .full:
            throw APIError(
                .tooManyRequests, code: "queue_full", "the job queue holds queue.max_size jobs; retry later",
                headers: [.retryAfter: "\(Self.retryAfterSeconds)"])
        }
    }

    /// `text` without the spaces and tabs around it.
    static func trimmed(_ text: Substring) -> Substring {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = text.firstIndex(where: { !blank($0) }), let last = text.lastIndex(where: { !blank($0) }) else { return "" }
        return text[first...last]
    }

    static let keptHeaderFields = keptHeaders.map { ($0, HTTPField.Name($0)!) }

    static func json(_ text: String, status: HTTPResponse.Status) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// Collects a request body, refusing it as soon as it grows past `limit` (a lying or absent
    /// Content-Length does not get us to buffer more). `hold` is told of each chunk's bytes
    /// before they are kept, and may refuse them: only bytes that arrived count, so announcing a
    /// large body and sending nothing holds no budget.
    static func collect(
        _ body: RequestBody, upTo limit: Int, declared: Int? = nil, hold: (Int) throws -> Void = { _ in }
    ) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        // The announced size in one allocation (up to 64 KB on trust), not doublings.
        if let declared, declared > 0 { bytes.reserveCapacity(min(declared, limit, Self.trustedReservation)) }
        for try await chunk in body {
            guard bytes.count + chunk.readableBytes <= limit else { throw tooLarge }
            try hold(chunk.readableBytes)
            bytes.append(contentsOf: chunk.readableBytesView)
        }
        return bytes
    }

    /// The most memory reserved for a body on its Content-Length alone, before it arrives
    /// (outside the budget: small, since anyone can announce a large body and send nothing).
    static let trustedReservation = 64 << 10

    static let tooLarge = APIError(.contentTooLarge, code: "too_large", "the body is over 25 MB, GitHub's own limit")
    static let busy = APIError(
        .serviceUnavailable, code: "busy", "too many large deliveries are being received at once; send it again later",
        headers: [.retryAfter: "\(retryAfterSeconds)"])
    static let signatureHeader = HTTPField.Name("X-Hub-Signature-256")!
    static let eventHeader = HTTPField.Name("X-GitHub-Event")!
    static let deliveryHeader = HTTPField.Name("X-GitHub-Delivery")!

    private static func outcome(of error: APIError) -> Outcome {
        switch error.status {
        case .unauthorized: .unauthorized
        case .contentTooLarge: .tooLarge
        case .badRequest: .badRequest
        case .tooManyRequests: .queueFull
        case .serviceUnavailable: error.code == "source_unavailable" ? .unavailable : .busy
        default: .error
        }
    }

    private func record(source: String, event: String, outcome: Outcome) {
        InletMetrics.webhook(source: source, event: event, outcome: outcome.rawValue)
        switch outcome {
        case .accepted, .duplicate, .ping: break
        default: stats.record(source: source) { $0.errors += 1 }
        }
    }
}
