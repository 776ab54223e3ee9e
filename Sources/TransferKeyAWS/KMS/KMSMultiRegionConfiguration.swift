/// The primary and replica keys of a multi-Region key.
public struct KMSMultiRegionConfiguration: Sendable, Equatable, Codable {
    /// `PRIMARY` or `REPLICA`.
    public var multiRegionKeyType: String?
    /// The primary key.
    public var primaryKey: KMSMultiRegionKey?
    /// Every replica key.
    public var replicaKeys: [KMSMultiRegionKey]

    enum CodingKeys: String, CodingKey {
        case multiRegionKeyType = "MultiRegionKeyType"
        case primaryKey = "PrimaryKey"
        case replicaKeys = "ReplicaKeys"
    }

    /// Creates a configuration.
    public init(multiRegionKeyType: String?, primaryKey: KMSMultiRegionKey?, replicaKeys: [KMSMultiRegionKey]) {
        self.multiRegionKeyType = multiRegionKeyType
        self.primaryKey = primaryKey
        self.replicaKeys = replicaKeys
    }

    /// Decodes, treating an absent replica list as empty.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        multiRegionKeyType = try container.decodeIfPresent(String.self, forKey: .multiRegionKeyType)
        primaryKey = try container.decodeIfPresent(KMSMultiRegionKey.self, forKey: .primaryKey)
        replicaKeys = try container.decodeIfPresent([KMSMultiRegionKey].self, forKey: .replicaKeys) ?? []
    }
}
