import Foundation
import TransferKeyAWS
import TransferKeyCore

/// The daemon's `Cloud` over the AWS module: one shared `AWSClient`, each configured account
/// reached through its role (or the base credentials).
public struct AWSCloud: Cloud {
    let client: AWSClient
    let accounts: [String: AWSAccount]

    /// Creates the cloud for the configured accounts.
    public init(client: AWSClient, accounts: [Config.Account]) {
        self.client = client
        var byID: [String: AWSAccount] = [:]
        for account in accounts {
            byID[account.id] = AWSAccount(id: account.id, roleARN: account.roleARN, externalID: account.externalID)
        }
        self.accounts = byID
    }

    public func awsNow() -> Date? { client.executor.serverClock.now() }

    public func region(accountID: String, region: String) -> any CloudRegion {
        // An account missing from the config is reached with the base credentials only.
        let account = accounts[accountID] ?? AWSAccount(id: accountID)
        return AWSCloudRegion(
            kms: client.kms(account: account, region: region), ec2: client.ec2(account: account, region: region),
            trail: client.cloudTrail(account: account, region: region))
    }
}

/// One account × region over the AWS module's clients; every AWS error becomes a `CloudError`.
struct AWSCloudRegion: CloudRegion {
    let kms: KMSClient
    let ec2: EC2Client
    let trail: CloudTrailClient

    func describeKey(_ keyID: String) async throws -> CloudKey {
        let metadata = try await translating { try await kms.describeKey(keyID: keyID) }
        let configuration = metadata.multiRegionConfiguration
        let isPrimary = configuration?.multiRegionKeyType == KMSValue.primary
        return CloudKey(
            keyID: metadata.keyID, arn: metadata.arn,
            // Unknown stays unknown: the safety rules only approve an explicit CUSTOMER.
            keyManager: metadata.keyManager ?? "UNKNOWN", keyState: Self.keyState(metadata),
            deletionDate: metadata.deletionDate, creationDate: metadata.creationDate,
            multiRegionKeyType: configuration?.multiRegionKeyType,
            replicaRegions: isPrimary ? (configuration?.replicaKeys.map(\.region) ?? []) : [],
            primaryRegion: configuration?.multiRegionKeyType == "REPLICA" ? configuration?.primaryKey?.region : nil,
            origin: metadata.origin, customKeyStoreID: metadata.customKeyStoreID, keySpec: metadata.keySpec,
            keyUsage: metadata.keyUsage)
    }

    func listAliases(keyID: String?) async throws -> [CloudAlias] {
        try await translating { try await kms.listAliases(keyID: keyID) }.map {
            CloudAlias(
                aliasName: $0.aliasName, targetKeyID: $0.targetKeyID, creationDate: $0.creationDate,
                lastUpdatedDate: $0.lastUpdatedDate)
        }
    }

    func scheduleKeyDeletion(_ keyID: String, pendingWindowDays: Int) async throws -> CloudReceipt {
        let result = try await translating {
            try await kms.scheduleKeyDeletion(keyID: keyID, pendingWindowDays: pendingWindowDays)
        }
        return CloudReceipt(
            requestID: result.requestID, deletionDate: result.deletionDate,
            keyState: result.keyState.map(KMSKeyState.init(aws:)))
    }

    func deleteAlias(_ aliasName: String) async throws -> CloudReceipt {
        let receipt = try await translating { try await kms.deleteAlias(aliasName: aliasName) }
        return CloudReceipt(requestID: receipt.requestID)
    }

    func cancelKeyDeletion(_ keyID: String) async throws -> CloudReceipt {
        let receipt = try await translating { try await kms.cancelKeyDeletion(keyID: keyID) }
        return CloudReceipt(requestID: receipt.requestID)
    }

    func describeSnapshots(_ snapshotIDs: [String]) async throws -> CloudSnapshots {
        let states = try await translating { try await ec2.describeSnapshots(ids: snapshotIDs) }
        return CloudSnapshots(states: states.found.mapValues(\.state), missing: Set(states.missing))
    }

    func createKey(description: String, policy: String, tags: [String: String]) async throws -> CloudKey {
        let metadata = try await translating {
            try await kms.createKey(
                description: description, policy: policy,
                tags: tags.sorted { $0.key < $1.key }.map { KMSTag(key: $0.key, value: $0.value) })
        }
        return CloudKey(
            keyID: metadata.keyID, arn: metadata.arn, keyManager: metadata.keyManager ?? "UNKNOWN",
            keyState: Self.keyState(metadata), creationDate: metadata.creationDate)
    }

