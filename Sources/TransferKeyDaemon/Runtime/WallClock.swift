import Foundation
import Synchronization

/// The daemon's wall clock (leases, retry times, timestamps): `Date()`.
///
/// Test hook: with `TRANSFERKEYD_CLOCK_OFFSET_FILE=<path>` in the environment, the number of seconds in
/// that file (e.g. `86400`, or `-3600`; re-read at most every 200 ms) is added — how the tests step a
/// running daemon's wall clock a day forward and back, as NTP or an operator does, while its monotonic
/// clock runs on untouched. (libfaketime would be the outside way, but preloading it empties a Swift
/// program's `CommandLine.arguments`.) Unset it is plain `Date()`, and a release build ignores the variable
/// altogether (the hook exists only in debug builds, which the tests use).
public final class WallClock: Sendable {
    /// The environment variable naming the offset file.
    public static let offsetFileVariable = "TRANSFERKEYD_CLOCK_OFFSET_FILE"

    /// The offset file, when the test hook is on.
    public let offsetFile: String?
    /// The offset last read from the file, and when it was read.
    private struct Reading {
        var offset: TimeInterval = 0
        var readAt: ContinuousClock.Instant?
    }

    private let reading = Mutex(Reading())

    /// The clock the environment asks for.
    public init(environment: [String: String]) {
        #if DEBUG
            offsetFile = environment[Self.offsetFileVariable].flatMap { $0.isEmpty ? nil : $0 }
        #else
            offsetFile = nil
        #endif
    }

    /// The current wall-clock time.
    public func now() -> Date {
        guard let offsetFile else { return Date() }
        return Date().addingTimeInterval(currentOffset(offsetFile))
    }

    private func currentOffset(_ file: String) -> TimeInterval {
        reading.withLock { reading in
            let instant = ContinuousClock.now
            if let readAt = reading.readAt, instant - readAt < .milliseconds(200) { return reading.offset }
            reading.readAt = instant
            // An unreadable or half-written file keeps the last offset.
            if let text = try? String(contentsOfFile: file, encoding: .utf8),
                let seconds = TimeInterval(text.trimmingCharacters(in: .whitespacesAndNewlines))
            {
                reading.offset = seconds
            }
            return reading.offset
        }
    }
}
