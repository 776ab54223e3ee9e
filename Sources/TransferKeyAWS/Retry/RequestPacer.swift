/// Client-side rate limiting: one ``TokenBucket`` per (account, region, operation), shared by every caller.
public actor RequestPacer {
    /// The rates in force.
    public let quotas: RequestQuotas
    private let clock: any PacingClock
    private var buckets: [String: TokenBucket] = [:]

    /// Creates a pacer over `clock`.
    public init(quotas: RequestQuotas = RequestQuotas(), clock: any PacingClock = SystemPacingClock()) {
        self.quotas = quotas
        self.clock = clock
    }

    /// Reserves a slot and returns how long the caller must wait for it.
    public func reserve(account: String, region: String, operation: String) -> Duration {
        let key = "\(account)|\(region)|\(operation)"
        let now = clock.now()
        var bucket = buckets[key] ?? TokenBucket(rate: quotas.rate(for: operation), now: now)
        let wait = bucket.take(now: now)
        buckets[key] = bucket
        return wait
    }

    /// Waits until a request for `operation` may be sent; cancellable.
    public nonisolated func acquire(account: String, region: String, operation: String) async throws {
        let wait = await reserve(account: account, region: region, operation: operation)
        if wait > .zero { try await clock.sleep(for: wait) }
    }
}
