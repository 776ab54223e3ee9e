import Foundation

/// Caches refreshable credentials and refreshes them *before* they expire, one refresh at a time.
///
/// Concurrent callers during a refresh all await the same fetch, so a burst of requests causes one STS call.
/// If a refresh fails while the old credentials are still valid, the old ones are used until they expire.
public actor CredentialCache {
    /// How long before expiry credentials are refreshed.
    public let refreshMargin: TimeInterval
    private let now: @Sendable () -> Date
    private var current: Credentials?
    private var inFlight: Task<Credentials, any Error>?
    /// How many fetches were started (for tests and diagnostics).
    public private(set) var fetchCount = 0

    /// Creates an empty cache.
    public init(refreshMargin: TimeInterval = 300, now: @escaping @Sendable () -> Date = { Date() }) {
        self.refreshMargin = refreshMargin
        self.now = now
    }

    /// Cached credentials, or the result of `fetch` when there are none or they expire within the margin.
    public func credentials(fetch: @escaping @Sendable () async throws -> Credentials) async throws -> Credentials {
        if let current, !current.isExpiring(within: refreshMargin, now: now()) { return current }
        let task: Task<Credentials, any Error>
        if let inFlight {
            task = inFlight
        } else {
            fetchCount += 1
            task = Task { try await fetch() }
            inFlight = task
        }
        do {
            let fresh = try await task.value
            if inFlight == task { inFlight = nil }
            current = fresh
            return fresh
        } catch {
            if inFlight == task { inFlight = nil }
            if let current, !current.isExpiring(within: 0, now: now()) { return current }
            throw error
        }
    }

    /// Drops the cached credentials.
    public func invalidate() { current = nil }
}
