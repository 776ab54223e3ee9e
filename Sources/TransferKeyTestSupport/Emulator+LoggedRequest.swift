import Foundation

extension Emulator {
    /// One AWS request the emulator saw (`GET /_fault/log`).
    public struct LoggedRequest: Sendable, Decodable, Equatable {
        /// When the request arrived, in seconds since 1970.
        public var time: Double
        /// The SigV4 service, e.g. `kms`.
        public var service: String
        /// The AWS operation, e.g. `ScheduleKeyDeletion`.
        public var operation: String
        /// The region from the credential scope.
        public var region: String
        /// The account, as moto resolves it.
        public var account: String
        /// The HTTP status answered; nil when the connection was reset.
        public var status: Int?
        /// The id of the rule that injected a fault (or latency) into it, if any.
        public var fault: String?
        /// The `KeyId` a KMS request named, if any (e.g. `ScheduleKeyDeletion`'s key).
        public var keyID: String?
        /// The `AliasName` a KMS request named, if any (e.g. `DeleteAlias`'s alias).
        public var aliasName: String?

        enum CodingKeys: String, CodingKey {
            case time = "t"
            case service, operation, region, account, status, fault
            case keyID = "key_id"
            case aliasName = "alias_name"
        }

        /// `service.operation`, the key used by `Emulator.counts()`.
        public var key: String { "\(service).\(operation)" }
    }
}
