import Foundation

/// What the transfer's own record claims about the key: the other half of every decision.
public struct TransferClaims: Sendable, Equatable {
    /// How the transfer came to be recorded.
    public var origin: TransferOrigin
    /// The bare key id stored for the transfer.
    public var recordedKeyID: String
    /// The alias stored for the transfer, if any.
    public var recordedAlias: String?
    /// The account the transfer recorded: the key's ARN must name it.
    public var recordedAccountID: String?
    /// AWS's clock when the transfer was recorded (for a discovered one: when it was adopted); nil when AWS's clock
    /// was not known then. Never the host's clock: a skewed host would age keys wrongly.
    public var recordedAt: Date?
    /// A key `create` made that must carry no alias at all: a duplicate made by a lost `CreateKey` answer, or the key
    /// of a `create` whose alias name was taken. It is retired only while nothing names it.
    public var expectsNoAlias: Bool
    /// When the import ended, by AWS's clock (the row's `completed_at` carried onto it); for a discovered key, when it
    /// was adopted. Nil while the import is not over.
    public var importEndedAt: Date?
    /// How many times the key was already deferred because it was in use (`in_use`).
    public var inUseDeferrals: Int
    /// Prefixed aliases that other transfers recorded and whose keys must live on: their import is not over,
    /// or an operator has to decide about them.
    public var aliasesOfOtherLiveTransfers: Set<String>
    /// Who accepted a discovered key's missing provenance after review (`transferkeyd accept`), if anyone.
    public var provenanceAcceptedBy: String?
    /// When this daemon disabled the key for `disable_first` (its `key_disabled` event): a `Disabled` key is then
    /// this daemon's doing, not a person's.
    public var disabledByDaemonAt: Date?

    /// Creates the claims.
    public init(
        origin: TransferOrigin, recordedKeyID: String, recordedAlias: String? = nil, recordedAt: Date? = nil,
        aliasesOfOtherLiveTransfers: Set<String> = [], provenanceAcceptedBy: String? = nil,
        recordedAccountID: String? = nil, expectsNoAlias: Bool = false, importEndedAt: Date? = nil,
        inUseDeferrals: Int = 0
    ) {
        self.importEndedAt = importEndedAt
        self.inUseDeferrals = inUseDeferrals
        self.recordedAccountID = recordedAccountID
        self.expectsNoAlias = expectsNoAlias
        self.origin = origin
        self.recordedKeyID = recordedKeyID
        self.recordedAlias = recordedAlias
        self.recordedAt = recordedAt
        self.aliasesOfOtherLiveTransfers = aliasesOfOtherLiveTransfers
        self.provenanceAcceptedBy = provenanceAcceptedBy
    }
}
