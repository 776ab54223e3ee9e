import Foundation

/// One KMS alias (`ListAliases`).
public struct KMSAlias: Sendable, Equatable, Codable {
    /// The alias name, e.g. `alias/CadoResponse-KMS-Alias-imp-42`.
    public var aliasName: String
    /// The alias ARN.
    public var aliasARN: String?
    /// The key the alias points at; absent for AWS-managed aliases not yet used.
    public var targetKeyID: String?
    /// When the alias was created (absent from some emulators).
    public var creationDate: Date?
    /// When the alias was last pointed at a key.
    public var lastUpdatedDate: Date?

    enum CodingKeys: String, CodingKey {
        case aliasName = "AliasName"
        case aliasARN = "AliasArn"
        case targetKeyID = "TargetKeyId"
        case creationDate = "CreationDate"
        case lastUpdatedDate = "LastUpdatedDate"
    }

    /// Creates an alias value (tests and fakes).
    public init(
        aliasName: String, aliasARN: String? = nil, targetKeyID: String? = nil, creationDate: Date? = nil,
        lastUpdatedDate: Date? = nil
    ) {
        self.aliasName = aliasName
        self.aliasARN = aliasARN
        self.targetKeyID = targetKeyID
        self.creationDate = creationDate
        self.lastUpdatedDate = lastUpdatedDate
    }
}
