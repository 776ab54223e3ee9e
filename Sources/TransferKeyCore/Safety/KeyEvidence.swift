import Foundation

/// One alias as `ListAliases` reports it.
public struct AliasEvidence: Sendable, Equatable {
    /// The alias name, `alias/…`.
    public var name: String
    /// `CreationDate`.
    public var creationDate: Date?
    /// `LastUpdatedDate`: moves when `UpdateAlias` points the alias at another key.
    public var lastUpdatedDate: Date?

    /// Creates the evidence of one alias.
    public init(name: String, creationDate: Date? = nil, lastUpdatedDate: Date? = nil) {
        self.name = name
        self.creationDate = creationDate
        self.lastUpdatedDate = lastUpdatedDate
    }

    /// When the alias last changed: the later of its creation and its last update (a retargeted alias is as
    /// young as its move); nil when AWS gave neither.
    public var lastChanged: Date? { [creationDate, lastUpdatedDate].compactMap { $0 }.max() }
}

/// What AWS says about a key in one region right now: `DescribeKey` plus `ListAliases --key-id`.
public struct KeyEvidence: Sendable, Equatable {
    /// The bare key id (`KeyMetadata.KeyId`).
    public var keyID: String
    /// The region the key was described in.
    public var region: String
    /// `KeyManager`: `CUSTOMER` or `AWS`.
    public var keyManager: String
    /// `KeyState`, as AWS spelled it.
    public var keyState: String
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
        keyState: String = KMSKeyState.enabled.rawValue, origin: String? = KMSValue.originAWSKMS,
        customKeyStoreID: String? = nil, keySpec: String? = KMSValue.symmetricDefault,
        keyUsage: String? = KMSValue.encryptDecrypt, creationDate: Date? = nil, deletionDate: Date? = nil,
        multiRegionKeyType: String? = nil, aliases: [AliasEvidence]
    ) {
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

    /// The key state as the rules read it.
    public var state: KMSKeyState { KMSKeyState(aws: keyState) }
    /// The alias names, sorted.
    public var aliasNames: [String] { aliases.map(\.name).sorted() }
}

/// Everything gathered before deciding whether a transfer's key may be scheduled for deletion.
public struct DeletionEvidence: Sendable, Equatable {
    /// The key in the transfer's region.
    public var key: KeyEvidence
    /// Each replica of a multi-Region primary, described in its own region.
    public var replicas: [KeyEvidence]
    /// The key's tags (`ListResourceTags`), when they were read: always for a discovered key.
    public var tags: [String: String]?
    /// AWS's clock when the evidence was read (the `Date` header of its answers), nil when not known.
    public var awsNow: Date?

    /// Creates the evidence.
    public init(key: KeyEvidence, replicas: [KeyEvidence] = [], tags: [String: String]? = nil, awsNow: Date?) {
        self.key = key
        self.replicas = replicas
        self.tags = tags
        self.awsNow = awsNow
    }
}

/// What the transfer's own record claims about the key: the other half of every decision.
public struct TransferClaims: Sendable, Equatable {
    /// How the transfer came to be recorded.
    public var origin: TransferOrigin
    /// The bare key id stored for the transfer.
    public var recordedKeyID: String
    /// The alias stored for the transfer, if any.
    public var recordedAlias: String?
    /// When the transfer was recorded (for a discovered one: when it was adopted).
    public var recordedAt: Date?
    /// Prefixed aliases that other transfers recorded and whose keys must live on: their import is not over,
    /// or an operator has to decide about them.
    public var aliasesOfOtherLiveTransfers: Set<String>
    /// Who accepted a discovered key's missing provenance after review (`transferkeyd accept`), if anyone.
    public var provenanceAcceptedBy: String?

    /// Creates the claims.
    public init(
        origin: TransferOrigin, recordedKeyID: String, recordedAlias: String? = nil, recordedAt: Date? = nil,
        aliasesOfOtherLiveTransfers: Set<String> = [], provenanceAcceptedBy: String? = nil
    ) {
        self.origin = origin
        self.recordedKeyID = recordedKeyID
        self.recordedAlias = recordedAlias
        self.recordedAt = recordedAt
        self.aliasesOfOtherLiveTransfers = aliasesOfOtherLiveTransfers
        self.provenanceAcceptedBy = provenanceAcceptedBy
    }
}

/// The configured limits the rules apply.
public struct SafetyPolicy: Sendable, Equatable {
    /// `alias_prefix`.
    public var aliasPrefix: String
    /// `orphan_grace`: an unrecorded prefixed alias younger than this may belong to an import that has not
    /// recorded itself yet.
    public var orphanGrace: TimeInterval
    /// `orphan_max_key_lead`: a transfer key is made at most this long before its first prefixed alias.
    public var orphanMaxKeyLead: TimeInterval
    /// `max_transfer_age`: the lease; a transfer key lives about this long plus `orphan_grace` at most.
    public var maxTransferAge: TimeInterval

    /// Creates the policy.
    public init(
        aliasPrefix: String, orphanGrace: TimeInterval = 21_600, orphanMaxKeyLead: TimeInterval = 3_600,
        maxTransferAge: TimeInterval = 86_400
    ) {
        self.aliasPrefix = aliasPrefix
        self.orphanGrace = orphanGrace
        self.orphanMaxKeyLead = orphanMaxKeyLead
        self.maxTransferAge = maxTransferAge
    }
}
