import Foundation

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
    /// `usage_slack`: a use this long after the import ended still counts as the import's own (KMS's reporting delay,
    /// and the copy's last operations).
    public var usageSlack: TimeInterval
    /// `in_use_deferrals`: after this many `in_use` deferrals the key is refused for an operator.
    public var inUseDeferrals: Int
    /// `import_grantees`: principals (IAM `StringLike` patterns, `*` and `?`) whose grants made before the import ended
    /// are the import's own. Any other live grant refuses the key.
    public var importGrantees: [String]

    /// Creates the policy.
    public init(
        aliasPrefix: String, orphanGrace: TimeInterval = 21_600, orphanMaxKeyLead: TimeInterval = 3_600,
        maxTransferAge: TimeInterval = 86_400, usageSlack: TimeInterval = 900, inUseDeferrals: Int = 3,
        importGrantees: [String] = []
    ) {
        self.usageSlack = usageSlack
        self.inUseDeferrals = inUseDeferrals
        self.importGrantees = importGrantees
        self.aliasPrefix = aliasPrefix
        self.orphanGrace = orphanGrace
        self.orphanMaxKeyLead = orphanMaxKeyLead
        self.maxTransferAge = maxTransferAge
    }
}
