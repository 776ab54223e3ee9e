import Foundation
import TransferKeyCore

/// The result of one mutating call: what AWS said, for the audit trail.
public struct CloudReceipt: Sendable, Equatable {
    public var requestID: String?
    /// `ScheduleKeyDeletion`'s `DeletionDate`.
    public var deletionDate: Date?
    /// `ScheduleKeyDeletion`'s `KeyState`: `PendingDeletion`, or `PendingReplicaDeletion` for a primary with replicas.
    public var keyState: KMSKeyState?

    /// Creates a receipt.
    public init(requestID: String? = nil, deletionDate: Date? = nil, keyState: KMSKeyState? = nil) {
        self.requestID = requestID
        self.deletionDate = deletionDate
        self.keyState = keyState
    }
}
