import Foundation

/// One alias as `ListAliases` reports it.
public struct AliasEvidence: Sendable, Equatable {
    /// The alias name, `alias/…`.
    public var name: String
    /// `CreationDate`.
    public var creationDate: Date?
    /// `LastUpdatedDate`: moves when `UpdateAlias` points the alias at another key.
    public var lastUpdatedDate: Date?

    /// Creates the evidence of one alias.
    public init(name: String, creationDate: Date? = nil, lastUpdatedDate: Date? = nil) {
        self.name = name
        self.creationDate = creationDate
        self.lastUpdatedDate = lastUpdatedDate
    }

    /// When the alias last changed: the later of its creation and its last update (a retargeted alias is as
    /// young as its move); nil when AWS gave neither.
    public var lastChanged: Date? { [creationDate, lastUpdatedDate].compactMap { $0 }.max() }
}
