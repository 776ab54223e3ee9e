import Foundation
import Synchronization

/// AWS's clock as its answers tell it: the `Date` header of the latest response, carried forward on the
/// monotonic clock. A host whose wall clock is hours off, or jumps, still ages aliases and leases by AWS's time.
///
/// The header has a resolution of one second; that is far finer than any age a rule compares.
public final class AWSServerClock: Sendable {
    private struct Observation {
        var serverDate: Date
        var at: ContinuousClock.Instant
    }

    private let latest = Mutex<Observation?>(nil)

    /// A clock that has seen no answer yet.
    public init() {}

    /// Records the `Date` header of an answer received now; an unparseable or absent header is ignored.
    public func observe(dateHeader: String?) {
        guard let dateHeader, let date = Self.parse(dateHeader) else { return }
        observe(headerDate: date)
    }

    /// Records the parsed `Date` header of an answer received now.
    public func observe(headerDate date: Date) {
        // The header has whole seconds: AWS's time was somewhere in that second, half a second on average.
        observe(serverDate: date.addingTimeInterval(0.5))
    }

    /// Records AWS's time as of now (tests, and answers whose date was read elsewhere).
    public func observe(serverDate: Date, at instant: ContinuousClock.Instant = .now) {
        latest.withLock { $0 = Observation(serverDate: serverDate, at: instant) }
    }

    /// AWS's time now: the latest answer's date plus the monotonic time since; nil before any answer.
    public func now(at instant: ContinuousClock.Instant = .now) -> Date? {
        latest.withLock { observation in
            guard let observation else { return nil }
            let elapsed = instant - observation.at
            let seconds =
                Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            return observation.serverDate.addingTimeInterval(seconds)
        }
    }

    /// Parses an HTTP date (RFC 7231 IMF-fixdate, e.g. `Tue, 01 Dec 2026 21:02:22 GMT`).
    public static func parse(_ text: String) -> Date? { HTTPDate.parse(text) }
}
