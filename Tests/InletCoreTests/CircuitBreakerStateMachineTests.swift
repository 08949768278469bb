import Foundation
import InletCore
import Testing

@Suite("CircuitBreakerStateMachine")
struct CircuitBreakerStateMachineTests {
    /// 2025-03-01 10:00:00 UTC.
    static let t0 = Date(timeIntervalSince1970: 1_740_823_200)

    static func at(_ seconds: Double) -> Date { t0.addingTimeInterval(seconds) }

    @Test func closedOpenHalfOpenClosed() {
        var breaker = CircuitBreakerStateMachine(failureThreshold: 3, openFor: .seconds(60))
        #expect(breaker.state == .closed(consecutiveFailures: 0))
        #expect(breaker.admit(now: Self.at(0)) == .allow)

        // Two failures, then a success: the count starts over.
        #expect(breaker.record(success: false, now: Self.at(1)) == nil)
        #expect(breaker.record(success: false, now: Self.at(2)) == nil)
        #expect(breaker.state == .closed(consecutiveFailures: 2))
        #expect(breaker.record(success: true, now: Self.at(3)) == nil)
        #expect(breaker.state == .closed(consecutiveFailures: 0))

        // Three in a row open it for 60s from the third.
        #expect(breaker.record(success: false, now: Self.at(4)) == nil)
        #expect(breaker.record(success: false, now: Self.at(5)) == nil)
        #expect(breaker.admit(now: Self.at(5)) == .allow)
        #expect(breaker.record(success: false, now: Self.at(6)) == .opened(until: Self.at(66)))
        #expect(breaker.state == .open(until: Self.at(66)))
        #expect((breaker.name, breaker.gaugeValue) == ("open", 1))

        // Jobs wait for the end of the open period, and are told exactly when that is.
        #expect(breaker.admit(now: Self.at(7)) == .defer(until: Self.at(66)))
        #expect(breaker.admit(now: Self.at(65.999)) == .defer(until: Self.at(66)))

        // At `until` the first job is the probe; the others wait a short recheck.
        let probe = breaker.admit(now: Self.at(66))
        #expect(probe == .allowProbe)
        #expect(probe.transition == .halfOpened)
        #expect(breaker.state == .halfOpen(probeInFlight: true))
        #expect((breaker.name, breaker.gaugeValue) == ("half_open", 2))
        #expect(breaker.admit(now: Self.at(67)) == .defer(until: Self.at(72)))
        #expect(breaker.admit(now: Self.at(67)).transition == nil)

        // The probe succeeds: closed, counting from zero.
        #expect(breaker.record(success: true, now: Self.at(80)) == .closed)
        #expect(breaker.state == .closed(consecutiveFailures: 0))
        #expect((breaker.name, breaker.gaugeValue) == ("closed", 0))
        #expect(breaker.admit(now: Self.at(81)) == .allow)
        #expect(breaker.record(success: false, now: Self.at(82)) == nil)
        #expect(breaker.state == .closed(consecutiveFailures: 1))
    }

    @Test func aFailedProbeReopensForAnotherFullPeriod() {
        var breaker = CircuitBreakerStateMachine(failureThreshold: 2, openFor: .seconds(30))
        _ = breaker.record(success: false, now: Self.at(0))
        #expect(breaker.record(success: false, now: Self.at(1)) == .opened(until: Self.at(31)))
        #expect(breaker.admit(now: Self.at(40)) == .allowProbe)
        #expect(breaker.record(success: false, now: Self.at(45)) == .opened(until: Self.at(75)))
        #expect(breaker.state == .open(until: Self.at(75)))
        #expect(breaker.admit(now: Self.at(74)) == .defer(until: Self.at(75)))
        #expect(breaker.admit(now: Self.at(75)) == .allowProbe)
        #expect(breaker.record(success: true, now: Self.at(76)) == .closed)
    }

