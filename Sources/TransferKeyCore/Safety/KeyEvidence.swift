import Foundation

/// What AWS says about a key in one region right now: `DescribeKey` plus `ListAliases --key-id`.
public struct KeyEvidence: Sendable, Equatable {
    /// The bare key id (`KeyMetadata.KeyId`).
    public var keyID: String
    /// The account AWS names in the key's ARN, nil when the answer had no ARN.
    public var accountID: String?
    /// The region the key was described in.
    public var region: String
    /// `KeyManager`: `CUSTOMER` or `AWS`.
    public var keyManager: String
    /// `KeyState`, as AWS spelled it.
    public var keyState: KMSKeyState
    /// `Origin`: `AWS_KMS`, `EXTERNAL`, `AWS_CLOUDHSM`, `EXTERNAL_KEY_STORE`.
    public var origin: String?
    /// `CustomKeyStoreId`: set for keys in a CloudHSM or external key store.
    public var customKeyStoreID: String?
    /// `KeySpec`, e.g. `SYMMETRIC_DEFAULT`.
    public var keySpec: String?
    /// `KeyUsage`, e.g. `ENCRYPT_DECRYPT`.
    public var keyUsage: String?
    /// `CreationDate`.
    public var creationDate: Date?
    /// `DeletionDate`, when pending deletion.
    public var deletionDate: Date?
    /// `PRIMARY`, `REPLICA`, or nil for a single-Region key.
    public var multiRegionKeyType: String?
    /// Every alias that targets the key in this region now.
    public var aliases: [AliasEvidence]

    /// Creates the evidence of one key; the defaults describe a plain symmetric customer-managed key.
    public init(
        keyID: String, region: String = "", keyManager: String = KMSValue.customerManaged,
        keyState: KMSKeyState = .enabled, origin: String? = KMSValue.originAWSKMS,
        customKeyStoreID: String? = nil, keySpec: String? = KMSValue.symmetricDefault,
        keyUsage: String? = KMSValue.encryptDecrypt, creationDate: Date? = nil, deletionDate: Date? = nil,
        multiRegionKeyType: String? = nil, accountID: String? = nil, aliases: [AliasEvidence]
    ) {
        self.accountID = accountID
        self.keyID = keyID
        self.region = region
        self.keyManager = keyManager
        self.keyState = keyState
        self.origin = origin
        self.customKeyStoreID = customKeyStoreID
        self.keySpec = keySpec
        self.keyUsage = keyUsage
        self.creationDate = creationDate
        self.deletionDate = deletionDate
        self.multiRegionKeyType = multiRegionKeyType
        self.aliases = aliases
    }

    /// The alias names, sorted.
    public var aliasNames: [String] { aliases.map(\.name).sorted() }
}
