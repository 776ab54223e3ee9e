import Foundation
import Synchronization

/// The difference between AWS's clock and this host's, learned from the `Date` header of every answer, per
/// endpoint host; requests are signed at `local time + offset` of their endpoint, like the SDKs do.
///
/// Shared by every copy of one ``AWSRequestExecutor`` (one per ``AWSClient``).
public final class ClockSkew: Sendable {
    /// A difference above this is a skewed clock (AWS rejects signatures more than 5 minutes off).
    public static let threshold: TimeInterval = 240

    private struct Offsets {
        var byHost: [String: TimeInterval] = [:]
        var latest: TimeInterval = 0
    }

    private let offsets = Mutex(Offsets())

    /// Creates an empty store (offset zero everywhere).
    public init() {}

    /// Seconds to add to the local clock to get `host`'s clock (0 until an answer came from it).
    public func offset(for host: String) -> TimeInterval { offsets.withLock { $0.byHost[host] ?? 0 } }

    /// The offset learned from the most recent answer of any endpoint.
    public var latestOffset: TimeInterval { offsets.withLock { $0.latest } }

    /// Records `serverDate` as seen at local time `localNow` from `host`; returns the new offset.
    @discardableResult
    public func record(host: String, serverDate: Date, localNow: Date) -> TimeInterval {
        var offset = serverDate.timeIntervalSince(localNow)
        // The header has whole seconds: differences under 1 s are noise, not skew.
        if abs(offset) < 1 { offset = 0 }
        offsets.withLock { offsets in
            offsets.byHost[host] = offset
            offsets.latest = offset
        }
        return offset
    }
}
