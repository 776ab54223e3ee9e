import Foundation
import TransferKeyCore

/// What the daemon knows of a KMS key from `DescribeKey`.
public struct CloudKey: Sendable, Equatable {
    public var keyID: String
    public var arn: String?
    /// `CUSTOMER` or `AWS`.
    public var keyManager: String
    /// `Enabled`, `Disabled`, `PendingDeletion`, `PendingReplicaDeletion`, …
    public var keyState: KMSKeyState
    public var deletionDate: Date?
    public var creationDate: Date?
    /// `PRIMARY`, `REPLICA`, or nil for a single-Region key.
    public var multiRegionKeyType: String?
    /// For a multi-Region primary: the regions of its replicas.
    public var replicaRegions: [String]
    /// For a multi-Region replica: the region of its primary.
    public var primaryRegion: String?
    /// `AWS_KMS`, `EXTERNAL`, `AWS_CLOUDHSM`, `EXTERNAL_KEY_STORE`.
    public var origin: String?
    /// The custom key store holding the key, if any.
    public var customKeyStoreID: String?
    /// `SYMMETRIC_DEFAULT`, ….
    public var keySpec: String?
    /// `ENCRYPT_DECRYPT`, ….
    public var keyUsage: String?

    /// Creates a key description; the defaults describe a plain symmetric customer-managed key.
    public init(
        keyID: String, arn: String? = nil, keyManager: String = "CUSTOMER", keyState: KMSKeyState = .enabled,
        deletionDate: Date? = nil, creationDate: Date? = nil, multiRegionKeyType: String? = nil,
        replicaRegions: [String] = [], primaryRegion: String? = nil, origin: String? = "AWS_KMS",
        customKeyStoreID: String? = nil, keySpec: String? = "SYMMETRIC_DEFAULT", keyUsage: String? = "ENCRYPT_DECRYPT"
    ) {
        self.primaryRegion = primaryRegion
        self.origin = origin
        self.customKeyStoreID = customKeyStoreID
        self.keySpec = keySpec
        self.keyUsage = keyUsage
        self.keyID = keyID
        self.arn = arn
        self.keyManager = keyManager
        self.keyState = keyState
        self.deletionDate = deletionDate
        self.creationDate = creationDate
        self.multiRegionKeyType = multiRegionKeyType
        self.replicaRegions = replicaRegions
    }
}
extension CloudKey {
    /// The key as evidence for the safety rules, with its aliases in `region`.
    public func evidence(region: String, aliases: [CloudAlias]) -> KeyEvidence {
        KeyEvidence(
            keyID: keyID, region: region, keyManager: keyManager, keyState: keyState, origin: origin,
            customKeyStoreID: customKeyStoreID, keySpec: keySpec, keyUsage: keyUsage, creationDate: creationDate,
            deletionDate: deletionDate, multiRegionKeyType: multiRegionKeyType, accountID: arnAccountID,
            aliases: aliases.map(\.evidence))
    }

    /// The account AWS names in the key's ARN (`arn:PARTITION:kms:REGION:ACCOUNT:key/ID`); nil without an ARN.
    public var arnAccountID: String? {
        guard let arn else { return nil }
        let parts = arn.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "arn", parts[2] == "kms", !parts[4].isEmpty else { return nil }
        return String(parts[4])
    }

    /// Whether AWS already has the key on its way out.
    public var isPendingDeletion: Bool { keyState.isPendingDeletion }
}
