import Foundation

/// Capped exponential backoff with full jitter for failed transfer steps (persisted in
/// `attempts`/`next_attempt_at`, so it survives restarts).
public struct Backoff: Sendable, Equatable {
    /// The first delay's ceiling.
    public var base: TimeInterval
    /// No delay is longer than this.
    public var cap: TimeInterval

    /// Creates a backoff.
    public init(base: TimeInterval = 5, cap: TimeInterval = 900) {
        self.base = base
        self.cap = cap
    }

    /// The delay before attempt `attempt + 1` (0-based), scaled by `unit` in 0…1 (the jitter),
    /// at least one second. Throttling waits four times longer: the account is already over quota.
    public func delay(afterAttempt attempt: Int, isThrottled: Bool, unit: Double) -> TimeInterval {
        let exponent = Double(min(max(attempt, 0), 30))
        let ceiling = min(cap, base * (isThrottled ? 4 : 1) * pow(2, exponent))
        return max(1, ceiling * min(max(unit, 0), 1))
    }
}
