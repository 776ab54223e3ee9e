import Foundation
import Testing

@testable import TransferKeyAWS

@Suite("Retry policy and pacing")
struct RetryPolicyTests {
    let throttled = AWSError(code: "ThrottlingException", message: "", httpStatus: 400, service: "kms", operation: "x")
    let transient = AWSError(code: "KMSInternalException", message: "", httpStatus: 500, service: "kms", operation: "x")
    let permanent = AWSError(code: "ValidationException", message: "", httpStatus: 400, service: "kms", operation: "x")

    @Test("the backoff ceiling doubles per attempt and stops at maxDelay")
    func ceilings() {
        let policy = RetryPolicy(
            maxAttempts: 8, baseDelay: .milliseconds(100), throttledBaseDelay: .milliseconds(500), maxDelay: .seconds(2)
        )
        #expect(policy.ceiling(attempt: 1, throttled: false) == .milliseconds(100))
        #expect(policy.ceiling(attempt: 2, throttled: false) == .milliseconds(200))
        #expect(policy.ceiling(attempt: 4, throttled: false) == .milliseconds(800))
        #expect(policy.ceiling(attempt: 6, throttled: false) == .seconds(2))
        #expect(policy.ceiling(attempt: 1, throttled: true) == .milliseconds(500))
        #expect(policy.ceiling(attempt: 3, throttled: true) == .seconds(2))
        #expect(policy.ceiling(attempt: 60, throttled: true) == .seconds(2))
    }

    @Test("full jitter stays within the ceiling and a seed reproduces the same waits")
    func jitterIsSeeded() {
        let policy = RetryPolicy()
        var first = SplitMix64(seed: 7)
        var second = SplitMix64(seed: 7)
        var waits: [Duration] = []
        for attempt in 1...7 {
            let wait = policy.delay(attempt: attempt, throttled: false, using: &first)
            #expect(wait >= .zero && wait <= policy.ceiling(attempt: attempt, throttled: false))
            #expect(wait == policy.delay(attempt: attempt, throttled: false, using: &second))
            waits.append(wait)
        }
        #expect(Set(waits).count == 7)
    }

    @Test("throttled and transient errors are retried until maxAttempts, others never")
    func decisions() {
        let policy = RetryPolicy(maxAttempts: 3)
        var generator = SplitMix64(seed: 1)
        guard case .retry = policy.decision(after: throttled, attempt: 1, using: &generator) else {
            Issue.record("throttled not retried")
            return
        }
        guard case .retry = policy.decision(after: transient, attempt: 2, using: &generator) else {
            Issue.record("transient not retried")
            return
        }
        #expect(policy.decision(after: transient, attempt: 3, using: &generator) == .dontRetry)
        #expect(policy.decision(after: permanent, attempt: 1, using: &generator) == .dontRetry)
        let auth = AWSError(code: "AccessDeniedException", message: "", service: "kms", operation: "x")
        #expect(policy.decision(after: auth, attempt: 1, using: &generator) == .dontRetry)
    }

