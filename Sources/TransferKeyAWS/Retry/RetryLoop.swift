/// The bookkeeping of one call's retry loop and its verdict after each failed attempt: a value that does no I/O
/// (the ``AWSRequestExecutor`` performs what it returns), so every verdict is tested without a transport.
///
/// A signature refused because the clock is off is re-signed at AWS's time once, and expired credentials are
/// refreshed once; neither counts as an attempt. Every other failure goes to the ``RetryPolicy``.
struct RetryLoop: Equatable {
    /// What the executor does after a failed attempt.
    enum Next: Equatable {
        /// Sign again at AWS's time (learned from the refusal's `Date`) and send again at once.
        case resignAtServerTime
        /// Forget the cached credentials and send again at once with fresh ones.
        case refreshCredentials
        /// Wait this long, then try again (when the ``RetryQuota`` pays for it).
        case retry(wait: Duration)
        /// Give up: the caller sees the error.
        case fail
    }

    /// The number of the attempt in flight (1-based); a re-sign or a refresh keeps its number.
    private(set) var attempt = 0
    /// Whether the signing time was corrected already in this call.
    private(set) var hasCorrectedClock = false
    /// Whether the credentials were refreshed already in this call.
    private(set) var hasRefreshedCredentials = false
    /// The tokens the last retry took from the quota: refunded when the call succeeds (`nil`: not retried).
    private(set) var lastRetryCost: Int?

    /// Starts an attempt and returns its number.
    mutating func startAttempt() -> Int {
        attempt += 1
        return attempt
    }

    /// The verdict after `error` ended the attempt in flight; `canRefreshCredentials` is false for an unsigned
    /// call. The policy (and its random source) is asked only when neither free correction applies.
    mutating func next(
        after error: AWSError, canRefreshCredentials: Bool, policy: RetryPolicy,
        using generator: inout some RandomNumberGenerator
    ) -> Next {
        if error.isClockSkew, !hasCorrectedClock {
            hasCorrectedClock = true
            attempt -= 1
            return .resignAtServerTime
        }
        if error.isExpiredCredentials, !error.isClockSkew, !hasRefreshedCredentials, canRefreshCredentials {
            hasRefreshedCredentials = true
            attempt -= 1
            return .refreshCredentials
        }
        switch policy.decision(after: error, attempt: attempt, using: &generator) {
        case .retry(let wait): return .retry(wait: wait)
        case .dontRetry: return .fail
        }
    }

    /// Records that the quota paid `cost` tokens for the coming retry.
    mutating func paidRetry(cost: Int) { lastRetryCost = cost }
}