    /// The one place AWS's `KeyState` text becomes a ``KMSKeyState`` (an answer without one is unknown).
    static func keyState(_ metadata: KMSKeyMetadata) -> KMSKeyState {
        KMSKeyState(aws: metadata.keyState ?? "Unknown")
    }

    func createKeyOnce(description: String, policy: String, tags: [String: String]) async throws -> CloudKey {
        try await AWSCloudRegion(kms: kms.retrying(.never), ec2: ec2, trail: trail).createKey(
            description: description, policy: policy, tags: tags)
    }

    func createAlias(_ aliasName: String, targetKeyID: String) async throws -> CloudReceipt {
        let receipt = try await translating {
            try await kms.createAlias(aliasName: aliasName, targetKeyID: targetKeyID)
        }
        return CloudReceipt(requestID: receipt.requestID)
    }

    func listKeyIDs() async throws -> [String] {
        try await translating { try await kms.listKeys() }
    }

    func keyTags(_ keyID: String) async throws -> [String: String] {
        let tags = try await translating { try await kms.listResourceTags(keyID: keyID) }
        return Dictionary(tags.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
    }

    func keyUsage(_ keyID: String) async throws -> KeyUsage {
        let grants = try await translating { try await kms.listGrants(keyID: keyID) }
        let last = try await translating { try await kms.getKeyLastUsage(keyID: keyID) }
        return KeyUsage(
            lastUse: last.lastUsage.flatMap { usage in
                // A use without its time proves a use all the same: dated now-ish would be a guess, so the far future.
                KeyUsage.LastUse(
                    operation: usage.operation ?? "unknown", at: usage.timestamp ?? .distantFuture,
                    cloudTrailEventID: usage.cloudTrailEventID, kmsRequestID: usage.kmsRequestID)
            },
            trackingStart: last.trackingStartDate,
            grants: grants.map {
                KeyUsage.Grant(
                    grantID: $0.grantID, granteePrincipal: $0.granteePrincipal, retiringPrincipal: $0.retiringPrincipal,
                    creationDate: $0.creationDate, operations: $0.operations ?? [])
            })
    }

    func disableKey(_ keyID: String) async throws -> CloudReceipt {
        CloudReceipt(requestID: try await translating { try await kms.disableKey(keyID: keyID) }.requestID)
    }

    func enableKey(_ keyID: String) async throws -> CloudReceipt {
        CloudReceipt(requestID: try await translating { try await kms.enableKey(keyID: keyID) }.requestID)
    }

    func retireGrant(keyID: String, grantID: String) async throws -> CloudReceipt {
        let receipt = try await translating { try await kms.retireGrant(keyID: keyID, grantID: grantID) }
        return CloudReceipt(requestID: receipt.requestID)
    }

    func keyEvents(keyARN: String, since: Date) async throws -> [KeyCallEvent] {
        try await translating { try await trail.lookupEvents(resourceName: keyARN, since: since) }.map {
            KeyCallEvent(
                eventID: $0.eventID, name: $0.eventName, at: $0.eventTime, principal: $0.principal,
                errorCode: $0.errorCode, errorMessage: $0.errorMessage)
        }
    }

    func tagKey(_ keyID: String, tags: [String: String]) async throws {
        try await translating {
            try await kms.tagResource(
                keyID: keyID, tags: tags.sorted { $0.key < $1.key }.map { KMSTag(key: $0.key, value: $0.value) })
        }
    }

    func generateMac(keyID: String, message: String) async throws -> String {
        try await translating { try await kms.generateMac(keyID: keyID, message: Array(message.utf8)) }
    }

    func verifyMac(keyID: String, message: String, mac: String) async throws -> Bool {
        try await translating { try await kms.verifyMac(keyID: keyID, message: Array(message.utf8), mac: mac) }
    }

    private func translating<T>(_ call: () async throws -> T) async throws -> T {
        do {
            return try await call()
        } catch let error as AWSError {
            throw CloudError(error)
        }
    }
}

extension CloudError {
    /// The daemon's view of an AWS module error: same code, message and request id.
    init(_ error: AWSError) {
        self.init(
            kind: error.category, code: error.code, message: error.message, requestID: error.requestID,
            operation: error.operation
        )
    }
}
