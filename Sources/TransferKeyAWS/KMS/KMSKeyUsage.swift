import Foundation

/// `GetKeyLastUsage`'s answer: the last successful cryptographic operation on a key, if KMS recorded one.
public struct KMSKeyLastUsage: Decodable, Sendable, Equatable {
    /// The operation, its time, and the ids that find it in CloudTrail and KMS's logs.
    public struct Usage: Decodable, Sendable, Equatable {
        public var operation: String?
        public var timestamp: Date?
        public var cloudTrailEventID: String?
        public var kmsRequestID: String?
        enum CodingKeys: String, CodingKey {
            case operation = "Operation"
            case timestamp = "Timestamp"
            case cloudTrailEventID = "CloudTrailEventId"
            case kmsRequestID = "KmsRequestId"
        }
    }

    public var keyID: String?
    /// Nil when the key was not used since `trackingStartDate`.
    public var lastUsage: Usage?
    public var trackingStartDate: Date?
    enum CodingKeys: String, CodingKey {
        case keyID = "KeyId"
        case lastUsage = "KeyLastUsage"
        case trackingStartDate = "TrackingStartDate"
    }
}

/// One entry of `ListGrants`.
public struct KMSGrant: Decodable, Sendable, Equatable {
    public var grantID: String
    public var granteePrincipal: String?
    public var retiringPrincipal: String?
    public var creationDate: Date?
    public var operations: [String]?
    enum CodingKeys: String, CodingKey {
        case grantID = "GrantId"
        case granteePrincipal = "GranteePrincipal"
        case retiringPrincipal = "RetiringPrincipal"
        case creationDate = "CreationDate"
        case operations = "Operations"
    }
}

struct ListGrantsOutput: MarkerPaged {
    let grants: [KMSGrant]?
    let truncated: Bool?
    let nextMarker: String?
    enum CodingKeys: String, CodingKey {
        case grants = "Grants"
        case truncated = "Truncated"
        case nextMarker = "NextMarker"
    }
}
