import Foundation
import TransferKeyCore
import TransferKeyStore

/// Makes and verifies ownership marks (`OwnershipMark`) with the configured HMAC KMS key (`ownership_mark_key`).
///
/// The secret never leaves KMS: a mark is `GenerateMac` of a message naming the key's ARN and its import id, and
/// checking one is `VerifyMac`. Whoever may call `GenerateMac` on the mark key can make marks, so its key policy
/// grants that to the daemon's role alone (`transferkeyd policy` prints the statement); any host with the role can
/// verify, so the marks outlive this host and its database.
public struct OwnershipMarks: Sendable {
    /// The mark key's ARN, as configured.
    public let markKeyARN: String
    let client: any CloudRegion

    /// The marks of the configured key, called in the key's own account and region; nil when none is configured.
    public init?(markKeyARN: String?, cloud: any Cloud) {
        guard let markKeyARN,
            case .arn(_, _, let region, let accountID, _)? = try? Validator.keyReference(markKeyARN, field: "key")
        else { return nil }
        self.markKeyARN = markKeyARN
        self.client = cloud.region(accountID: accountID, region: region)
    }

    /// The mark of `keyARN` made for `importID` (one `GenerateMac`).
    public func mark(keyARN: String, importID: String) async throws -> String {
        try await client.generateMac(
            keyID: markKeyARN, message: OwnershipMark.message(keyARN: keyARN, importID: importID))
    }

    /// The intent mark of a `create`'s intent row (one `GenerateMac`), put on the key in the `CreateKey` request.
    public func intentMark(of transfer: TransferRecord) async throws -> String {
        try await client.generateMac(keyID: markKeyARN, message: Self.intentMessage(of: transfer))
    }

    static func intentMessage(of transfer: TransferRecord) -> String {
        OwnershipMark.intentMessage(
            accountID: transfer.accountID, region: transfer.region, importID: transfer.importID,
            intentAt: Timestamp.string(transfer.createdAt))
    }

    /// Whether `tags` carry an intent mark that verifies for `transfer`'s intent row (one `VerifyMac` when a mark is
    /// there). Throws only when KMS could not answer.
    public func carriesIntentMark(_ tags: [String: String], of transfer: TransferRecord) async throws -> Bool {
        guard let mac = tags[OwnershipMark.intentTag], !mac.isEmpty else { return false }
        return try await client.verifyMac(keyID: markKeyARN, message: Self.intentMessage(of: transfer), mac: mac)
    }

    /// What the mark on a key proves, from its tags (`transferkeyd:mark` bound to `keyARN` and the import id in
    /// `transferkeyd:import-id`): one `VerifyMac` when a mark is there. A failed call is `unverifiable`, never valid.
    public func check(tags: [String: String]?, keyARN: String?) async -> OwnershipMark {
        guard let tags else { return .unverifiable("the key's tags could not be read") }
        guard let mac = tags[OwnershipMark.tag], !mac.isEmpty else { return .absent }
        guard let importID = tags[KMSValue.importIDTag], !importID.isEmpty else {
            return .invalid("no \(KMSValue.importIDTag) tag for the mark to bind")
        }
        guard let keyARN else { return .unverifiable("AWS gave no ARN for the key") }
        do {
            let valid = try await client.verifyMac(
                keyID: markKeyARN, message: OwnershipMark.message(keyARN: keyARN, importID: importID), mac: mac)
            return valid
                ? .valid(importID: importID)
                : .invalid(
                    "does not verify for \(keyARN) and import id \(importID): forged, or copied from another key")
        } catch {
            return .unverifiable("VerifyMac failed: \(error)")
        }
    }

    /// `check` when a mark key may be missing: without one a mark proves nothing (it cannot be verified).
    public static func check(_ marks: OwnershipMarks?, tags: [String: String]?, keyARN: String?) async -> OwnershipMark
    {
        if let marks { return await marks.check(tags: tags, keyARN: keyARN) }
        guard let tags else { return .unverifiable("the key's tags could not be read") }
        guard let mac = tags[OwnershipMark.tag], !mac.isEmpty else { return .absent }
        return .unverifiable("no ownership_mark_key is configured to verify it")
    }
}
