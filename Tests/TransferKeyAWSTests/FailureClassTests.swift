import Testing

@testable import TransferKeyAWS

/// `AWSFailureClass.of` is the one classification behind both retries; this table names every code either of the
/// former lists (`RetryPolicy`'s and `AWSErrorCategory`'s) knew, with the answer each must get.
@Suite("One failure classification for every retry decision")
struct FailureClassTests {
    typealias Row = (code: String, status: Int?, category: AWSErrorCategory, retry: AWSRetryScope)

    static let table: [Row] = [
        // Throttling: within the call (longer backoff), whatever the status.
        ("ThrottlingException", 400, .throttled, .withinCall), ("Throttling", 400, .throttled, .withinCall),
        ("ThrottledException", 400, .throttled, .withinCall), ("RequestLimitExceeded", 503, .throttled, .withinCall),
        ("TooManyRequestsException", 400, .throttled, .withinCall), ("SlowDown", 503, .throttled, .withinCall),
        ("RequestThrottled", 400, .throttled, .withinCall), ("RequestThrottledException", 400, .throttled, .withinCall),
        ("ProvisionedThroughputExceededException", 400, .throttled, .withinCall),
        ("LimitExceededException.Throttling", 400, .throttled, .withinCall),
        ("PriorRequestNotComplete", 400, .throttled, .withinCall),
        ("BandwidthLimitExceeded", 400, .throttled, .withinCall),
        ("EC2ThrottledException", 503, .throttled, .withinCall),
        ("HTTP429", 429, .throttled, .withinCall),
        // AWS's 5xx and the codes the SDKs retry by name.
        ("KMSInternalException", 500, .transient, .withinCall),
        ("DependencyTimeoutException", 500, .transient, .withinCall),
        ("InternalError", 500, .transient, .withinCall), ("InternalFailure", 500, .transient, .withinCall),
        ("InternalServerError", 500, .transient, .withinCall), ("InternalServiceError", 500, .transient, .withinCall),
        ("ServiceUnavailable", 503, .transient, .withinCall),
        ("ServiceUnavailableException", 503, .transient, .withinCall), ("Unavailable", 503, .transient, .withinCall),
        ("HTTP500", 500, .transient, .withinCall), ("HTTP502", 502, .transient, .withinCall),
        ("HTTP503", 503, .transient, .withinCall), ("HTTP504", 504, .transient, .withinCall),
        ("RequestTimeout", 400, .transient, .withinCall), ("RequestTimeoutException", 408, .transient, .withinCall),
        ("IDPCommunicationError", 400, .transient, .withinCall),
        ("InvalidIdentityToken", 400, .transient, .withinCall),
        ("CredentialSourceUnavailable", nil, .transient, .withinCall),
        // Connection failures without an answer.
        ("ConnectionRefused", nil, .transient, .withinCall), ("ConnectionReset", nil, .transient, .withinCall),
        ("ConnectionClosed", nil, .transient, .withinCall), ("ConnectTimeout", nil, .transient, .withinCall),
        ("RequestTimeout", nil, .transient, .withinCall), ("Timeout", nil, .transient, .withinCall),
        ("NetworkError", nil, .transient, .withinCall),
        // Transient, but another attempt within milliseconds fails the same way: the step is tried again later.
        ("NameResolutionFailure", nil, .transient, .later), ("TLSFailure", nil, .transient, .later),
        ("InvalidResponse", 200, .transient, .later), ("HTTP501", 501, .transient, .later),
        ("HTTP505", 505, .transient, .later), ("ServiceUnavailable", 400, .transient, .later),
        ("RequestTimeTooSkewed", 403, .transient, .later), ("RequestExpired", 400, .transient, .later),
        ("RequestInTheFuture", 403, .transient, .later),
        // A person must act.
        ("SignatureDoesNotMatch", 403, .auth, .never), ("InvalidClientTokenId", 403, .auth, .never),
        ("ExpiredToken", 400, .auth, .never), ("ExpiredTokenException", 400, .auth, .never),
        ("AuthFailure", 401, .auth, .never), ("AccessDenied", 403, .auth, .never),
        ("AccessDeniedException", 400, .auth, .never), ("UnrecognizedClientException", 400, .auth, .never),
        ("IncompleteSignature", 400, .auth, .never), ("InvalidSignatureException", 400, .auth, .never),
        ("MissingAuthenticationToken", 403, .auth, .never), ("UnauthorizedOperation", 403, .auth, .never),
        ("OptInRequired", 403, .auth, .never), ("InvalidAccessKeyId", 403, .auth, .never),
        ("NotAuthorized", 400, .auth, .never), ("TokenRefreshRequired", 400, .auth, .never),
        ("CredentialsUnavailable", nil, .auth, .never), ("HTTP403", 403, .auth, .never),
        ("NotFoundException", 400, .notFound, .never), ("InvalidSnapshot.NotFound", 400, .notFound, .never),
        ("InvalidSnapshotID.NotFound", 400, .notFound, .never), ("NoSuchEntity", 404, .notFound, .never),
        ("ResourceNotFoundException", 400, .notFound, .never), ("InvalidVolume.NotFound", 400, .notFound, .never),
        ("InvalidAlias.NotFound", 400, .notFound, .never), ("HTTP404", 404, .notFound, .never),
        ("KMSInvalidStateException", 400, .invalidState, .never), ("IncorrectState", 400, .invalidState, .never),
        ("ValidationException", 400, .permanent, .never), ("HTTP400", 400, .permanent, .never),
    ]

    @Test("every code either former list knew gets its category and retry scope", arguments: table)
    func row(_ row: Row) {
        let failure = AWSFailureClass.of(code: row.code, httpStatus: row.status)
        #expect(failure.category == row.category, "\(row.code) \(String(describing: row.status))")
        #expect(failure.retry == row.retry, "\(row.code) \(String(describing: row.status))")
        let error = AWSError(code: row.code, message: "", httpStatus: row.status, service: "kms", operation: "x")
        #expect(RetryPolicy.isRetryable(error) == (row.retry == .withinCall), "the retry loop reads the same answer")
        #expect(row.category.isRetriedLater == (row.retry != .never), "the step's later retry reads the same answer")
    }

    @Test("the table names every code the classification lists")
    func tableCoversEveryCode() {
        let named = Set(Self.table.map(\.code))
        #expect(AWSFailureClass.knownCodes.subtracting(named).sorted() == [])
    }

    @Test("a rejected signature with the host's clock off is the clock's fault: transient, later (re-signed once)")
    func clockSkew() {
        var error = AWSError(
            code: "InvalidSignatureException", message: "", httpStatus: 400, service: "kms", operation: "x")
        #expect(error.failureClass == AWSFailureClass(category: .auth, retry: .never))
        error.isClockSkew = true
        #expect(error.failureClass == AWSFailureClass(category: .transient, retry: .later))
        #expect(!RetryPolicy.isRetryable(error))
    }

    @Test("the hint says what happens: a TLS or name failure is not retried within the call, but later")
    func hints() {
        let tls = AWSError(code: "TLSFailure", message: "", service: "kms", operation: "x")
        #expect(!tls.hint.contains("up to max_attempts"))
        #expect(tls.hint.contains("tried again later"))
        let reset = AWSError(code: "ConnectionReset", message: "", service: "kms", operation: "x")
        #expect(reset.hint.contains("retried with backoff up to max_attempts"))
        let garbled = AWSError(code: "InvalidResponse", message: "", httpStatus: 200, service: "kms", operation: "x")
        #expect(garbled.hint.contains("not retried within the call"))
    }
}
