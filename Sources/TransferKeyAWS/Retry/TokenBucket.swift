/// A token bucket as a pure value: `rate` tokens per second refill up to `capacity`; each request takes one.
///
/// A request that finds the bucket empty still takes its token (the balance goes negative) and is told how long
/// to wait, so concurrent callers queue in arrival order without polling.
public struct TokenBucket: Sendable, Equatable {
    /// Tokens added per second.
    public let rate: Double
    /// The most tokens the bucket holds (the burst size).
    public let capacity: Double
    /// The current balance; negative when requests are queued.
    public private(set) var tokens: Double
    private var updatedAt: Duration

    /// Creates a full bucket at time `now`.
    public init(rate: Double, capacity: Double? = nil, now: Duration) {
        self.rate = max(rate, 0.001)
        self.capacity = max(capacity ?? rate, 1)
        tokens = self.capacity
        updatedAt = now
    }

    /// Takes one token at `now` and returns how long the caller must wait before sending (zero if at once).
    public mutating func take(now: Duration) -> Duration {
        let elapsed = now - updatedAt
        if elapsed > .zero {
            tokens = min(capacity, tokens + Self.seconds(elapsed) * rate)
            updatedAt = now
        }
        tokens -= 1
        return tokens >= 0 ? .zero : .nanoseconds(Int64((-tokens / rate * 1e9).rounded(.up)))
    }

    private static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
