/// What kind of failure an AWS error is, which decides whether it is retried and what an operator should do.
///
/// ``classify(code:httpStatus:)`` is the one place that maps error codes to categories.
public enum AWSErrorCategory: String, Sendable, Hashable, CaseIterable {
    /// AWS rate-limited the call; retried with a longer backoff.
    case throttled
    /// A temporary AWS or network failure (5xx, reset, timeout); retried with backoff.
    case transient
    /// The credentials were rejected or lack permission; not retried (expired credentials are refreshed once).
    case auth
    /// The resource does not exist.
    case notFound
    /// The resource is in a state that forbids the call (e.g. a key already pending deletion).
    case invalidState
    /// Anything else: the request itself is wrong; not retried.
    case permanent

    /// Whether the retry loop tries again after this kind of failure.
    public var isRetryable: Bool { self == .throttled || self == .transient }

    /// Error codes that mean the credentials expired: the retry loop refreshes them once and tries again.
    public static let expiredCredentialCodes: Set<String> = [
        "ExpiredToken", "ExpiredTokenException", "TokenRefreshRequired",
    ]

    /// Codes that can mean the signing time is off: with the server's `Date` more than 4 minutes away from
    /// the local clock, the request is re-signed at the server's time and retried once.
    public static let clockSkewCodes: Set<String> = [
        "RequestTimeTooSkewed", "RequestExpired", "RequestInTheFuture", "InvalidSignatureException",
        "SignatureDoesNotMatch", "AuthFailure",
    ]

    /// Codes that only ever mean the signing time is off (transient: the clock, not the credentials).
    static let timeOnlyCodes: Set<String> = ["RequestTimeTooSkewed", "RequestExpired", "RequestInTheFuture"]

    static let throttledCodes: Set<String> = [
        "ThrottlingException", "Throttling", "ThrottledException", "RequestLimitExceeded",
        "TooManyRequestsException", "SlowDown", "RequestThrottled", "RequestThrottledException",
        "ProvisionedThroughputExceededException", "LimitExceededException.Throttling", "PriorRequestNotComplete",
        "BandwidthLimitExceeded", "EC2ThrottledException",
    ]

    static let transientCodes: Set<String> = [
        "KMSInternalException", "DependencyTimeoutException", "InternalError", "InternalFailure",
        "InternalServerError", "InternalServiceError", "ServiceUnavailable", "ServiceUnavailableException",
        "Unavailable", "RequestTimeout", "RequestTimeoutException", "IDPCommunicationError",
        "ConnectionRefused", "ConnectionReset", "ConnectionClosed", "ConnectTimeout", "Timeout", "NetworkError",
        "CredentialSourceUnavailable", "NameResolutionFailure", "TLSFailure",
        // A 200 whose body cannot be decoded (HTML from a proxy, half a body): asked again, never believed.
        "InvalidResponse",
    ]

    static let authCodes: Set<String> = [
        "SignatureDoesNotMatch", "InvalidClientTokenId", "ExpiredToken", "ExpiredTokenException",
        "AuthFailure", "AccessDenied", "AccessDeniedException", "UnrecognizedClientException", "IncompleteSignature",
        "InvalidSignatureException", "MissingAuthenticationToken", "UnauthorizedOperation", "OptInRequired",
        "InvalidAccessKeyId", "NotAuthorized", "TokenRefreshRequired", "InvalidIdentityToken",
        "CredentialsUnavailable",
    ]

    static let notFoundCodes: Set<String> = [
        "NotFoundException", "InvalidSnapshot.NotFound", "InvalidSnapshotID.NotFound", "NoSuchEntity",
        "ResourceNotFoundException", "InvalidVolume.NotFound",
    ]

    /// The category of an AWS error code (or a transport code such as `ConnectionRefused`) and HTTP status.
    ///
    /// A known code wins over the status: `ThrottlingException` arrives as HTTP 400. Unknown codes fall back to
    /// the status (429 → throttled, 5xx → transient, 401/403 → auth, 404 → notFound), then to permanent.
    public static func classify(code: String, httpStatus: Int?) -> AWSErrorCategory {
        if throttledCodes.contains(code) { return .throttled }
        if timeOnlyCodes.contains(code) { return .transient }
        if authCodes.contains(code) { return .auth }
        if transientCodes.contains(code) { return .transient }
        if notFoundCodes.contains(code) || code.hasSuffix(".NotFound") { return .notFound }
        if code == "KMSInvalidStateException" || code == "IncorrectState" { return .invalidState }
        switch httpStatus {
        case 429: return .throttled
        case .some(500...599): return .transient
        case 401, 403: return .auth
        case 404: return .notFound
        default: return .permanent
        }
    }
}
