import Foundation
import TransferKeyCore

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
    /// `GetKeyLastUsage` and `ListGrants`: what AWS records about the key's use here.
    func keyUsage(_ keyID: String) async throws -> KeyUsage
    /// `DisableKey` (`disable_first`).
    func disableKey(_ keyID: String) async throws -> CloudReceipt
    /// `EnableKey`: undoes `disable_first`'s `DisableKey` when something needed the key.
    func enableKey(_ keyID: String) async throws -> CloudReceipt
    /// `RetireGrant` of one grant of the key (by the key's ARN or id and the grant id).
    func retireGrant(keyID: String, grantID: String) async throws -> CloudReceipt
    /// CloudTrail `LookupEvents` for the key's ARN since `since`: every call made on the key, newest first.
    func keyEvents(keyARN: String, since: Date) async throws -> [KeyCallEvent]
    /// `TagResource`: adds or overwrites tags on a key.
    func tagKey(_ keyID: String, tags: [String: String]) async throws
    /// `GenerateMac` (`HMAC_SHA_256`) of `message` under the HMAC key `keyID`: the MAC, base64.
    func generateMac(keyID: String, message: String) async throws -> String
    /// `VerifyMac`: whether `mac` (base64) is the HMAC of `message` under `keyID` (an invalid MAC is `false`).
    func verifyMac(keyID: String, message: String, mac: String) async throws -> Bool
}
extension CloudRegion {
    /// `CreateKey` in one attempt, without the AWS client's own retries: a timeout, a reset or a 5xx
    /// reaches the caller, who must look for the key (it may exist) before trying again. KMS has no
    /// idempotency token for `CreateKey`. Fakes get this default, which is `createKey`.
    public func createKeyOnce(description: String, policy: String, tags: [String: String]) async throws -> CloudKey {
        try await createKey(description: description, policy: policy, tags: tags)
    }
}
