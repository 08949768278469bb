import InletCore
import Testing

/// SplitMix64: a tiny seeded generator, so "random" delays are the same on every run.
private struct SeededRandom: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("RetryPolicy")
struct RetryPolicyTests {
    let policy = RetryPolicy(maxAttempts: 5, backoff: .seconds(2), maxBackoff: .seconds(600))

    @Test func ceilingDoublesPerAttemptUpToTheCap() {
        let ceilings = (1...11).map { policy.ceiling(afterAttempt: $0) }
        #expect(ceilings == [2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600].map { .seconds($0) })
    }

    @Test func ceilingOfOddSizesStopsExactlyAtTheCap() {
        let policy = RetryPolicy(maxAttempts: 5, backoff: .milliseconds(1_500), maxBackoff: .seconds(10))
        let ceilings = (1...5).map { policy.ceiling(afterAttempt: $0) }
        #expect(ceilings == [.milliseconds(1_500), .seconds(3), .seconds(6), .seconds(10), .seconds(10)])
    }

    @Test(arguments: [63, 64, 65, 1_000, 1_000_000_000, Int.max])
    func ceilingOfHugeAttemptsIsTheCap(attempt: Int) {
        #expect(policy.ceiling(afterAttempt: attempt) == .seconds(600))
    }

    @Test func ceilingNeverOverflowsEvenWithAHugeCap() {
        let huge = RetryPolicy(maxAttempts: 5, backoff: .nanoseconds(1), maxBackoff: .seconds(Int64.max))
        #expect(huge.ceiling(afterAttempt: Int.max) == .seconds(Int64.max))
        #expect(huge.ceiling(afterAttempt: 31) == .nanoseconds(1 << 30))
        var random = SeededRandom(seed: 1)
        let delay = huge.delay(afterAttempt: Int.max, random: &random)
        #expect(delay >= .zero && delay <= .nanoseconds(Int64.max))
    }

    @Test(arguments: [0, -1, Int.min])
    func attemptsBelowOneCountAsTheFirst(attempt: Int) {
        #expect(policy.ceiling(afterAttempt: attempt) == .seconds(2))
    }

    @Test func zeroBackoffMeansNoDelay() {
        let immediate = RetryPolicy(maxAttempts: 3, backoff: .zero, maxBackoff: .zero)
        var random = SeededRandom(seed: 7)
        #expect(immediate.ceiling(afterAttempt: Int.max) == .zero)
        #expect(immediate.delay(afterAttempt: 4, random: &random) == .zero)
    }

    /// Zero doubled is still zero: this must return at once, not double Int.max times.
    @Test(.timeLimit(.minutes(1)))
    func zeroOrNegativeBackoffUnderAPositiveCapMeansNoDelay() {
        var random = SeededRandom(seed: 7)
        let zeroStart = RetryPolicy(maxAttempts: 3, backoff: .zero, maxBackoff: .seconds(60))
        #expect(zeroStart.ceiling(afterAttempt: Int.max) == .zero)
        let negative = RetryPolicy(maxAttempts: 3, backoff: .seconds(-1), maxBackoff: .seconds(60))
        #expect(negative.delay(afterAttempt: 2, random: &random) == .zero)
    }

    @Test func backoffAboveTheCapIsCapped() {
        let odd = RetryPolicy(maxAttempts: 3, backoff: .seconds(30), maxBackoff: .seconds(10))
        #expect(odd.ceiling(afterAttempt: 1) == .seconds(10))
    }

    /// Full jitter: draws cover the whole of [0, ceiling], evenly, and never leave it.
    @Test(arguments: [1, 3, 9, 10, 40])
    func delayIsUniformBetweenZeroAndTheCeiling(attempt: Int) {
        let ceiling = policy.ceiling(afterAttempt: attempt)
        var random = SeededRandom(seed: UInt64(attempt))
        let draws = (0..<20_000).map { _ in policy.delay(afterAttempt: attempt, random: &random) }
        #expect(draws.allSatisfy { $0 >= .zero && $0 <= ceiling })
        let fractions = draws.map { $0.seconds / ceiling.seconds }
        let mean = fractions.reduce(0, +) / Double(fractions.count)
        #expect(abs(mean - 0.5) < 0.01)
        // Every tenth of the range gets its share (2,000 expected each).
        for decile in 0..<10 {
            let count = fractions.filter { Int($0 * 10) == decile }.count
            #expect((1_800...2_200).contains(count), "decile \(decile): \(count)")
        }
        #expect(Set(draws).count > 19_900)
    }

    @Test func delayKeepsTheFractionOfASecond() {
        let fine = RetryPolicy(maxAttempts: 5, backoff: .milliseconds(750), maxBackoff: .seconds(60))
        var random = SeededRandom(seed: 3)
        let draws = (0..<1_000).map { _ in fine.delay(afterAttempt: 2, random: &random) }
        // Ceiling 1.5s: draws reach well past the whole second.
        #expect(draws.allSatisfy { $0 <= .milliseconds(1_500) })
        #expect(draws.contains { $0 > .milliseconds(1_450) })
    }

