import Foundation

/// A failed AWS call: the error code AWS (or the network) gave, its message, and where it happened.
///
/// The description names the service, operation, region, code, HTTP status and request id, and says what happens
/// next; it never contains credentials or signatures (AWS's `SignatureDoesNotMatch` text, which can echo the
/// canonical request, is cut).
public struct AWSError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The AWS error code without any `namespace#` prefix, e.g. `ThrottlingException`, or a transport code
    /// (`ConnectionRefused`, `ConnectionReset`, `RequestTimeout`), or `HTTP<status>` for an unreadable body.
    public var code: String
    /// The human-readable message, shortened and stripped of echoed signing material.
    public var message: String
    /// The HTTP status, or `nil` when no response arrived.
    public var httpStatus: Int?
    /// The AWS request id, when the response carried one.
    public var requestID: String?
    /// The service, e.g. `kms`.
    public var service: String
    /// The operation, e.g. `ScheduleKeyDeletion`.
    public var operation: String
    /// The region the call went to.
    public var region: String?
    /// How many attempts were made before giving up (1 when not retried).
    public var attempts: Int
    /// Whether the server's `Date` showed the local clock off by more than 4 minutes when it rejected the
    /// signature: a clock problem, not a credentials one (transient, never refreshes the credentials).
    public var isClockSkew = false

    /// Creates an error.
    public init(
        code: String, message: String, httpStatus: Int? = nil, requestID: String? = nil, service: String,
        operation: String, region: String? = nil, attempts: Int = 1
    ) {
        self.code = code
        self.message = Self.sanitized(message)
        self.httpStatus = httpStatus
        self.requestID = requestID
        self.service = service
        self.operation = operation
        self.region = region
        self.attempts = attempts
    }

    /// The category and how soon it may be retried, from ``AWSFailureClass/of(code:httpStatus:isClockSkew:)``.
    public var failureClass: AWSFailureClass {
        AWSFailureClass.of(code: code, httpStatus: httpStatus, isClockSkew: isClockSkew)
    }

    /// The category, from ``failureClass``.
    public var category: AWSErrorCategory { failureClass.category }

    /// Whether the credentials expired (refreshed once by the retry loop).
    public var isExpiredCredentials: Bool { AWSErrorCategory.expiredCredentialCodes.contains(code) }

    /// One line an operator can act on.
    public var description: String {
        var where_ = "\(service.uppercased()) \(operation)"
        if let region { where_ += " in \(region)" }
        var detail = code
        if let httpStatus { detail += " (HTTP \(httpStatus))" }
        var text = "\(where_) failed: \(detail)"
        if !message.isEmpty { text += ": \(message)" }
        if let requestID { text += " [request id \(requestID)]" }
        if attempts > 1 { text += " after \(attempts) attempts" }
        return text + " — " + hint
    }

    /// What the caller or operator should do about this category.
    public var hint: String {
        let failure = failureClass
        switch failure.category {
        case .throttled:
            return
                "AWS throttled the call (retried with backoff up to max_attempts); lower concurrency or raise the quota."
        case .transient where isClockSkew:
            return "this host's clock is off by more than 4 minutes (corrected once from AWS's Date header); fix NTP."
        case .transient where code == "NameResolutionFailure" || code == "TLSFailure":
            return "the endpoint could not be reached safely (name resolution or TLS); not retried within the call, "
                + "the step is tried again later: check DNS, the proxy and AWS_CA_BUNDLE."
        case .transient where failure.retry == .later:
            return "temporary AWS or network failure (not retried within the call); the step is tried again later."
        case .transient:
            return "temporary AWS or network failure (retried with backoff up to max_attempts); try again later."
        case .auth:
            return "the credentials were rejected or lack permission: check the role, keys and IAM policy."
        case .notFound:
            return "the resource does not exist (already deleted, or wrong account or region)."
        case .invalidState:
            return "the resource's state forbids this call; check its state (e.g. DescribeKey) before retrying."
        case .permanent:
            return "the request was refused as invalid; not retried: fix the input."
        }
    }

    /// Removes echoed signing material and bounds the length.
    static func sanitized(_ message: String) -> String {
        var text = message
        for marker in ["The Canonical String", "The canonical request", "The String-to-Sign", "The string to sign"] {
            if let range = text.range(of: marker, options: .caseInsensitive) {
                text = String(text[..<range.lowerBound])
            }
        }
        text = text.split(whereSeparator: \.isNewline).joined(separator: " ")
        text = text.trimmingCharacters(in: .whitespaces)
        return text.count > 400 ? String(text.prefix(400)) + "…" : text
    }
}
