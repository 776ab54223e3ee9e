import Testing

@testable import TransferKeyAWS

/// One scripted call: the failures its attempts end in, and the (attempt number, verdict) expected after each.
struct RetryLoopScript: Sendable, CustomTestStringConvertible {
    var name: String
    var failures: [AWSError]
    var canRefreshCredentials = true
    var expected: [RetryLoopStep]

    var testDescription: String { name }
}

struct RetryLoopStep: Sendable, Equatable {
    var attempt: Int
    var next: RetryLoop.Next
}

private func failure(_ code: String, _ status: Int?, clockSkew: Bool = false) -> AWSError {
    var error = AWSError(code: code, message: "", httpStatus: status, service: "kms", operation: "DescribeKey")
    error.isClockSkew = clockSkew
    return error
}

private let skewed = failure("RequestTimeTooSkewed", 400, clockSkew: true)
private let expired = failure("ExpiredTokenException", 400)
private let expiredAndSkewed = failure("ExpiredToken", 400, clockSkew: true)
private let throttled = failure("ThrottlingException", 400)
private let transient = failure("KMSInternalException", 500)
private let permanent = failure("ValidationException", 400)
private let retry = RetryLoop.Next.retry(wait: .zero)

@Suite("Retry loop verdicts (no I/O)")
struct RetryLoopTests {
    /// Three attempts; zero backoff ceilings make every wait `.zero`.
    let policy = RetryPolicy(maxAttempts: 3, baseDelay: .zero, throttledBaseDelay: .zero)

    @Test(
        "after each failure: re-sign once, refresh once, else the policy; corrections keep the attempt number",
        arguments: [
            RetryLoopScript(
                name: "clock skew is re-signed once, then left to the policy", failures: [skewed, skewed],
                expected: [.init(attempt: 1, next: .resignAtServerTime), .init(attempt: 1, next: .fail)]),
            RetryLoopScript(
                name: "expired credentials are refreshed once, then left to the policy", failures: [expired, expired],
                expected: [.init(attempt: 1, next: .refreshCredentials), .init(attempt: 1, next: .fail)]),
            RetryLoopScript(
                name: "an unsigned call has no credentials to refresh", failures: [expired],
                canRefreshCredentials: false, expected: [.init(attempt: 1, next: .fail)]),
            RetryLoopScript(
                name: "a skew and then expired credentials: each corrected once", failures: [skewed, expired, expired],
                expected: [
                    .init(attempt: 1, next: .resignAtServerTime), .init(attempt: 1, next: .refreshCredentials),
                    .init(attempt: 1, next: .fail),
                ]),
            RetryLoopScript(
                name: "a clock-skew refusal never refreshes the credentials",
                failures: [expiredAndSkewed, expiredAndSkewed],
                expected: [.init(attempt: 1, next: .resignAtServerTime), .init(attempt: 1, next: .fail)]),
            RetryLoopScript(
                name: "throttling is retried until maxAttempts", failures: [throttled, throttled, throttled],
                expected: [
                    .init(attempt: 1, next: retry), .init(attempt: 2, next: retry), .init(attempt: 3, next: .fail),
                ]),
            RetryLoopScript(
                name: "a re-sign between retries does not use up an attempt",
                failures: [throttled, skewed, transient, transient],
                expected: [
                    .init(attempt: 1, next: retry), .init(attempt: 2, next: .resignAtServerTime),
                    .init(attempt: 2, next: retry), .init(attempt: 3, next: .fail),
                ]),
            RetryLoopScript(
                name: "a permanent error fails at once", failures: [permanent],
                expected: [.init(attempt: 1, next: .fail)]),
        ])
    func verdicts(script: RetryLoopScript) {
        var loop = RetryLoop()
        var generator = SplitMix64(seed: 1)
        var steps: [RetryLoopStep] = []
        for error in script.failures {
            let attempt = loop.startAttempt()
            let next = loop.next(
                after: error, canRefreshCredentials: script.canRefreshCredentials, policy: policy,
                using: &generator)
            steps.append(RetryLoopStep(attempt: attempt, next: next))
        }
        #expect(steps == script.expected)
    }

    @Test("a retry waits what the policy draws, and a correction draws nothing from the random source")
    func waitsComeFromThePolicy() {
        let policy = RetryPolicy()
        var loop = RetryLoop()
        var generator = SplitMix64(seed: 7)
        var reference = SplitMix64(seed: 7)
        _ = loop.startAttempt()
        #expect(
            loop.next(after: skewed, canRefreshCredentials: true, policy: policy, using: &generator)
                == .resignAtServerTime)
        _ = loop.startAttempt()
        let expected = policy.delay(attempt: 1, throttled: true, using: &reference)
        #expect(expected > .zero)
        #expect(
            loop.next(after: throttled, canRefreshCredentials: true, policy: policy, using: &generator)
                == .retry(wait: expected))
        #expect(loop.lastRetryCost == nil)
        loop.paidRetry(cost: 5)
        #expect(loop.lastRetryCost == 5)
    }
}
