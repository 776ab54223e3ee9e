import Foundation

/// What the ownership mark on a key proved: a MAC that only the holder of the mark key (`ownership_mark_key`, an
/// HMAC KMS key whose `kms:GenerateMac` only the daemon's role may call) can make, bound to the key's ARN and its
/// import id. A tag, an alias or an import id is a claim anyone with `kms:TagResource` or `kms:CreateAlias` can make;
/// the mark is not: copied onto another key it no longer verifies (the ARN differs), and it cannot be invented.
public enum OwnershipMark: Sendable, Equatable {
    /// `VerifyMac` accepted the mark for the key's ARN and this import id.
    case valid(importID: String)
    /// A mark is there, and it does not verify: forged, copied from another key, or for another import id.
    case invalid(String)
    /// The key carries no mark.
    case absent
    /// A mark is there but could not be checked (no mark key configured, or `VerifyMac` failed): no evidence.
    case unverifiable(String)

    /// The tag holding the mark bound to the key's ARN: `base64(HMAC_SHA_256(markKey, message(keyARN:importID:)))`.
    public static let tag = "transferkeyd:mark"
    /// The tag holding the mark `create` puts on the key in the `CreateKey` request itself, before the ARN exists
    /// (`intentMessage`): how a key whose `CreateKey` answer was lost is told from every other key.
    public static let intentTag = "transferkeyd:intent-mark"

    /// What the mark of `keyARN` made for `importID` authenticates (versioned, one field a line).
    public static func message(keyARN: String, importID: String) -> String {
        "transferkeyd-mark-v1\n\(keyARN)\n\(importID)"
    }

    /// What the intent mark of a `create` authenticates: the account, region and import id of its intent row and the
    /// instant the row was written (milliseconds, as recorded), so two intents never share a mark.
    public static func intentMessage(accountID: String, region: String, importID: String, intentAt: String) -> String {
        "transferkeyd-intent-v1\n\(accountID)\n\(region)\n\(importID)\n\(intentAt)"
    }

    /// Whether the mark proves the key was made by this daemon for `importID` (any import id when nil).
    public func proves(importID: String? = nil) -> Bool {
        guard case .valid(let marked) = self else { return false }
        return importID == nil || marked == importID
    }

    /// The finding in an audit event.
    public var auditValue: JSONValue {
        switch self {
        case .valid(let importID): ["result": "valid", "import_id": .string(importID)]
        case .invalid(let why): ["result": "invalid", "why": .string(why)]
        case .absent: ["result": "absent"]
        case .unverifiable(let why): ["result": "unverifiable", "why": .string(why)]
        }
    }
}