    @Test func reloadedSettingsApplyAndTheStateCarriesOver() {
        // Two failures under a threshold of 5; the reload lowers it to 3: the third opens it,
        // for the new open_for.
        var breaker = CircuitBreakerStateMachine(failureThreshold: 5, openFor: .seconds(60))
        _ = breaker.record(success: false, now: Self.at(0))
        _ = breaker.record(success: false, now: Self.at(1))
        breaker = CircuitBreakerStateMachine(.init(failureThreshold: 3, openFor: .seconds(10)), keepingStateOf: breaker)
        #expect(breaker.state == .closed(consecutiveFailures: 2))
        #expect(breaker.record(success: false, now: Self.at(2)) == .opened(until: Self.at(12)))
        // A probe in flight stays in flight: no second probe.
        #expect(breaker.admit(now: Self.at(12)) == .allowProbe)
        breaker = CircuitBreakerStateMachine(.init(failureThreshold: 3, openFor: .seconds(20)), keepingStateOf: breaker)
        #expect(breaker.state == .halfOpen(probeInFlight: true))
        #expect(breaker.admit(now: Self.at(13)) != .allowProbe)
        #expect(breaker.record(success: false, now: Self.at(14)) == .opened(until: Self.at(34)))
    }

    @Test func thresholdOneOpensOnTheFirstFailure() {
        var breaker = CircuitBreakerStateMachine(failureThreshold: 1, openFor: .seconds(10))
        #expect(breaker.record(success: true, now: Self.at(0)) == nil)
        #expect(breaker.record(success: false, now: Self.at(1)) == .opened(until: Self.at(11)))
        #expect(breaker.admit(now: Self.at(2)) == .defer(until: Self.at(11)))
    }

    @Test(arguments: [0, -3])
    func thresholdsBelowOneCountAsOne(threshold: Int) {
        var breaker = CircuitBreakerStateMachine(failureThreshold: threshold, openFor: .seconds(10))
        #expect(breaker.failureThreshold == 1)
        #expect(breaker.record(success: false, now: Self.at(0)) == .opened(until: Self.at(10)))
    }

    @Test(arguments: [
        // Recheck while probing = min(openFor, 5s), at least 1s.
        (Duration.seconds(60), 5.0),
        (.seconds(5), 5),
        (.seconds(2), 2),
        (.milliseconds(1_500), 1.5),
        (.milliseconds(200), 1),
        (.zero, 1),
    ])
    func jobsWaitingOnAProbeRecheckSoon(openFor: Duration, recheck: Double) {
        var breaker = CircuitBreakerStateMachine(failureThreshold: 1, openFor: openFor)
        let opened = breaker.record(success: false, now: Self.at(0))
        #expect(opened == .opened(until: Self.at(openFor.seconds)))
        #expect(breaker.admit(now: Self.at(100)) == .allowProbe)
        #expect(breaker.admit(now: Self.at(100)) == .defer(until: Self.at(100 + recheck)))
    }

    @Test func resultsWhileOpenChangeNothing() {
        // Jobs admitted before the breaker opened finish during the pause.
        var breaker = CircuitBreakerStateMachine(failureThreshold: 1, openFor: .seconds(60))
        _ = breaker.record(success: false, now: Self.at(0))
        #expect(breaker.record(success: true, now: Self.at(10)) == nil)
        #expect(breaker.record(success: false, now: Self.at(20)) == nil)
        #expect(breaker.state == .open(until: Self.at(60)))
    }

    @Test func aProbeWithoutVerdictLetsTheNextJobProbe() {
        var breaker = CircuitBreakerStateMachine(failureThreshold: 1, openFor: .seconds(60))
        _ = breaker.record(success: false, now: Self.at(0))
        #expect(breaker.admit(now: Self.at(60)) == .allowProbe)
        breaker.releaseProbe()
        #expect(breaker.state == .halfOpen(probeInFlight: false))
        #expect(breaker.name == "half_open")
        #expect(breaker.admit(now: Self.at(61)) == .allowProbe)
        #expect(breaker.admit(now: Self.at(61)) == .defer(until: Self.at(66)))
    }