    @Test("a token bucket lets a burst through, then spaces requests at its rate")
    func tokenBucket() {
        var bucket = TokenBucket(rate: 15, now: .zero)
        for _ in 0..<15 { #expect(bucket.take(now: .zero) == .zero) }
        let wait = bucket.take(now: .zero)
        #expect(wait > .milliseconds(66) && wait < .milliseconds(67))
        #expect(bucket.take(now: .zero) > wait)
        #expect(bucket.take(now: .seconds(10)) == .zero)
    }

    @Test("the pacer keeps one bucket per account, region and operation, at the KMS quotas")
    func pacerBuckets() async throws {
        let clock = ManualClock()
        let pacer = RequestPacer(quotas: RequestQuotas(), clock: clock)
        for _ in 0..<15 {
            #expect(await pacer.reserve(account: "1", region: "eu-west-1", operation: "ScheduleKeyDeletion") == .zero)
        }
        #expect(await pacer.reserve(account: "1", region: "eu-west-1", operation: "ScheduleKeyDeletion") > .zero)
        #expect(await pacer.reserve(account: "1", region: "us-east-1", operation: "ScheduleKeyDeletion") == .zero)
        #expect(await pacer.reserve(account: "2", region: "eu-west-1", operation: "ScheduleKeyDeletion") == .zero)
        #expect(await pacer.reserve(account: "1", region: "eu-west-1", operation: "DeleteAlias") == .zero)
        #expect(RequestQuotas().rate(for: "CreateKey") == 5)
        #expect(RequestQuotas().rate(for: "DescribeKey") == 2_000)
        #expect(RequestQuotas().rate(for: "ListAliases") == 500)
    }

    @Test("sixty ScheduleKeyDeletion calls take three seconds of paced time at 15/s, in milliseconds of real time")
    func pacedCalls() async throws {
        let clock = ManualClock()
        let transport = FakeTransport { _, _ in
            AWSHTTPResponse(status: 200, text: #"{"KeyId":"k","KeyState":"PendingDeletion"}"#)
        }
        let client = AWSClient.fake(transport, clock: clock, quotas: RequestQuotas())
        let kms = client.kms(region: "eu-west-1")
        let started = ContinuousClock.now
        for _ in 0..<60 { _ = try await kms.scheduleKeyDeletion(keyID: "k", pendingWindowDays: 7) }
        #expect(clock.now() >= .seconds(3) && clock.now() < .milliseconds(3_100))
        #expect(ContinuousClock.now - started < .seconds(5))
    }

    @Test("throttling is retried with backoff and then succeeds")
    func retriesThrottling() async throws {
        let clock = ManualClock()
        let transport = FakeTransport { _, number in
            number <= 3
                ? AWSHTTPResponse(status: 400, text: #"{"__type":"ThrottlingException","message":"Rate exceeded"}"#)
                : AWSHTTPResponse(status: 200, text: #"{"KeyMetadata":{"KeyId":"k1","KeyState":"Enabled"}}"#)
        }
        let kms = AWSClient.fake(transport, clock: clock).kms(region: "eu-west-1")
        let key = try await kms.describeKey(keyID: "k1")
        #expect(key.keyState == "Enabled")
        #expect(transport.requests.count == 4)
        #expect(clock.sleeps.count == 3)
        let policy = RetryPolicy()
        for (index, wait) in clock.sleeps.enumerated() {
            #expect(wait <= policy.ceiling(attempt: index + 1, throttled: true))
        }
    }

    @Test("beyond maxAttempts the error surfaces with its code and attempt count")
    func givesUp() async throws {
        let transport = FakeTransport { _, _ in
            AWSHTTPResponse(status: 500, text: #"{"__type":"KMSInternalException","message":"boom"}"#)
        }
        let kms = AWSClient.fake(transport, maxAttempts: 4).kms(region: "eu-west-1")
        let error = await #expect(throws: AWSError.self) { try await kms.describeKey(keyID: "k1") }
        #expect(error?.code == "KMSInternalException")
        #expect(error?.attempts == 4)
        #expect(transport.requests.count == 4)
    }

    @Test("a permanent error is not retried")
    func noRetryOnPermanent() async throws {
        let transport = FakeTransport { _, _ in
            AWSHTTPResponse(status: 400, text: #"{"__type":"ValidationException","message":"bad window"}"#)
        }
        let kms = AWSClient.fake(transport).kms(region: "eu-west-1")
        await #expect(throws: AWSError.self) { try await kms.scheduleKeyDeletion(keyID: "k", pendingWindowDays: 3) }
        #expect(transport.requests.count == 1)
    }

    @Test("an expired token makes the client refresh credentials once and retry")
    func refreshesExpiredCredentialsOnce() async throws {
        let counter = CountingProvider()
        let transport = FakeTransport { _, _ in
            AWSHTTPResponse(status: 400, text: #"{"__type":"ExpiredTokenException","message":"expired"}"#)
        }
        let kms = AWSClient.fake(transport, credentials: counter).kms(region: "eu-west-1")
        let error = await #expect(throws: AWSError.self) { try await kms.describeKey(keyID: "k1") }
        #expect(error?.code == "ExpiredTokenException")
        #expect(transport.requests.count == 2)
        #expect(counter.invalidations == 1)
    }

    // Without cancellation the call would sleep through backoffs of up to 10 minutes, 7 times over,
    // and outlive the time limit; how fast it ends is not asserted (a loaded CI machine can starve
    // the cooperative pool for a minute), only that it ends, with no attempt after the cancel.
    @Test("cancellation ends a backoff at once", .timeLimit(.minutes(3)))
    func cancellation() async throws {
        let transport = FakeTransport { _, _ in
            AWSHTTPResponse(status: 503, text: #"{"__type":"ServiceUnavailable","message":"down"}"#)
        }
        let client = AWSClient(
            environment: ["AWS_ENDPOINT_URL": "http://aws.test"],
            credentials: StaticCredentialProvider(Credentials(accessKeyID: "A", secretAccessKey: "S")),
            transport: transport,
            retryPolicy: RetryPolicy(maxAttempts: 8, baseDelay: .seconds(600), maxDelay: .seconds(600)),
            quotas: .unlimited, randomSeed: 3)
        let kms = client.kms(region: "eu-west-1")
        let task = Task { try await kms.describeKey(keyID: "k") }
        while transport.requests.isEmpty { try await Task.sleep(for: .milliseconds(20)) }
        task.cancel()
        await #expect(throws: (any Error).self) { try await task.value }
        #expect(transport.requests.count == 1, "no attempt after the cancellation")
    }
}

/// Static credentials that count invalidations.
final class CountingProvider: CredentialProvider, @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    var source: String { "counting" }
    var invalidations: Int {
        lock.lock()
        defer { lock.unlock() }
        return count
    }
    func credentials() async throws -> Credentials { Credentials(accessKeyID: "AKID", secretAccessKey: "S") }
    func invalidate() async {
        lock.withLock { count += 1 }
    }
}
