import Foundation
import TransferKeyCore

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
