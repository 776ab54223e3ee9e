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
