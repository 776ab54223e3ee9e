import Foundation
import Synchronization

/// Notices the host's wall clock jumping (NTP stepping it, an operator setting it): the wall clock moved by more
/// than the monotonic clock did between two looks.
///
/// A lease never expires on a jump alone: the worker ages leases by AWS's clock when AWS has answered, and while it
/// has not, a jump holds lease expiry back (`unconfirmedJump`).
public final class WallClockWatch: Sendable {
    private struct State {
        var lastWall: Date?
        var lastInstant: ContinuousClock.Instant?
        var jump: TimeInterval?
    }

    private let state = Mutex(State())
    /// How far the two clocks may drift apart between two looks before it counts as a jump.
    public let tolerance: TimeInterval

    /// A watch that counts a difference of more than `tolerance` seconds as a jump.
    public init(tolerance: TimeInterval = 5) {
        self.tolerance = tolerance
    }

    /// Compares the wall clock with the monotonic clock since the last look; returns the jump in seconds (positive:
    /// forward) when there was one.
    @discardableResult
    public func observe(wall: Date, at instant: ContinuousClock.Instant = .now) -> TimeInterval? {
        state.withLock { state in
            defer {
                state.lastWall = wall
                state.lastInstant = instant
            }
            guard let lastWall = state.lastWall, let lastInstant = state.lastInstant else { return nil }
            let elapsed = instant - lastInstant
            let monotonic = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            let difference = wall.timeIntervalSince(lastWall) - monotonic
            guard abs(difference) > tolerance else { return nil }
            state.jump = (state.jump ?? 0) + difference
            return difference
        }
    }

    /// The wall clock's jumps since the daemon started, added up; nil when it never jumped.
    public var unconfirmedJump: TimeInterval? { state.withLock { $0.jump } }
}
