import Foundation

/// Something that happened to a transfer; the input of `Lifecycle.transition`.
public enum TransferEvent: Sendable, Equatable {
    /// `create` made the key and its alias.
    case keyCreated
    /// The import is over (platform signal, snapshot states, or the lease).
    case importEnded(Completion)
    /// The re-check before deletion found a safety rule broken: never retried automatically.
    case keyRefused(reason: String)
    /// A safety rule that time settles held the cleanup back (a young alias, another import still running, a key
    /// being updated, a clock not yet confirmed); nothing was touched, and the step runs again at `retryAt`.
    case deferred(reason: String, retryAt: Date)
    /// An operator reviewed a refused key and accepted what the rules could not prove (`transferkeyd accept`).
    case provenanceAccepted(by: String, reason: String)
    /// `ScheduleKeyDeletion` succeeded (or the key was already pending deletion).
    case keyScheduled(deletionDate: Date?)
    /// Every prefixed alias of the key is gone (deleted now, or already `NotFoundException`).
    case aliasesRemoved
    /// `DescribeKey` says the key no longer exists (`NotFoundException`) after it was scheduled.
    case keyGone
    /// After the deletion date the key still exists pending deletion: look again later.
    case keyStillPending(recheckAt: Date)
    /// A step failed; `retryAt` is when to try again, `nil` when the failure is permanent or
    /// the attempts are used up.
    case stepFailed(error: String, retryAt: Date?)
    /// An operator ran `transferkeyd retry`.
    case retryRequested
    /// An operator ran `transferkeyd cancel-deletion` and AWS accepted it.
    case deletionCancelled
    /// An operator closed a record that was wrong (`transferkeyd close`): a wrong region or key id, a key that was
    /// never a transfer key. Nothing is asked of AWS; the daemon leaves the key alone from then on.
    case recordClosed(by: String, reason: String)

    /// The event's name in the audit trail (`events.kind`).
    public var kind: AuditEventKind {
        switch self {
        case .keyCreated: .keyCreated
        case .importEnded: .importEnded
        case .keyRefused: .keyRefused
        case .deferred: .deferred
        case .provenanceAccepted: .provenanceAccepted
        case .keyScheduled: .keyScheduled
        case .aliasesRemoved: .aliasesRemoved
        case .keyGone: .keyDeleted
        case .keyStillPending: .keyStillPending
        case .stepFailed: .stepFailed
        case .retryRequested: .retryRequested
        case .deletionCancelled: .deletionCancelled
        case .recordClosed: .recordClosed
        }
    }
}
