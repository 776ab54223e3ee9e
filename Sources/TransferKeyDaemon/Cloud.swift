import Foundation
import TransferKeyCore

/// What the daemon knows of a KMS key from `DescribeKey`.
public struct CloudKey: Sendable, Equatable {
    public var keyID: String
    public var arn: String?
    /// `CUSTOMER` or `AWS`.
    public var keyManager: String
    /// `Enabled`, `Disabled`, `PendingDeletion`, `PendingReplicaDeletion`, …
    public var keyState: String
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
        keyID: String, arn: String? = nil, keyManager: String = "CUSTOMER", keyState: String = "Enabled",
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

/// One KMS alias from `ListAliases`.
public struct CloudAlias: Sendable, Equatable {
    public var aliasName: String
    public var targetKeyID: String?
    public var creationDate: Date?
    /// `LastUpdatedDate`: moves when `UpdateAlias` points the alias at another key.
    public var lastUpdatedDate: Date?

    /// Creates an alias entry.
    public init(aliasName: String, targetKeyID: String?, creationDate: Date? = nil, lastUpdatedDate: Date? = nil) {
        self.aliasName = aliasName
        self.targetKeyID = targetKeyID
        self.creationDate = creationDate
        self.lastUpdatedDate = lastUpdatedDate
    }

    /// The alias as evidence for the safety rules.
    public var evidence: AliasEvidence {
        AliasEvidence(name: aliasName, creationDate: creationDate, lastUpdatedDate: lastUpdatedDate)
    }
}

/// The result of one mutating call: what AWS said, for the audit trail.
public struct CloudReceipt: Sendable, Equatable {
    public var requestID: String?
    /// `ScheduleKeyDeletion`'s `DeletionDate`.
    public var deletionDate: Date?
    /// `ScheduleKeyDeletion`'s `KeyState`: `PendingDeletion`, or `PendingReplicaDeletion` for a primary with replicas.
    public var keyState: String?

    /// Creates a receipt.
    public init(requestID: String? = nil, deletionDate: Date? = nil, keyState: String? = nil) {
        self.requestID = requestID
        self.deletionDate = deletionDate
        self.keyState = keyState
    }
}

/// The snapshots `DescribeSnapshots` knows, and those it does not.
public struct CloudSnapshots: Sendable, Equatable {
    /// Snapshot id → `pending`, `completed`, `error`, `recoverable`, `recovering`.
    public var states: [String: String]
    /// Ids EC2 answered `InvalidSnapshot.NotFound` for.
    public var missing: Set<String>

    /// Creates a result.
    public init(states: [String: String] = [:], missing: Set<String> = []) {
        self.states = states
        self.missing = missing
    }
}

/// The AWS calls the daemon makes in one account × region. Implemented over the AWS module in
/// production and by in-process fakes in unit tests. Every method throws `CloudError`.
public protocol CloudRegion: Sendable {
    /// `DescribeKey`.
    func describeKey(_ keyID: String) async throws -> CloudKey
    /// `ListAliases`, every page; only the key's aliases when `keyID` is given.
    func listAliases(keyID: String?) async throws -> [CloudAlias]
    /// `ScheduleKeyDeletion`.
    func scheduleKeyDeletion(_ keyID: String, pendingWindowDays: Int) async throws -> CloudReceipt
    /// `DeleteAlias`.
    func deleteAlias(_ aliasName: String) async throws -> CloudReceipt
    /// `CancelKeyDeletion`.
    func cancelKeyDeletion(_ keyID: String) async throws -> CloudReceipt
    /// `DescribeSnapshots` for many ids, in as few calls as possible.
    func describeSnapshots(_ snapshotIDs: [String]) async throws -> CloudSnapshots
    /// `CreateKey`: a single-Region, customer-managed `ENCRYPT_DECRYPT` key with this policy and tags.
    func createKey(description: String, policy: String, tags: [String: String]) async throws -> CloudKey
    /// `CreateKey` in one attempt (no client-level retries); see the extension's default.
    func createKeyOnce(description: String, policy: String, tags: [String: String]) async throws -> CloudKey
    /// `CreateAlias`.
    func createAlias(_ aliasName: String, targetKeyID: String) async throws -> CloudReceipt
    /// `ListKeys`, every page: the ids of every key in the region.
    func listKeyIDs() async throws -> [String]
    /// `ListResourceTags`, every page, as tag key → value.
    func keyTags(_ keyID: String) async throws -> [String: String]
}

extension CloudRegion {
    /// `CreateKey` in one attempt, without the AWS client's own retries: a timeout, a reset or a 5xx
    /// reaches the caller, who must look for the key (it may exist) before trying again. KMS has no
    /// idempotency token for `CreateKey`. Fakes get this default, which is `createKey`.
    public func createKeyOnce(description: String, policy: String, tags: [String: String]) async throws -> CloudKey {
        try await createKey(description: description, policy: policy, tags: tags)
    }
}

/// Gives the AWS calls for one account × region (assuming the account's role where configured).
public protocol Cloud: Sendable {
    /// The calls for `accountID` in `region`.
    func region(accountID: String, region: String) -> any CloudRegion
    /// AWS's clock now, from the `Date` header of its latest answer carried forward on the monotonic clock;
    /// nil before AWS answered anything.
    func awsNow() -> Date?
}

extension CloudKey {
    /// The key as evidence for the safety rules, with its aliases in `region`.
    public func evidence(region: String, aliases: [CloudAlias]) -> KeyEvidence {
        KeyEvidence(
            keyID: keyID, region: region, keyManager: keyManager, keyState: keyState, origin: origin,
            customKeyStoreID: customKeyStoreID, keySpec: keySpec, keyUsage: keyUsage, creationDate: creationDate,
            deletionDate: deletionDate, multiRegionKeyType: multiRegionKeyType, aliases: aliases.map(\.evidence))
    }

    /// Whether AWS already has the key on its way out.
    public var isPendingDeletion: Bool { KMSKeyState(aws: keyState).isPendingDeletion }
}
