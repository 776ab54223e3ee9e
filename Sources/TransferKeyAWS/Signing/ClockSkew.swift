import Foundation

/// The difference between AWS's clock and this host's, learned from the `Date` header of every answer, per
/// endpoint host; requests are signed at `local time + offset` of their endpoint, like the SDKs do.
///
/// Shared by every copy of one ``AWSRequestExecutor`` (one per ``AWSClient``).
public final class ClockSkew: @unchecked Sendable {
    /// A difference above this is a skewed clock (AWS rejects signatures more than 5 minutes off).
    public static let threshold: TimeInterval = 240

    private let lock = NSLock()
    private var offsets: [String: TimeInterval] = [:]
    private var latest: TimeInterval = 0

    /// Creates an empty store (offset zero everywhere).
    public init() {}

    /// Seconds to add to the local clock to get `host`'s clock (0 until an answer came from it).
    public func offset(for host: String) -> TimeInterval { lock.withLock { offsets[host] ?? 0 } }

    /// The offset learned from the most recent answer of any endpoint.
    public var latestOffset: TimeInterval { lock.withLock { latest } }

    /// Records `serverDate` as seen at local time `localNow` from `host`; returns the new offset.
    @discardableResult
    public func record(host: String, serverDate: Date, localNow: Date) -> TimeInterval {
        var offset = serverDate.timeIntervalSince(localNow)
        // The header has whole seconds: differences under 1 s are noise, not skew.
        if abs(offset) < 1 { offset = 0 }
        lock.withLock {
            offsets[host] = offset
            latest = offset
        }
        return offset
    }
}
