/// The named rules a deletion decision applies; the name is what the audit event, `status` and `show` record.
public enum SafetyRule: String, Sendable, Equatable, CaseIterable {
    /// AWS answered for another key than the recorded one.
    case keyMismatch = "key_mismatch"
    /// `KeyManager` is not `CUSTOMER` (an AWS managed key).
    case notCustomerManaged = "not_customer_managed"
    /// `Origin` is not `AWS_KMS`: imported key material, CloudHSM or an external key store.
    case originNotAWSKMS = "origin_not_aws_kms"
    /// The key lives in a custom key store.
    case customKeyStore = "custom_key_store"
    /// Not a symmetric `ENCRYPT_DECRYPT` key: transfer keys never are anything else.
    case notSymmetricEncryption = "not_symmetric_encryption"
    /// A key state no rule knows.
    case unknownKeyState = "unknown_key_state"
    /// `Creating` or `Updating`: AWS refuses the call now; look again later.
    case keyStateTransitional = "key_state_transitional"
    /// The key carries an alias outside the prefix: somebody uses it for something else.
    case foreignAlias = "foreign_alias"
    /// The key carries no alias under the prefix: nothing shows it is a transfer key.
    case noPrefixedAlias = "no_prefixed_alias"
    /// The recorded alias now targets another key (moved with `UpdateAlias`, or deleted).
    case aliasRetargeted = "alias_retargeted"
    /// Another transfer's alias, whose import is not over, is on the key too.
    case sharedKey = "shared_key"
    /// A prefixed alias nobody recorded changed less than `orphan_grace` ago: maybe a new import.
    case youngAlias = "young_alias"
    /// AWS's clock is not known, and a decision needs it.
    case awsTimeUnknown = "aws_time_unknown"
    /// A discovered key without transferkeyd's tag that was not made shortly before its alias, or is too old.
    case noProvenance = "no_provenance"
    /// The key's ARN names another account than the one recorded: an import id, a flag or a credential confusion.
    case accountMismatch = "account_mismatch"
    /// A key recorded as one `create` made with no alias (a lost `CreateKey` answer's duplicate) carries an alias or
    /// is multi-Region: it is not what a lost answer makes, so somebody uses it.
    case notADuplicate = "not_a_duplicate"
    /// KMS recorded a cryptographic use of the key after its import ended (beyond `usage_slack`): something still
    /// needs it. Deferred; after `in_use_deferrals` deferrals, refused for an operator.
    case inUse = "in_use"
    /// A live grant lets a principal other than the import's use the key (`import_grantees`), or was made after the
    /// import ended: something else depends on it.
    case grantedToOthers = "granted_to_others"
    /// A discovered key whose CloudTrail `CreateKey` record names a principal outside the account's
    /// `platform_principals`: somebody else made it.
    case madeByOther = "made_by_other"
    /// A discovered key that is `Disabled`: a person acted on it.
    case discoveredDisabled = "discovered_disabled"
    /// The transfer's row disagrees with the audit events that recorded it (an edited origin, key, alias or state),
    /// or one of those events does not verify: whoever wrote the file, the daemon acts on nothing it cannot vouch
    /// for. Refused for an operator (restore the ledger).
    case ledgerMismatch = "ledger_mismatch"
    /// After `ScheduleKeyDeletion` an alias outside the prefix (or another import's) appeared: cancelled at once.
    case changedDuringDeletion = "changed_during_deletion"
    /// The host's clock says a lease is over but AWS's does not (the host runs ahead), or the wall clock jumped and
    /// AWS's clock has not confirmed the time yet: no lease ends on the host's clock alone. Deferred.
    case clockUnconfirmed = "clock_unconfirmed"
    /// `disable_first`: the key is disabled and watched for use until the watch ends. Deferred.
    case disableFirst = "disable_first"

    /// Whether an operator may waive the rule for one transfer after review (`transferkeyd accept`). Rules about
    /// the key itself (what it is, what else uses it) are never waived: fix the key in AWS, then `retry`.
    public var isWaivable: Bool { self == .noProvenance || self == .discoveredDisabled }
}
