/// When to retry a failed AWS call and how long to wait: the AWS SDKs' *standard* retry mode.
///
/// What is retried is ``AWSFailureClass``'s decision (`withinCall`): throttling, HTTP 500/502/503/504,
/// `RequestTimeout(Exception)`, `IDPCommunicationError`, `InvalidIdentityToken`, a credential source that did not
/// answer, and connection failures (refused, reset, closed, timed out). Capped exponential backoff with full
/// jitter; throttling uses a longer base delay. Every retry also draws from a ``RetryQuota`` shared by the client (500 tokens, 5 per retry,
/// 10 per timeout, refunded on success), so an outage does not multiply the load. The random source is a
/// parameter so tests are exact.
public struct RetryPolicy: Sendable, Equatable {
    /// Total attempts including the first (the config's `[aws] max_attempts`, default 3 as in the SDKs).
    public var maxAttempts: Int
    /// The retry quota's capacity in tokens; `nil` turns the quota off (tests).
    public var quotaCapacity: Int?
    /// The first backoff ceiling after a transient error.
    public var baseDelay: Duration
    /// The first backoff ceiling after throttling.
    public var throttledBaseDelay: Duration
    /// No wait is ever longer than this.
    public var maxDelay: Duration

    /// Creates a policy.
    public init(
        maxAttempts: Int = 3, baseDelay: Duration = .milliseconds(100),
        throttledBaseDelay: Duration = .milliseconds(500), maxDelay: Duration = .seconds(20),
        quotaCapacity: Int? = RetryQuota.defaultCapacity
    ) {
        self.maxAttempts = max(1, maxAttempts)
        self.quotaCapacity = quotaCapacity
        self.baseDelay = baseDelay
        self.throttledBaseDelay = throttledBaseDelay
        self.maxDelay = maxDelay
    }

    /// Never retries.
    public static let never = RetryPolicy(maxAttempts: 1)

    /// What to do after `error` ended attempt number `attempt` (1-based).
    public func decision(
        after error: AWSError, attempt: Int, using generator: inout some RandomNumberGenerator
    ) -> RetryDecision {
        guard Self.isRetryable(error), attempt < maxAttempts else { return .dontRetry }
        return .retry(wait: delay(attempt: attempt, throttled: error.category == .throttled, using: &generator))
    }

    /// Whether `error` may be retried within the call at all (before counting attempts and quota): what
    /// ``AWSFailureClass/of(code:httpStatus:isClockSkew:)`` says, the same classification the daemon's step
    /// retries read.
    public static func isRetryable(_ error: AWSError) -> Bool {
        error.failureClass.retry == .withinCall
    }

    /// Whether `error` is a timeout (costs the quota more).
    public static func isTimeout(_ error: AWSError) -> Bool {
        error.httpStatus == nil && ["ConnectTimeout", "RequestTimeout", "Timeout"].contains(error.code)
    }

    /// A uniformly random wait in `0 ... min(maxDelay, base × 2^(attempt−1))` ("full jitter").
    public func delay(attempt: Int, throttled: Bool, using generator: inout some RandomNumberGenerator) -> Duration {
        ceiling(attempt: attempt, throttled: throttled) * Double.random(in: 0...1, using: &generator)
    }

    /// The upper bound of the wait after attempt number `attempt`.
    public func ceiling(attempt: Int, throttled: Bool) -> Duration {
        let base = throttled ? throttledBaseDelay : baseDelay
        let exponent = min(max(attempt - 1, 0), 30)
        let grown = base * Double(1 << exponent)
        return grown < maxDelay ? grown : maxDelay
    }
}
