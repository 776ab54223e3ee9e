/// What kind of failure an AWS error is, which decides what an operator should do about it.
///
/// ``AWSFailureClass/of(code:httpStatus:isClockSkew:)`` is the one place that maps error codes to categories and
/// decides both retries: the one within a call and the step's later one.
public enum AWSErrorCategory: String, Sendable, Hashable, CaseIterable {
    /// AWS rate-limited the call; retried with a longer backoff.
    case throttled
    /// A temporary AWS or network failure (5xx, reset, timeout, an unreadable answer); tried again.
    case transient
    /// The credentials were rejected or lack permission; not retried (expired credentials are refreshed once).
    case auth
    /// The resource does not exist.
    case notFound
    /// The resource is in a state that forbids the call (e.g. a key already pending deletion).
    case invalidState
    /// Anything else: the request itself is wrong; not retried.
    case permanent

    /// Whether the step that failed is tried again later (with capped backoff, for as long as the failure lasts)
    /// rather than parked for a person: throttling and transient failures.
    public var isRetriedLater: Bool { self == .throttled || self == .transient }

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
}

/// How soon a failed call may be tried again.
public enum AWSRetryScope: String, Sendable, Hashable, CaseIterable {
    /// Not by this daemon: a person must change something (credentials, permissions, the request, the resource).
    case never
    /// Not within the call — another attempt within milliseconds will not fix it (a name that does not resolve,
    /// a TLS failure, an unreadable answer, a clock AWS rejects) — but the step is tried again later with backoff.
    case later
    /// Within the call, as the AWS SDKs' standard retry mode does, and later when those attempts run out.
    case withinCall
}

/// An AWS error's category and how soon it may be retried: the one classification that the retry loop
/// (``RetryPolicy``), the daemon's step retries and the operator's hint all read.
public struct AWSFailureClass: Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure it is.
    public var category: AWSErrorCategory
    /// How soon it may be tried again; `never` exactly when the category is not retried later.
    public var retry: AWSRetryScope

    public var description: String { "\(category.rawValue)/\(retry.rawValue)" }

    /// Classifies an AWS error code (or a transport code such as `ConnectionRefused`) with its HTTP status (nil
    /// when no answer arrived).
    ///
    /// A known code wins over the status: `ThrottlingException` arrives as HTTP 400. Unknown codes fall back to
    /// the status (429 → throttled, 5xx → transient, 401/403 → auth, 404 → notFound), then to permanent. Retried
    /// within the call, as the SDKs' standard mode: throttling (unless it is the clock), the codes in
    /// `withinCallCodes`, HTTP 500/502/503/504, and connection failures without an answer. Every other transient
    /// failure is retried later only. `isClockSkew` (the server's `Date` showed the host's clock off): transient,
    /// later — the request loop re-signs once at AWS's time itself.
    public static func of(code: String, httpStatus: Int?, isClockSkew: Bool = false) -> AWSFailureClass {
        if isClockSkew { return AWSFailureClass(category: .transient, retry: .later) }
        let category = category(code: code, httpStatus: httpStatus)
        guard category.isRetriedLater else { return AWSFailureClass(category: category, retry: .never) }
        let withinCall: Bool
        if category == .throttled || withinCallCodes.contains(code) {
            withinCall = true
        } else if let httpStatus {
            withinCall = withinCallStatuses.contains(httpStatus)
        } else {
            withinCall = withinCallTransportCodes.contains(code)
        }
        return AWSFailureClass(category: category, retry: withinCall ? .withinCall : .later)
    }

    /// Codes retried within the call whatever their HTTP status (besides throttling codes). `InvalidIdentityToken`
    /// is here as in the SDKs' web-identity providers: an identity provider's fresh token can reach STS before it
    /// is valid there.
    static let withinCallCodes: Set<String> = [
        "RequestTimeout", "RequestTimeoutException", "IDPCommunicationError", "InvalidIdentityToken",
        "CredentialSourceUnavailable",
    ]

    /// Transport codes (no HTTP answer) retried within the call. `TLSFailure` and `NameResolutionFailure` are
    /// retried later only: a certificate or a resolver that failed now fails again within milliseconds.
    static let withinCallTransportCodes: Set<String> = [
        "ConnectionRefused", "ConnectionReset", "ConnectionClosed", "ConnectTimeout", "RequestTimeout", "Timeout",
        "NetworkError",
    ]

    /// HTTP statuses retried within the call whatever the code.
    static let withinCallStatuses: Set<Int> = [500, 502, 503, 504]

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
        "Unavailable", "RequestTimeout", "RequestTimeoutException", "IDPCommunicationError", "InvalidIdentityToken",
        "ConnectionRefused", "ConnectionReset", "ConnectionClosed", "ConnectTimeout", "Timeout", "NetworkError",
        "CredentialSourceUnavailable", "NameResolutionFailure", "TLSFailure",
        // A 200 whose body cannot be decoded (HTML from a proxy, half a body): asked again, never believed.
        "InvalidResponse",
    ]

    static let authCodes: Set<String> = [
        "SignatureDoesNotMatch", "InvalidClientTokenId", "ExpiredToken", "ExpiredTokenException",
        "AuthFailure", "AccessDenied", "AccessDeniedException", "UnrecognizedClientException", "IncompleteSignature",
        "InvalidSignatureException", "MissingAuthenticationToken", "UnauthorizedOperation", "OptInRequired",
        "InvalidAccessKeyId", "NotAuthorized", "TokenRefreshRequired", "CredentialsUnavailable",
    ]

    static let notFoundCodes: Set<String> = [
        "NotFoundException", "InvalidSnapshot.NotFound", "InvalidSnapshotID.NotFound", "NoSuchEntity",
        "ResourceNotFoundException", "InvalidVolume.NotFound",
    ]

    /// Every code some list above names: what the classification's table test walks.
    static var knownCodes: Set<String> {
        withinCallCodes.union(withinCallTransportCodes).union(timeOnlyCodes).union(throttledCodes)
            .union(transientCodes).union(authCodes).union(notFoundCodes)
            .union(AWSErrorCategory.clockSkewCodes).union(AWSErrorCategory.expiredCredentialCodes)
            .union(["KMSInvalidStateException", "IncorrectState"])
    }

    private static func category(code: String, httpStatus: Int?) -> AWSErrorCategory {
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
