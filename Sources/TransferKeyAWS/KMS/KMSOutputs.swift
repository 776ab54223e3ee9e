/// The JSON answers of the KMS operations ``KMSClient`` reads (only the fields it uses).

struct KeyMetadataOutput: Decodable {
    let keyMetadata: KMSKeyMetadata
    enum CodingKeys: String, CodingKey { case keyMetadata = "KeyMetadata" }
}

struct ReplicateKeyOutput: Decodable {
    let replicaKeyMetadata: KMSKeyMetadata
    enum CodingKeys: String, CodingKey { case replicaKeyMetadata = "ReplicaKeyMetadata" }
}

struct KeyIDOutput: Decodable {
    let keyID: String
    enum CodingKeys: String, CodingKey { case keyID = "KeyId" }
}

/// A KMS listing's page: more pages follow while `Truncated`, from `NextMarker`.
protocol MarkerPaged: Decodable {
    var truncated: Bool? { get }
    var nextMarker: String? { get }
}

struct ListAliasesOutput: MarkerPaged {
    let aliases: [KMSAlias]?
    let truncated: Bool?
    let nextMarker: String?
    enum CodingKeys: String, CodingKey {
        case aliases = "Aliases"
        case truncated = "Truncated"
        case nextMarker = "NextMarker"
    }
}

struct ListKeysOutput: MarkerPaged {
    struct Entry: Decodable {
        let keyID: String
        enum CodingKeys: String, CodingKey { case keyID = "KeyId" }
    }
    let keys: [Entry]?
    let truncated: Bool?
    let nextMarker: String?
    enum CodingKeys: String, CodingKey {
        case keys = "Keys"
        case truncated = "Truncated"
        case nextMarker = "NextMarker"
    }
}

struct ListResourceTagsOutput: MarkerPaged {
    let tags: [KMSTag]?
    let truncated: Bool?
    let nextMarker: String?
    enum CodingKeys: String, CodingKey {
        case tags = "Tags"
        case truncated = "Truncated"
        case nextMarker = "NextMarker"
    }
}

struct GenerateMacOutput: Decodable {
    var mac: String
    enum CodingKeys: String, CodingKey { case mac = "Mac" }
}

struct VerifyMacOutput: Decodable {
    var macValid: Bool?
    enum CodingKeys: String, CodingKey { case macValid = "MacValid" }
}
