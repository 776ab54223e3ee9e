/// The work the daemon does for a transfer in a state. ``Lifecycle/work(for:)`` is the one place that says which;
/// the worker switches on it, so reading `Lifecycle` tells what the daemon does next.
public enum TransferWork: Sendable, Equatable, CaseIterable {
    /// `active`: the import runs; once its lease is over (by AWS's clock), end it.
    case expireLease
    /// `cleanup_due`: gather the evidence, ask the safety rules, then `ScheduleKeyDeletion`.
    case verifyAndSchedule
    /// `key_scheduled`: read the aliases again (cancel the deletion if something changed), then `DeleteAlias`.
    case verifyAndRemoveAliases
    /// `cleaned`: once the deletion date has passed, record that AWS deleted the key.
    case confirmDeletion
    /// `creating`: a `create` command is at work; the create settler finishes it if it died.
    case settleCreation
    /// Nothing: the transfer is over, or waits for an operator (`stuck`, `refused`).
    case none
}

extension Lifecycle {
    /// The work the daemon does for a transfer in `state`.
    public static func work(for state: TransferState) -> TransferWork {
        switch state {
        case .active: .expireLease
        case .cleanupDue: .verifyAndSchedule
        case .keyScheduled: .verifyAndRemoveAliases
        case .cleaned: .confirmDeletion
        case .creating: .settleCreation
        case .deleted, .stuck, .refused, .cancelled: .none
        }
    }
}