    @Test func releasingOutsideAProbeDoesNothing() {
        var breaker = CircuitBreakerStateMachine(failureThreshold: 2, openFor: .seconds(60))
        _ = breaker.record(success: false, now: Self.at(0))
        breaker.releaseProbe()
        #expect(breaker.state == .closed(consecutiveFailures: 1))
        _ = breaker.record(success: false, now: Self.at(1))
        breaker.releaseProbe()
        #expect(breaker.state == .open(until: Self.at(61)))
    }

    // MARK: Persistence

    @Test func persistedFieldsRoundTrip() {
        var breaker = CircuitBreakerStateMachine(failureThreshold: 3, openFor: .seconds(60))
        _ = breaker.record(success: false, now: Self.at(0))
        _ = breaker.record(success: false, now: Self.at(1))
        #expect(breaker.persisted == ("closed", 2, nil))
        var restored = CircuitBreakerStateMachine(failureThreshold: 3, openFor: .seconds(60), persisted: breaker.persisted)
        #expect(restored == breaker)
        // The restored count still counts: one more failure opens it.
        #expect(restored.record(success: false, now: Self.at(2)) == .opened(until: Self.at(62)))

        #expect(restored.persisted == ("open", 0, Self.at(62)))
        let reopened = CircuitBreakerStateMachine(failureThreshold: 3, openFor: .seconds(60), persisted: restored.persisted)
        #expect(reopened.state == .open(until: Self.at(62)))
    }

    @Test func halfOpenResumesWithoutAProbeInFlight() {
        // The probe died with the previous process; the next job must be able to probe.
        var breaker = CircuitBreakerStateMachine(failureThreshold: 1, openFor: .seconds(60))
        _ = breaker.record(success: false, now: Self.at(0))
        _ = breaker.admit(now: Self.at(60))
        #expect(breaker.persisted == ("half_open", 0, nil))

        var restored = CircuitBreakerStateMachine(failureThreshold: 1, openFor: .seconds(60), persisted: breaker.persisted)
        #expect(restored.state == .halfOpen(probeInFlight: false))
        #expect(restored.admit(now: Self.at(100)) == .allowProbe)
        #expect(restored.record(success: true, now: Self.at(101)) == .closed)
    }

    @Test(arguments: [
        (("open", 0, nil), CircuitBreakerStateMachine.State.halfOpen(probeInFlight: false)),
        (("", 0, nil), .closed(consecutiveFailures: 0)),
        (("tripped", 4, Self.at(10)), .closed(consecutiveFailures: 4)),
        (("closed", -2, nil), .closed(consecutiveFailures: 0)),
    ] as [((String, Int, Date?), CircuitBreakerStateMachine.State)])
    func oddStoredRowsNeverKeepASourceOff(persisted: (String, Int, Date?), expected: CircuitBreakerStateMachine.State) {
        let breaker = CircuitBreakerStateMachine(failureThreshold: 5, openFor: .seconds(60), persisted: persisted)
        #expect(breaker.state == expected)
    }

    @Test func anOpenPeriodThatEndedDuringDowntimeProbesAtOnce() {
        var breaker = CircuitBreakerStateMachine(
            failureThreshold: 5, openFor: .seconds(60), persisted: ("open", 0, Self.at(0))
        )
        #expect(breaker.admit(now: Self.at(3_600)) == .allowProbe)
    }

    @Test func breakerFromTheConfigsSettings() {
        let breaker = CircuitBreakerStateMachine(SourceConfig.CircuitBreaker(failureThreshold: 7, openFor: .seconds(120)))
        #expect(breaker.failureThreshold == 7)
        #expect(breaker.openFor == .seconds(120))
        #expect(breaker.state == .closed(consecutiveFailures: 0))
    }
}