    @Test func successCompletes() {
        var random = SeededRandom(seed: 1)
        #expect(policy.decision(for: .succeeded, attempt: 5, random: &random) == .complete)
    }

    @Test(arguments: [
        JobOutcome.retry(message: "502 from upstream"),
        .crashed(message: "plugin thread died"),
        .timedOut(message: "ran past 30m"),
    ])
    func transientFailuresBackOffWhileAttemptsRemain(outcome: JobOutcome) {
        for attempt in 1...4 {
            var random = SeededRandom(seed: UInt64(attempt))
            var sameRandom = random
            let expected = policy.delay(afterAttempt: attempt, random: &sameRandom)
            let decision = policy.decision(for: outcome, attempt: attempt, random: &random)
            #expect(decision == .retryAfter(expected, countsAsAttempt: true), "attempt \(attempt)")
            #expect(expected <= policy.ceiling(afterAttempt: attempt))
        }
    }

    @Test(arguments: [
        (JobOutcome.retry(message: "502 from upstream"), "out of attempts (5/5): last error: 502 from upstream"),
        (.crashed(message: "plugin thread died"), "out of attempts (5/5): last error: crashed: plugin thread died"),
        (.timedOut(message: "ran past 30m"), "out of attempts (5/5): last error: timed out: ran past 30m"),
    ])
    func transientFailuresQuarantineOnTheLastAttempt(outcome: JobOutcome, reason: String) {
        var random = SeededRandom(seed: 1)
        #expect(policy.decision(for: outcome, attempt: 5, random: &random) == .quarantine(reason: reason))
    }

    @Test func attemptsPastTheLimitQuarantineToo() {
        // max_attempts lowered in the config while a job had already used more.
        var random = SeededRandom(seed: 1)
        #expect(
            policy.decision(for: .retry(message: "x"), attempt: 7, random: &random)
                == .quarantine(reason: "out of attempts (7/5): last error: x")
        )
    }

    @Test func aSingleAttemptPolicyNeverRetries() {
        let once = RetryPolicy(maxAttempts: 1, backoff: .seconds(2), maxBackoff: .seconds(60))
        var random = SeededRandom(seed: 1)
        #expect(
            once.decision(for: .crashed(message: "boom"), attempt: 1, random: &random)
                == .quarantine(reason: "out of attempts (1/1): last error: crashed: boom")
        )
    }

    @Test(arguments: [1, 5, 6, 1_000])
    func rateLimitsWaitExactlyAsAskedAndNeverCountOrQuarantine(attempt: Int) {
        var random = SeededRandom(seed: 1)
        let outcome = JobOutcome.rateLimited(retryAfter: .seconds(90), message: "429")
        #expect(
            policy.decision(for: outcome, attempt: attempt, random: &random)
                == .retryAfter(.seconds(90), countsAsAttempt: false)
        )
    }

    @Test(arguments: [-3.0, 0, 0.2])
    func aRetryAfterOfLessThanASecondWaitsASecond(seconds: Double) {
        // Not counted as an attempt, a rate limit asking for no wait would loop against the upstream.
        var random = SeededRandom(seed: 1)
        let outcome = JobOutcome.rateLimited(retryAfter: .milliseconds(Int64(seconds * 1000)), message: "clock skew")
        #expect(policy.decision(for: outcome, attempt: 1, random: &random) == .retryAfter(.seconds(1), countsAsAttempt: false))
    }

    @Test func permanentFailureQuarantinesAtOnce() {
        var random = SeededRandom(seed: 1)
        #expect(
            policy.decision(for: .failed(message: "401 bad credentials"), attempt: 1, random: &random)
                == .quarantine(reason: "failed: 401 bad credentials")
        )
    }

    @Test func lastErrorNamesHowTheRunEnded() {
        #expect(JobOutcome.succeeded.lastError == nil)
        #expect(JobOutcome.retry(message: "a").lastError == "a")
        #expect(JobOutcome.failed(message: "b").lastError == "b")
        #expect(JobOutcome.rateLimited(retryAfter: .seconds(1), message: "c").lastError == "rate limited: c")
        #expect(JobOutcome.crashed(message: "d").lastError == "crashed: d")
        #expect(JobOutcome.timedOut(message: "e").lastError == "timed out: e")
    }

    @Test func policyFromTheConfigsRetryBlock() {
        let retry = SourceConfig.Retry(maxAttempts: 3, backoff: .seconds(1), maxBackoff: .seconds(8))
        #expect(RetryPolicy(retry) == RetryPolicy(maxAttempts: 3, backoff: .seconds(1), maxBackoff: .seconds(8)))
        // The defaults of an absent `retry:` block.
        #expect(RetryPolicy(SourceConfig.Retry()) == policy)
    }
}
