/// When to retry a failed AWS call and how long to wait: capped exponential backoff with full jitter.
///
/// Only throttled and transient errors are retried; throttling uses a longer base delay, so a throttled
/// account backs off harder than a flaky network. The random source is a parameter so tests are exact.
public struct RetryPolicy: Sendable, Equatable {
    /// Total attempts including the first (the config's `[aws] max_attempts`, default 8).
    public var maxAttempts: Int
    /// The first backoff ceiling after a transient error.
    public var baseDelay: Duration
    /// The first backoff ceiling after throttling.
    public var throttledBaseDelay: Duration
    /// No wait is ever longer than this.
    public var maxDelay: Duration

    /// Creates a policy.
    public init(
        maxAttempts: Int = 8, baseDelay: Duration = .milliseconds(100),
        throttledBaseDelay: Duration = .milliseconds(500), maxDelay: Duration = .seconds(20)
    ) {
        self.maxAttempts = max(1, maxAttempts)
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
        guard error.category.isRetryable, attempt < maxAttempts else { return .dontRetry }
        return .retry(wait: delay(attempt: attempt, throttled: error.category == .throttled, using: &generator))
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
