import Foundation

/// What the worker does about a key once the safety rules gave their verdict: chosen by ``CleanupPlan/next``, a pure
/// function, and performed by the worker (which reads AWS and writes the ledger, but decides nothing here).
public enum CleanupAction: Sendable, Equatable {
    /// Leave the key untouched and refuse the transfer for an operator.
    case refuse(SafetyRule, reason: String)
    /// The key is pending deletion somewhere although a rule now objects (maybe a run that died before recording
    /// its own call): cancel the deletion in those regions — the safe direction — then refuse.
    case cancelDeletionAndRefuse(SafetyRule, reason: String, regions: [String])
    /// Touch nothing; look again after `after` seconds.
    case postpone(SafetyRule, reason: String, after: TimeInterval)
    /// Pending deletion in every region already (an earlier run that died, or somebody else): record it.
    case recordAlreadyPending
    /// `disable_first` is configured and its watch is not over: the disable-and-watch plan (`DisableFirst.next`)
    /// decides the next move; once it is over, plan again with `watchSettled`.
    case disableFirst
    /// A dry run: record what would be scheduled, call nothing.
    case noteWouldSchedule(regions: [String])
    /// `ScheduleKeyDeletion` in these regions (the deletion budget permitting).
    case schedule(regions: [String])
}

/// The scheduling step's plan: verdict and the key's regions in, action out. Table-tested like `Lifecycle`.
public enum CleanupPlan {
    /// The action for `verdict`, given where the key lives (`regions`, the primary first) and where AWS has it
    /// pending deletion already (`pendingRegions`).
    ///
    /// - Parameters:
    ///   - disableFirst: `disable_first` is configured.
    ///   - watchSettled: the disable-and-watch plan found the watch over and nothing using the key.
    ///   - recheckInterval: the wait of a deferral that names none (at least a second either way).
    public static func next(
        verdict: SafetyVerdict, regions: [String], pendingRegions: [String], dryRun: Bool, disableFirst: Bool,
        watchSettled: Bool = false, recheckInterval: TimeInterval
    ) -> CleanupAction {
        switch verdict {
        case .refused(let rule, let reason):
            if pendingRegions.isEmpty { return .refuse(rule, reason: reason) }
            return .cancelDeletionAndRefuse(rule, reason: reason, regions: pendingRegions)
        case .deferred(let rule, let reason, let retryAfter):
            // A key shared with a live import must not die with this one's: a pending deletion is cancelled at once.
            if rule == .sharedKey, !pendingRegions.isEmpty {
                return .cancelDeletionAndRefuse(rule, reason: reason, regions: pendingRegions)
            }
            return .postpone(rule, reason: reason, after: max(retryAfter ?? recheckInterval, 1))
        case .approved, .alreadyPendingDeletion:
            let toSchedule = regions.filter { !pendingRegions.contains($0) }
            if toSchedule.isEmpty { return .recordAlreadyPending }
            if disableFirst, !watchSettled { return .disableFirst }
            if dryRun { return .noteWouldSchedule(regions: toSchedule) }
            return .schedule(regions: toSchedule)
        }
    }
}
