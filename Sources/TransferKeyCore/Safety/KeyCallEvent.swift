import Foundation

/// One call made on a key, as CloudTrail recorded it (`LookupEvents`): what, when, by whom, and how it failed.
public struct KeyCallEvent: Sendable, Equatable {
    public var eventID: String
    /// The API name: `Decrypt`, `GenerateDataKey`, `ScheduleKeyDeletion`, ….
    public var name: String
    /// When, by AWS's clock.
    public var at: Date?
    /// The caller's ARN, when CloudTrail names it.
    public var principal: String?
    /// The error of a failed call (`KMSInvalidStateException` for a key pending deletion).
    public var errorCode: String?
    public var errorMessage: String?

    /// Creates an event.
    public init(
        eventID: String, name: String, at: Date?, principal: String? = nil, errorCode: String? = nil,
        errorMessage: String? = nil
    ) {
        self.eventID = eventID
        self.name = name
        self.at = at
        self.principal = principal
        self.errorCode = errorCode
        self.errorMessage = errorMessage
    }

    /// The KMS operations that use key material: a call of one of these on a key pending deletion is an attempt to use
    /// it, which AWS refuses and CloudTrail records.
    public static let cryptographicOperations: Set<String> = [
        "Encrypt", "Decrypt", "ReEncrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "GenerateDataKeyPair",
        "GenerateDataKeyPairWithoutPlaintext", "Sign", "Verify", "GenerateMac", "VerifyMac", "DeriveSharedSecret",
        "CreateGrant",
    ]

    /// The event in an audit event.
    public var auditValue: JSONValue {
        [
            "event_id": .string(eventID), "event_name": .string(name), "at": .string(at.map(Timestamp.string)),
            "principal": .string(principal), "error_code": .string(errorCode), "error_message": .string(errorMessage),
        ]
    }
}

extension SafetyRules {
    /// The first attempt to use a key while it is pending deletion, among `events` (newest first, as CloudTrail lists
    /// them): a cryptographic call after `since` (when it was scheduled) that AWS refused because the key is pending
    /// deletion. AWS's guidance for deleting keys: such an attempt means something still needs the key, and the
    /// deletion is to be cancelled. Nil when there is none.
    public static func attemptedUse(_ events: [KeyCallEvent], since: Date) -> KeyCallEvent? {
        events.filter { event in
            guard KeyCallEvent.cryptographicOperations.contains(event.name), let at = event.at, at >= since else {
                return false
            }
            guard let code = event.errorCode else { return false }
            return code == "KMSInvalidStateException" || code == "DisabledException"
                || (event.errorMessage ?? "").localizedCaseInsensitiveContains("pending deletion")
        }.min { ($0.at ?? .distantPast) < ($1.at ?? .distantPast) }
    }
}

extension SafetyRules {
    /// Who made a discovered key that only its age proves a transfer key, by CloudTrail's `CreateKey` record among
    /// `events`: one of `platformPrincipals` (IAM `StringLike` patterns) passes; anyone else is `made_by_other`; no
    /// record at all (older than CloudTrail's 90 days, not delivered yet, or the lookup failed: `lookupFailure`) is
    /// missing evidence (`no_provenance`, which an operator may accept). Nil when it passes, or when the account names
    /// no platform principals (nothing to check).
    public static func creator(
        of keyID: String, events: [KeyCallEvent], lookupFailure: String? = nil, platformPrincipals: [String]
    ) -> (rule: SafetyRule, reason: String)? {
        guard !platformPrincipals.isEmpty else { return nil }
        let made = events.filter { $0.name == "CreateKey" && $0.errorCode == nil }
            .min { ($0.at ?? .distantPast) < ($1.at ?? .distantPast) }
        guard let made else {
            let why = lookupFailure.map { "the CloudTrail lookup failed: \($0)" } ?? "no CloudTrail CreateKey record"
            return (
                .noProvenance,
                "discovered key \(keyID): \(why), so nothing shows one of platform_principals made it"
            )
        }
        let principal = made.principal ?? "(no principal)"
        if platformPrincipals.contains(where: { matches(principal, pattern: $0) }) { return nil }
        return (
            .madeByOther,
            "discovered key \(keyID) was made by \(principal) (CloudTrail event \(made.eventID)), not one of "
                + "platform_principals"
        )
    }
}
