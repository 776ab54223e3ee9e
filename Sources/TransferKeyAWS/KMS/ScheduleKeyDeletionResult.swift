import Foundation

/// The answer to `ScheduleKeyDeletion`.
public struct ScheduleKeyDeletionResult: Sendable, Equatable, Codable {
    /// The key ARN KMS reports.
    public var keyID: String
    /// When the key will be deleted (absent while a multi-Region primary waits for its replicas).
    public var deletionDate: Date?
    /// `PendingDeletion` or `PendingReplicaDeletion`.
    public var keyState: String?
    /// The waiting period in force.
    public var pendingWindowInDays: Int?
    /// AWS's request id (`x-amzn-RequestId`), for the audit trail.
    public var requestID: String?

    enum CodingKeys: String, CodingKey {
        case keyID = "KeyId"
        case deletionDate = "DeletionDate"
        case keyState = "KeyState"
        case pendingWindowInDays = "PendingWindowInDays"
    }

    /// Creates a result (tests and fakes).
    public init(
        keyID: String, deletionDate: Date?, keyState: String?, pendingWindowInDays: Int?, requestID: String? = nil
    ) {
        self.requestID = requestID
        self.keyID = keyID
        self.deletionDate = deletionDate
        self.keyState = keyState
        self.pendingWindowInDays = pendingWindowInDays
    }
}
