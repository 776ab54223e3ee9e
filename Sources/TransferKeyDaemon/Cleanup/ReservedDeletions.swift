import Synchronization

/// The transfers due for deletion that a cycle's lanes have started and that have not finished: a lane starts
/// another only while the budget has a call left beyond these, so no reads are spent on a key the budget cannot
/// take. (The budget's own `take` keeps the cap exact; this only avoids wasted reads.)
final class ReservedDeletions: Sendable {
    private let reservations = Mutex(0)

    /// Reserves one of `budget`'s remaining calls, if one is left beyond those already reserved.
    func reserve(within budget: DeletionBudget) -> Bool {
        reservations.withLock { count in
            guard budget.remaining > count else { return false }
            count += 1
            return true
        }
    }

    /// How many are reserved now.
    var count: Int { reservations.withLock { $0 } }

    /// Gives a reservation back (the transfer finished, whatever it took).
    func release() { reservations.withLock { $0 = max($0 - 1, 0) } }
}
