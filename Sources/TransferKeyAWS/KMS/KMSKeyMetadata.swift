import Foundation

/// What KMS says about a key (`DescribeKey`, `CreateKey`, `ReplicateKey`).
public struct KMSKeyMetadata: Sendable, Equatable, Codable {
    /// The key id (a UUID, or `mrk-…` for multi-Region keys).
    public var keyID: String
    /// The key ARN.
    public var arn: String?
    /// `CUSTOMER` or `AWS`; only customer-managed keys may ever be scheduled for deletion.
    public var keyManager: String?
    /// `Enabled`, `Disabled`, `PendingDeletion`, `PendingReplicaDeletion`, `Creating`, `Unavailable`, ….
    public var keyState: String?
    /// When a key pending deletion will be deleted.
    public var deletionDate: Date?
    /// When the key was created.
    public var creationDate: Date?
    /// The key's description.
    public var description: String?
    /// Whether the key is enabled.
    public var isEnabled: Bool?
    /// `ENCRYPT_DECRYPT`, `SIGN_VERIFY`, ….
    public var keyUsage: String?
    /// Whether this is a multi-Region key.
    public var isMultiRegion: Bool?
    /// The primary and replicas of a multi-Region key.
    public var multiRegionConfiguration: KMSMultiRegionConfiguration?
    /// The waiting period of a key pending deletion.
    public var pendingDeletionWindowInDays: Int?
    /// `AWS_KMS`, `EXTERNAL` (imported material), `AWS_CLOUDHSM` or `EXTERNAL_KEY_STORE`.
    public var origin: String?
    /// The custom key store (CloudHSM or external) that holds the key, if any.
    public var customKeyStoreID: String?
    /// `SYMMETRIC_DEFAULT`, `RSA_2048`, ….
    public var keySpec: String?

    enum CodingKeys: String, CodingKey {
        case keyID = "KeyId"
        case arn = "Arn"
        case keyManager = "KeyManager"
        case keyState = "KeyState"
        case deletionDate = "DeletionDate"
        case creationDate = "CreationDate"
        case description = "Description"
        case isEnabled = "Enabled"
        case keyUsage = "KeyUsage"
        case isMultiRegion = "MultiRegion"
        case multiRegionConfiguration = "MultiRegionConfiguration"
        case pendingDeletionWindowInDays = "PendingDeletionWindowInDays"
        case origin = "Origin"
        case customKeyStoreID = "CustomKeyStoreId"
        case keySpec = "KeySpec"
    }

    /// Creates metadata (tests and fakes).
    public init(
        keyID: String, arn: String? = nil, keyManager: String? = "CUSTOMER", keyState: String? = "Enabled",
        deletionDate: Date? = nil, creationDate: Date? = nil, description: String? = nil, isEnabled: Bool? = true,
        keyUsage: String? = "ENCRYPT_DECRYPT", isMultiRegion: Bool? = false,
        multiRegionConfiguration: KMSMultiRegionConfiguration? = nil, pendingDeletionWindowInDays: Int? = nil,
        origin: String? = "AWS_KMS", customKeyStoreID: String? = nil, keySpec: String? = "SYMMETRIC_DEFAULT"
    ) {
        self.keyID = keyID
        self.arn = arn
        self.keyManager = keyManager
        self.keyState = keyState
        self.deletionDate = deletionDate
        self.creationDate = creationDate
        self.description = description
        self.isEnabled = isEnabled
        self.keyUsage = keyUsage
        self.isMultiRegion = isMultiRegion
        self.multiRegionConfiguration = multiRegionConfiguration
        self.pendingDeletionWindowInDays = pendingDeletionWindowInDays
        self.origin = origin
        self.customKeyStoreID = customKeyStoreID
        self.keySpec = keySpec
    }
}
