import Foundation

/// What follows a transition, produced by `Lifecycle.transition`: it says when the transfer is due next (the store
/// writes that time into `next_attempt_at`) and why. The work the daemon then does for the new state is
/// `Lifecycle.work(for:)`; `LifecycleTests` checks that the two agree.
public enum FollowUp: Sendable, Equatable {
    /// Wait for the import to end; the completion poller and the lease decide.
    case awaitImport
    /// Re-check the key (`DescribeKey` + `ListAliases`) against the safety rules, then `ScheduleKeyDeletion`.
    case verifyAndScheduleDeletion
    /// `DeleteAlias` for every prefixed alias of the key.
    case removeAliases
    /// `DescribeKey` once the deletion date has passed, to record that AWS deleted the key.
    case confirmDeletion(at: Date?)
    /// Try the same step again at this time.
    case retry(at: Date)
    /// Tell the operator: the transfer waits for a human (`stuck` or `refused`).
    case alertOperator(reason: String)
    /// Nothing more to do.
    case none
}
