import Foundation
import TransferKeyCore

/// The audit detail of one mutating AWS call (`aws_call` events), one shape wherever the call is made.
///
/// Keys: `operation`, `region`, `key_id` or `alias_name`, `request_id` (AWS's `x-amzn-RequestId`), `outcome`
/// (``AWSCallOutcome``), `key_state` (the key's state when the call was decided). `TransferStore.recordAWSCall` and
/// `TransferStore.apply(_:to:now:actor:detail:calls:)` store it; nothing else writes an `aws_call` event.
public struct AWSCallRecord: Sendable, Equatable {
    public var operation: String
    public var region: String
    public var keyID: String?
    public var aliasName: String?
    public var requestID: String?
    public var outcome: AWSCallOutcome
    public var keyState: KMSKeyState?
    /// Facts particular to the operation (`pending_window_days`, `deletion_date`, `reason`).
    public var extra: [String: JSONValue]

    /// Creates a record.
    public init(
        operation: String, region: String, keyID: String? = nil, aliasName: String? = nil, requestID: String?,
        outcome: AWSCallOutcome = .ok, keyState: KMSKeyState? = nil, extra: [String: JSONValue] = [:]
    ) {
        self.operation = operation
        self.region = region
        self.keyID = keyID
        self.aliasName = aliasName
        self.requestID = requestID
        self.outcome = outcome
        self.keyState = keyState
        self.extra = extra
    }

    /// The event's `detail`.
    public var detail: [String: JSONValue] {
        var detail = extra
        detail["operation"] = .string(operation)
        detail["region"] = .string(region)
        if let keyID { detail["key_id"] = .string(keyID) }
        if let aliasName { detail["alias_name"] = .string(aliasName) }
        detail["request_id"] = .string(requestID)
        detail["outcome"] = .string(outcome.rawValue)
        if let keyState { detail["key_state"] = .string(keyState.awsName) }
        return detail
    }
}
