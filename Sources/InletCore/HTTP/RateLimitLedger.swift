import Foundation

/// What the HTTP service knows of each source's upstream rate limits, and whether a request may
/// go out now. Pure state: the service asks ``admit(source:route:now:)`` before sending and
/// reports every answer to ``record(source:route:status:headers:body:now:)``.
///
/// Budgets follow GitHub's headers (`x-ratelimit-remaining`, `x-ratelimit-reset` in epoch
/// seconds, `x-ratelimit-resource`), which other APIs share. A spent budget holds back the
/// requests of its source and resource until the reset, so the server never has to refuse one.
/// Refusals (403/429) with `retry-after`, or a secondary limit, hold back the whole source.
package struct RateLimitLedger: Sendable {
    /// Whether a request may be sent.
    package enum Admission: Sendable, Equatable {
        case send
        /// Send nothing before `until`; `reason` says why (for the plugin's error message).
        case wait(until: Date, reason: String)
    }

    /// What an answer means for the request that got it.
    package enum Verdict: Sendable, Equatable {
        /// An answer like any other (4xx and 5xx included).
        case answer
        /// The server refused with a rate limit: ask again at `until`.
        case limited(until: Date, reason: String)
    }

    /// One budget as the last answer described it.
    package struct Budget: Sendable, Equatable {
        package var remaining: Int
        package var reset: Date
    }

    private struct BudgetKey: Hashable { var source: String; var resource: String }
    private struct RouteKey: Hashable { var source: String; var route: String }

    /// Added to every wait: the server's clock and ours differ by a little.
    package let slack: Duration
    /// The first wait after a secondary limit without `retry-after`; doubles on each repeat.
    package let secondaryWait: Duration
    /// The longest secondary wait.
    package let maxSecondaryWait: Duration

    private var budgets: [BudgetKey: Budget] = [:]
    /// The resource each route's answers named; a route not yet seen takes its host's first.
    private var resources: [RouteKey: String] = [:]
    private var hostResources: [RouteKey: String] = [:]
    /// Retry-After and secondary limits: the whole source waits.
    private var holds: [String: (until: Date, reason: String)] = [:]
    /// Secondary limits in a row per source (reset by an answer that is not a refusal).
    private var secondaryStrikes: [String: Int] = [:]

    package init(slack: Duration = .seconds(1), secondaryWait: Duration = .seconds(60), maxSecondaryWait: Duration = .seconds(3600)) {
        self.slack = slack
        self.secondaryWait = secondaryWait
        self.maxSecondaryWait = maxSecondaryWait
    }

    /// Decides whether a request of `source` to `route` (host + first path segment) may go out at `now`.
    package func admit(source: String, route: String, now: Date) -> Admission {
        if let hold = holds[source], now < hold.until {
            return .wait(until: hold.until, reason: hold.reason)
        }
        let resource = self.resource(source: source, route: route)
        if let budget = budgets[BudgetKey(source: source, resource: resource)], budget.remaining <= 0 {
            let until = budget.reset.addingTimeInterval(slack.seconds)
            if now < until {
                let name = resource.isEmpty ? "" : " (resource \(resource))"
                return .wait(until: until, reason: "the rate limit\(name) is spent until its reset at \(Self.format(budget.reset))")
            }
        }
        return .send
    }

    /// Takes what an answer says about the source's budget.
    /// - Parameters:
    ///   - headers: the answer's fields, names in lowercase.
    ///   - body: the answer's body (a secondary limit is told in words).
    package mutating func record(
        source: String, route: String, status: Int, headers: [(name: String, value: String)], body: [UInt8], now: Date
    ) -> Verdict {
        func value(_ name: String) -> String? { headers.last { $0.name == name }?.value }
        let resource = value("x-ratelimit-resource") ?? ""
        let remaining = value("x-ratelimit-remaining").flatMap { Int($0) }
        let reset = value("x-ratelimit-reset").flatMap { Double($0) }.map { Date(timeIntervalSince1970: $0) }
        if remaining != nil || value("x-ratelimit-resource") != nil {
            resources[RouteKey(source: source, route: route)] = resource
            let host = RouteKey(source: source, route: Self.host(of: route))
            if hostResources[host] == nil { hostResources[host] = resource }
        }
        if let remaining, let reset {
            budgets[BudgetKey(source: source, resource: resource)] = Budget(remaining: remaining, reset: reset)
        }
        guard status == 403 || status == 429 else {
            if status < 400 { secondaryStrikes[source] = nil }
            return .answer
        }
        if let retryAfter = value("retry-after").flatMap({ Self.retryAfter($0, now: now) }) {
            let until = now.addingTimeInterval(retryAfter.seconds)
            let reason = "the server refused with \(status) and Retry-After \(Int(retryAfter.seconds.rounded(.up))) s"
            hold(source, until: until, reason: reason)
            return .limited(until: until, reason: reason)
        }
        if remaining == 0, let reset {
            let until = max(reset, now).addingTimeInterval(slack.seconds)
            let name = resource.isEmpty ? "" : " (resource \(resource))"
            return .limited(until: until, reason: "the server refused with \(status): the rate limit\(name) is spent until \(Self.format(reset))")
        }
        let secondary = String(decoding: body.prefix(4096), as: UTF8.self).lowercased().contains("secondary rate limit")
        guard status == 429 || secondary else { return .answer }  // a 403 for want of permission
        let strikes = (secondaryStrikes[source] ?? 0) + 1
        secondaryStrikes[source] = strikes
        let wait = min(secondaryWait * (1 << min(strikes - 1, 20)), maxSecondaryWait)
        let until = now.addingTimeInterval(wait.seconds)
        let reason = "the server refused with \(status) (\(secondary ? "secondary rate limit" : "too many requests")) without Retry-After: waiting \(Int(wait.seconds)) s (\(strikes) in a row)"
        hold(source, until: until, reason: reason)
        return .limited(until: until, reason: reason)
    }

    /// The budget the last answer of `source` for `resource` described.
    package func budget(source: String, resource: String = "") -> Budget? {
        budgets[BudgetKey(source: source, resource: resource)]
    }

    private func resource(source: String, route: String) -> String {
        resources[RouteKey(source: source, route: route)]
            ?? hostResources[RouteKey(source: source, route: Self.host(of: route))] ?? ""
    }

    private mutating func hold(_ source: String, until: Date, reason: String) {
        if let current = holds[source], current.until >= until { return }
        holds[source] = (until, reason)
    }

    private static func host(of route: String) -> String {
        String(route.prefix { $0 != "/" })
    }

    /// `Retry-After`: delay-seconds or an HTTP date.
    static func retryAfter(_ value: String, now: Date) -> Duration? {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        if let seconds = Int(trimmed) { return .seconds(max(0, seconds)) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: trimmed) else { return nil }
        return .milliseconds(Int64(max(0, date.timeIntervalSince(now)) * 1000))
    }

    private static func format(_ date: Date) -> String {
        ISO8601DateFormatter().string(from: date)
    }
}
