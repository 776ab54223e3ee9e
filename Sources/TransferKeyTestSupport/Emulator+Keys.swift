import Foundation

extension Emulator {
    /// What `POST /_fault/keys` changes about one key (nil leaves a field as it is).
    public struct KeyChange: Encodable, Sendable {
        public var keyID: String
        public var account: String
        public var region: String
        /// Seconds since 1970: a key made long ago.
        public var creationDate: Double?
        /// `Creating`, `Updating`, `Disabled`, `PendingImport`, `Unavailable`, ….
        public var state: String?
        /// `EXTERNAL` (imported material), `AWS_CLOUDHSM`, `EXTERNAL_KEY_STORE`.
        public var origin: String?
        /// Reported as `CustomKeyStoreId` by DescribeKey.
        public var customKeyStoreID: String?

        enum CodingKeys: String, CodingKey {
            case keyID = "key_id"
            case account, region
            case creationDate = "creation_date"
            case state, origin
            case customKeyStoreID = "custom_key_store_id"
        }

        /// A change to one key in `account` × `region`.
        public init(
            keyID: String, account: String, region: String, creationDate: Double? = nil, state: String? = nil,
            origin: String? = nil, customKeyStoreID: String? = nil
        ) {
            self.keyID = keyID
            self.account = account
            self.region = region
            self.creationDate = creationDate
            self.state = state
            self.origin = origin
            self.customKeyStoreID = customKeyStoreID
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(keyID, forKey: .keyID)
            try container.encode(account, forKey: .account)
            try container.encode(region, forKey: .region)
            try container.encodeIfPresent(creationDate, forKey: .creationDate)
            try container.encodeIfPresent(state, forKey: .state)
            try container.encodeIfPresent(origin, forKey: .origin)
            try container.encodeIfPresent(customKeyStoreID, forKey: .customKeyStoreID)
        }
    }

    /// Changes what the emulator reports about a key: its age, state, origin or custom key store.
    public func changeKey(_ change: KeyChange) async throws {
        try await post("/_fault/keys", body: change)
    }

    /// A cryptographic use of a key as KMS would record it (`GetKeyLastUsage`), at `at` (seconds since 1970).
    private struct KeyUse: Encodable {
        var keyID: String
        var operation: String
        var timestamp: Double
        enum CodingKeys: String, CodingKey {
            case keyID = "key_id"
            case operation, timestamp
        }
    }

    /// Makes `GetKeyLastUsage` report `operation` on `keyID` at `at` (seconds since 1970), as if AWS recorded it.
    public func recordKeyUse(keyID: String, operation: String, at: Double) async throws {
        try await post("/_fault/key-usage", body: KeyUse(keyID: keyID, operation: operation, timestamp: at))
    }

    /// A call on a key in CloudTrail's event history (`LookupEvents`), now or at `at` (seconds since 1970).
    private struct TrailEvent: Encodable {
        var account, region, keyID, eventName, principal: String
        var timestamp: Double
        var errorCode, errorMessage: String?
        enum CodingKeys: String, CodingKey {
            case account, region, principal, timestamp
            case keyID = "key_id"
            case eventName = "event_name"
            case errorCode = "error_code"
            case errorMessage = "error_message"
        }
    }

    /// Adds a call on `keyID` to CloudTrail's event history, as AWS would record it (a failed one with its error).
    public func recordTrailEvent(
        account: String, region: String, keyID: String, eventName: String, principal: String,
        at: Double = Date().timeIntervalSince1970, errorCode: String? = nil, errorMessage: String? = nil
    ) async throws {
        try await post(
            "/_fault/cloudtrail-events",
            body: TrailEvent(
                account: account, region: region, keyID: keyID, eventName: eventName, principal: principal,
                timestamp: at, errorCode: errorCode, errorMessage: errorMessage))
    }

    /// Reports an alias's `CreationDate` and/or `LastUpdatedDate` (seconds since 1970) in `ListAliases`.
    public func setAliasDates(_ name: String, created: Double? = nil, updated: Double? = nil) async throws {
        var dates: [String: Double] = [:]
        if let created { dates["created"] = created }
        if let updated { dates["updated"] = updated }
        try await post("/_fault/alias-dates", body: [name: dates])
    }
}
