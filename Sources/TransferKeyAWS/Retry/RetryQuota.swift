import Synchronization

/// The SDKs' retry quota: a bucket of tokens shared by every call of one client. A retry takes 5 tokens (10 after
/// a timeout); a call that succeeds after retrying gives its last retry's tokens back, and a call that succeeds
/// at once adds 1. With the bucket empty, failures are not retried, so a wide outage costs one attempt per call.
public final class RetryQuota: Sendable {
    /// The SDK default capacity.
    public static let defaultCapacity = 500
    /// Tokens a retry costs.
    public static let retryCost = 5
    /// Tokens a retry after a timeout costs.
    public static let timeoutCost = 10

    /// The most tokens the bucket holds.
    public let capacity: Int
    private let available: Mutex<Int>

    /// A full bucket of `capacity` tokens.
    public init(capacity: Int = RetryQuota.defaultCapacity) {
        self.capacity = max(0, capacity)
        available = Mutex(self.capacity)
    }

    /// The tokens left.
    public var tokens: Int { available.withLock { $0 } }

    /// Takes the cost of one retry; `nil` when the bucket cannot pay it (do not retry).
    public func acquire(timeout: Bool) -> Int? {
        let cost = timeout ? Self.timeoutCost : Self.retryCost
        return available.withLock { available in
            guard available >= cost else { return nil }
            available -= cost
            return cost
        }
    }

    /// After a success: gives back `refund` (the last retry's cost), or 1 when the call was not retried.
    public func release(refund: Int?) {
        available.withLock { $0 = min(capacity, $0 + (refund ?? 1)) }
    }
}
