import TransferKeyAWS
import TransferKeyCore

/// A failed AWS call as the daemon sees it: what kind of failure, and what AWS said.
///
/// The AWS adapter fills it from the AWS module's error; fakes in tests build it directly.
public struct CloudError: Error, Sendable, Equatable, CustomStringConvertible {
    /// How the daemon reacts to a failure: the AWS module's classification (throttled, transient, auth, notFound,
    /// invalidState, permanent), so a code is classified in one place (`AWSFailureClass.of`).
    public typealias Kind = AWSErrorCategory

    public var kind: Kind
    /// The AWS error code, e.g. `AccessDeniedException`.
    public var code: String
    public var message: String
    /// The AWS request id, for support cases and the audit trail.
    public var requestID: String?
    /// The operation that failed, e.g. `ScheduleKeyDeletion`.
    public var operation: String?

    /// Creates an error.
    public init(kind: Kind, code: String, message: String = "", requestID: String? = nil, operation: String? = nil) {
        self.kind = kind
        self.code = code
        self.message = message
        self.requestID = requestID
        self.operation = operation
    }

    /// Whether the step is tried again later (``AWSErrorCategory/isRetriedLater``) rather than parked.
    public var isRetryable: Bool { kind.isRetriedLater }

    public var description: String {
        var text = "\(operation.map { "\($0): " } ?? "")\(code)"
        if !message.isEmpty { text += " (\(message))" }
        if let requestID { text += " [request \(requestID)]" }
        return text
    }
}

extension CloudError {
    /// What a `step_failed` audit event records about the failure: the AWS code, request id and operation,
    /// and its kind (transient, throttled, permanent, …). The same key names as an `aws_call` event's
    /// (`operation`, `request_id`), so one SQL query reads both.
    var auditDetail: [String: JSONValue] {
        [
            "aws_code": .string(code), "request_id": .string(requestID), "operation": .string(operation),
            "kind": .string(kind.rawValue),
        ]
    }
}
