import Foundation

/// What AWS records about a key's use (KMS `GetKeyLastUsage` and `ListGrants` in the key's region): whether
/// something still depends on it, the question that decides whether a deletion destroys evidence.
public struct KeyUsage: Sendable, Equatable {
    /// The last successful cryptographic operation on the key, as KMS reports it.
    public struct LastUse: Sendable, Equatable {
        /// `Encrypt`, `Decrypt`, `GenerateDataKey`, ….
        public var operation: String
        /// When, by AWS's clock.
        public var at: Date
        /// The CloudTrail event of the call, when KMS names it.
        public var cloudTrailEventID: String?
        /// KMS's request id of the call.
        public var kmsRequestID: String?

        /// Creates a last use.
        public init(operation: String, at: Date, cloudTrailEventID: String? = nil, kmsRequestID: String? = nil) {
            self.operation = operation
            self.at = at
            self.cloudTrailEventID = cloudTrailEventID
            self.kmsRequestID = kmsRequestID
        }
    }

    /// A live grant on the key.
    public struct Grant: Sendable, Equatable {
        public var grantID: String
        /// Who may use the key through it.
        public var granteePrincipal: String?
        /// Who may retire it.
        public var retiringPrincipal: String?
        /// When it was made, by AWS's clock.
        public var creationDate: Date?
        /// What it allows (`Decrypt`, `CreateGrant`, …).
        public var operations: [String]

        /// Creates a grant.
        public init(
            grantID: String, granteePrincipal: String?, retiringPrincipal: String? = nil, creationDate: Date? = nil,
            operations: [String] = []
        ) {
            self.grantID = grantID
            self.granteePrincipal = granteePrincipal
            self.retiringPrincipal = retiringPrincipal
            self.creationDate = creationDate
            self.operations = operations
        }
    }

    /// The last use; nil when KMS recorded none since `trackingStart`.
    public var lastUse: LastUse?
    /// Since when KMS records use of the key.
    public var trackingStart: Date?
    /// Every live grant.
    public var grants: [Grant]

    /// Creates the evidence of use.
    public init(lastUse: LastUse? = nil, trackingStart: Date? = nil, grants: [Grant] = []) {
        self.lastUse = lastUse
        self.trackingStart = trackingStart
        self.grants = grants
    }

    /// The evidence in an audit event: operation, time, event id and request id of the last use, every grant.
    public var auditValue: JSONValue {
        var value: [String: JSONValue] = [
            "tracking_start": .string(trackingStart.map(Timestamp.string)),
            "grants": .array(
                grants.map {
                    [
                        "grant_id": .string($0.grantID), "grantee_principal": .string($0.granteePrincipal),
                        "retiring_principal": .string($0.retiringPrincipal),
                        "creation_date": .string($0.creationDate.map(Timestamp.string)),
                        "operations": .array($0.operations.map { .string($0) }),
                    ]
                }),
        ]
        if let use = lastUse {
            value["last_use"] = [
                "operation": .string(use.operation), "at": .string(Timestamp.string(use.at)),
                "cloudtrail_event_id": .string(use.cloudTrailEventID), "kms_request_id": .string(use.kmsRequestID),
            ]
        }
        return .object(value)
    }
}
