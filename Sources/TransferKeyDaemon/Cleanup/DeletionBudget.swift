import Foundation
import Synchronization

/// The blast-radius budget of one cycle: at most `max_deletions_per_cycle` `ScheduleKeyDeletion` calls, and no
/// more than the rolling hour (`max_deletions_per_hour`) has left.
///
/// Shared by the cycle's concurrent lanes (one per account × region), so the cap holds for the whole cycle however
/// the lanes interleave; each `take` is atomic. A key that needs more calls than a cycle may make (a multi-Region
/// key with many replicas under a small cap) is not deferred for ever: it may take an untouched cycle's whole
/// budget, as long as the hour has room for it (or has spent nothing).
public final class DeletionBudget: Sendable {
    private struct Counts {
        var left: Int
        var hourLeft: Int
        var isUntouched = true
    }

    private let counts: Mutex<Counts>
    private let cycleLimit: Int
    private let hourLimit: Int

    /// Calls still allowed in this cycle.
    public var remaining: Int { counts.withLock { min($0.left, $0.hourLeft) } }

    /// A budget of `limit` calls this cycle, of which the rolling hour allows `hourLeft` out of `hourLimit`.
    public init(limit: Int, hourLeft: Int = .max, hourLimit: Int = .max) {
        cycleLimit = max(limit, 0)
        self.hourLimit = hourLimit
        counts = Mutex(Counts(left: max(limit, 0), hourLeft: max(hourLeft, 0)))
    }

    /// Whether a transfer may start its reads: something is left (reads for a key that cannot be scheduled are
    /// wasted, so a lane stops taking work once the budget is spent).
    public var allowsMoreWork: Bool { counts.withLock { min($0.left, $0.hourLeft) > 0 } }

    /// Takes `count` calls from the budget if that many are left, or if nothing was taken yet this cycle and the
    /// hour has room for them (or is empty).
    func take(_ count: Int) -> Bool {
        counts.withLock { counts in
            if count <= min(counts.left, counts.hourLeft) {
                counts.left -= count
                counts.hourLeft -= count
                counts.isUntouched = false
                return true
            }
            let hourIsEmpty = counts.hourLeft >= hourLimit
            guard counts.isUntouched, cycleLimit > 0, count <= counts.hourLeft || hourIsEmpty else { return false }
            counts.left = 0
            counts.hourLeft = max(counts.hourLeft - count, 0)
            counts.isUntouched = false
            return true
        }
    }
}
