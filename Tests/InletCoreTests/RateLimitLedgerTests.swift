import Foundation
import Testing

@testable import InletCore

@Suite("RateLimitLedger: budgets, refusals, secondary limits (no I/O)")
struct RateLimitLedgerTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func headers(_ remaining: Int, reset: Int, resource: String? = nil) -> [(name: String, value: String)] {
        var fields: [(name: String, value: String)] = [("x-ratelimit-remaining", "\(remaining)"), ("x-ratelimit-reset", "\(reset)")]
        if let resource { fields.append(("x-ratelimit-resource", resource)) }
        return fields
    }

    @Test func eachResourceHasItsOwnBudgetLearnedPerRoute() {
        var ledger = RateLimitLedger()
        let reset = Int(now.timeIntervalSince1970) + 100
        #expect(ledger.record(source: "a", route: "api/repos", status: 200, headers: headers(10, reset: reset, resource: "core"), body: [], now: now) == .answer)
        #expect(ledger.record(source: "a", route: "api/search", status: 200, headers: headers(0, reset: reset, resource: "search"), body: [], now: now) == .answer)
        #expect(ledger.admit(source: "a", route: "api/repos", now: now) == .send)
        guard case .wait(let until, let reason) = ledger.admit(source: "a", route: "api/search", now: now) else {
            Issue.record("a spent search budget must hold search requests")
            return
        }
        #expect(until == now.addingTimeInterval(101))
        #expect(reason.contains("resource search"))
        // A route never seen takes its host's first resource (core), which is not spent.
        #expect(ledger.admit(source: "a", route: "api/orgs", now: now) == .send)
        #expect(ledger.admit(source: "b", route: "api/search", now: now) == .send)
    }

    @Test func retryAfterAcceptsSecondsAndHTTPDates() {
        #expect(RateLimitLedger.retryAfter("120", now: now) == .seconds(120))
        let date = Date(timeIntervalSince1970: 1_800_000_030)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        #expect(RateLimitLedger.retryAfter(formatter.string(from: date), now: now) == .seconds(30))
        #expect(RateLimitLedger.retryAfter("soon", now: now) == nil)
    }

    @Test func aLongerHoldIsNotShortenedByALaterShorterOne() {
        var ledger = RateLimitLedger()
        _ = ledger.record(source: "a", route: "h/x", status: 429, headers: [("retry-after", "300")], body: [], now: now)
        _ = ledger.record(source: "a", route: "h/x", status: 429, headers: [("retry-after", "10")], body: [], now: now)
        #expect(ledger.admit(source: "a", route: "h/y", now: now.addingTimeInterval(100)) != .send)
        #expect(ledger.admit(source: "a", route: "h/y", now: now.addingTimeInterval(300)) == .send)
    }

    @Test func secondaryWaitsDoubleUpToTheirCap() {
        var ledger = RateLimitLedger(secondaryWait: .seconds(60), maxSecondaryWait: .seconds(200))
        var waits: [TimeInterval] = []
        var time = now
        for _ in 0..<4 {
            if case .limited(let until, _) = ledger.record(source: "a", route: "h/x", status: 429, headers: [], body: [], now: time) {
                waits.append(until.timeIntervalSince(time))
                time = until
            }
        }
        #expect(waits == [60, 120, 200, 200])
    }
}
