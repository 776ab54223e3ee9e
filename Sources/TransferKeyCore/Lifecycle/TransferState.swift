/// Where a transfer is in its life, exactly as stored in `transfers.state`.
public enum TransferState: String, CaseIterable, Codable, Sendable, Comparable {
    /// The intent is written; the key and alias are being created (`transferkeyd create`).
    case creating
    /// The import is running; the key must stay alive.
    case active
    /// The import is over (or its lease ran out): the key must be scheduled for deletion.
    case cleanupDue = "cleanup_due"
    /// `ScheduleKeyDeletion` succeeded; the alias still has to be removed.
    case keyScheduled = "key_scheduled"
    /// The key is pending deletion and its alias is gone; waiting for AWS to delete it.
    case cleaned
    /// AWS has deleted the key. Terminal.
    case deleted
    /// Cleanup failed permanently or too often; waits for `transferkeyd retry`.
    case stuck
    /// A safety rule forbade touching the key; left alone until an operator decides.
    case refused
    /// An operator rescued the key with `transferkeyd cancel-deletion`. Terminal.
    case cancelled

    /// States in which the daemon still owes work on the transfer.
    public var isUnfinished: Bool {
        switch self {
        case .creating, .active, .cleanupDue, .keyScheduled, .cleaned: true
        case .deleted, .stuck, .refused, .cancelled: false
        }
    }

    /// The unfinished states whose work is the worker's (`creating` is settled by `create` or the create settler).
    public static let workedByDaemon: [TransferState] = [.active, .cleanupDue, .keyScheduled, .cleaned]
    /// States whose key may still be used: its alias is not yet gone (`status`'s oldest and overdue imports).
    public static let keyStillUsable: [TransferState] = [.creating, .active, .cleanupDue, .keyScheduled]
    /// States whose key AWS has pending deletion, with a deletion date.
    public static let keyPendingDeletion: [TransferState] = [.keyScheduled, .cleaned]
    /// States before the key is scheduled (a deferral names its rule there).
    public static let beforeScheduling: [TransferState] = [.active, .cleanupDue]
    /// The states `status` counts for the service manager's one-line summary.
    public static let summarized: [TransferState] = [.active, .cleanupDue, .keyScheduled, .cleaned, .stuck, .refused]

    /// States that need an operator's attention.
    public var needsOperator: Bool { self == .stuck || self == .refused }

    /// Life-cycle order, for stable sorting in tables.
    public static func < (lhs: TransferState, rhs: TransferState) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}
