import Foundation

/// What AWS says about a key right now: `DescribeKey` plus `ListAliases --key-id`.
public struct KeyFacts: Sendable, Equatable {
    /// The bare key id (`KeyMetadata.KeyId`).
    public var keyID: String
    /// `KeyMetadata.KeyManager`: `CUSTOMER` or `AWS`.
    public var keyManager: String
    /// `KeyMetadata.KeyState`, e.g. `Enabled`, `PendingDeletion`, `PendingReplicaDeletion`.
    public var keyState: String
    /// `KeyMetadata.DeletionDate`, when pending deletion.
    public var deletionDate: Date?
    /// Every alias that targets the key now.
    public var aliasNames: [String]

    /// Creates the facts about one key.
    public init(keyID: String, keyManager: String, keyState: String, deletionDate: Date? = nil, aliasNames: [String]) {
        self.keyID = keyID
        self.keyManager = keyManager
        self.keyState = keyState
        self.deletionDate = deletionDate
        self.aliasNames = aliasNames
    }

    /// Whether AWS already has the key on its way out.
    public var isPendingDeletion: Bool { keyState == "PendingDeletion" || keyState == "PendingReplicaDeletion" }
}
