import Foundation
import Logging

/// Signs, paces, sends and retries AWS requests; shared by every service client of one ``AWSClient``.
///
/// One call: wait for the (account, region, operation) token bucket, fetch credentials, sign with SigV4 at the
/// endpoint's time (local time corrected by ``ClockSkew``), send, decode an error; retry throttled and transient
/// errors per the ``RetryPolicy`` and its ``RetryQuota``; on an expired-credentials error refresh the
/// credentials once and try again; on a signature rejected because the clock is off (the answer's `Date` more
/// than 4 minutes away) re-sign at the server's time and try once more, without touching the credentials.
/// Cancellation ends a backoff at once.
public struct AWSRequestExecutor: Sendable {
    /// The HTTP transport.
    public let transport: any AWSTransport
    /// Where each service lives.
    public let endpoints: AWSEndpointResolver
    /// When to retry.
    public private(set) var retryPolicy: RetryPolicy
    /// Client-side rate limits.
    public let pacer: RequestPacer
    /// The clock of backoff sleeps.
    public let clock: any PacingClock
    /// The whole-request deadline of one attempt.
    public let requestTimeout: Duration
    /// Headers added to every request (e.g. `x-moto-account-id` in tests).
    public private(set) var extraHeaders: [String: String]
    /// Where debug lines about requests go (secrets redacted).
    public let logger: Logger
    /// Counts every attempt, failed attempt and throttled answer (for the metrics file).
    public let metrics: AWSCallMetrics
    /// AWS's clock, from the `Date` header of every answer.
    public let serverClock: AWSServerClock
    /// The server clock offsets learned from answers (see ``awsNow()``).
    public let clockSkew: ClockSkew
    /// The retry quota shared by every call of this executor; `nil` when the policy has none.
    public let retryQuota: RetryQuota?
    let random: RandomSource
    let now: @Sendable () -> Date

    /// Creates an executor.
    public init(
        transport: any AWSTransport, endpoints: AWSEndpointResolver, retryPolicy: RetryPolicy = RetryPolicy(),
        pacer: RequestPacer = RequestPacer(), clock: any PacingClock = SystemPacingClock(),
        requestTimeout: Duration = .seconds(30), extraHeaders: [String: String] = [:],
        randomSeed: UInt64? = nil, logger: Logger = Logger(label: "transferkeyd.aws"),
        now: @escaping @Sendable () -> Date = { Date() }, metrics: AWSCallMetrics = AWSCallMetrics(),
        serverClock: AWSServerClock = AWSServerClock()
    ) {
        self.serverClock = serverClock
        self.transport = transport
        self.endpoints = endpoints
        self.retryPolicy = retryPolicy
        self.pacer = pacer
        self.clock = clock
        self.requestTimeout = requestTimeout
        self.extraHeaders = extraHeaders
        self.random = RandomSource(seed: randomSeed ?? UInt64.random(in: .min ... .max))
        self.logger = logger
        self.now = now
        self.metrics = metrics
        clockSkew = ClockSkew()
        retryQuota = retryPolicy.quotaCapacity.map { RetryQuota(capacity: $0) }
    }

    /// A copy that retries per `policy` (e.g. ``RetryPolicy/never`` for a call whose caller must see an
    /// ambiguous failure, such as a `CreateKey` that may have succeeded before it timed out).
    public func retrying(_ policy: RetryPolicy) -> AWSRequestExecutor {
        var copy = self
        copy.retryPolicy = policy
        return copy
    }

    /// AWS's current time as last seen: the local clock plus the offset of the most recent answer's `Date`
    /// header (the local clock until an answer arrived). Whole-second precision.
    public func awsNow() -> Date { now().addingTimeInterval(clockSkew.latestOffset) }

    /// A copy that adds `headers` to every request.
    public func adding(headers: [String: String]) -> AWSRequestExecutor {
        guard !headers.isEmpty else { return self }
        var copy = self
        copy.extraHeaders.merge(headers) { $1 }
        return copy
    }

    /// Sends one operation with retries and returns the successful response, or throws ``AWSError``.
    ///
    /// `credentials` nil sends the request unsigned (STS `AssumeRoleWithWebIdentity`).
    public func send(
        service: AWSService, operation: String, region: String, account: String,
        credentials: (any CredentialProvider)?, headers: [(name: String, value: String)], body: [UInt8],
        extraHeaders callHeaders: [String: String] = [:]
    ) async throws -> AWSHTTPResponse {
        let base = endpoints.endpoint(for: service, region: region)
        let host = Self.hostHeader(of: base)
        var attempt = 0
        var refreshedCredentials = false
        var correctedClock = false
        var lastRetryCost: Int?
        while true {
            try Task.checkCancellation()
            attempt += 1
            try await pacer.acquire(account: account, region: region, operation: operation)

            var requestHeaders: [(name: String, value: String)] = [("Host", host)] + headers
            for (name, value) in extraHeaders.merging(callHeaders, uniquingKeysWith: { $1 }).sorted(by: {
                $0.key < $1.key
            }) {
                requestHeaders.append((name, value))
            }
            var failure: AWSError?
            if let credentials {
                do {
                    let keys = try await credentials.credentials()
                    let signer = SigV4Signer(credentials: keys, region: region, service: service.signingName)
                    let signed = signer.sign(
                        SigV4Request(method: "POST", path: "/", headers: requestHeaders, body: body),
                        date: now().addingTimeInterval(clockSkew.offset(for: host)))
                    requestHeaders.append(contentsOf: signed.headersToAdd)
                } catch let error as AWSError {
                    throw error
                } catch let error as CredentialProviderError where error.isTransient {
                    // The credential source did not answer: retried like any transient failure.
                    failure = AWSError(
                        code: "CredentialSourceUnavailable", message: "\(error)", service: service.rawValue,
                        operation: operation, region: region, attempts: attempt)
                } catch let error as CancellationError {
                    throw error
                } catch {
                    throw AWSError(
                        code: "CredentialsUnavailable", message: "\(error)", service: service.rawValue,
                        operation: operation, region: region, attempts: attempt)
                }
            }
            if failure == nil {
                let request = AWSHTTPRequest(method: "POST", url: base + "/", headers: requestHeaders, body: body)
                if logger.logLevel <= .debug {
                    logger.debug(
                        "aws request",
                        metadata: [
                            "aws.service": "\(service.rawValue)", "aws.operation": "\(operation)",
                            "aws.region": "\(region)", "attempt": "\(attempt)",
                            "headers": "\(request.redactedHeaders.map { "\($0.name): \($0.value)" })",
                        ])
                }
                do {
                    let response = try await transport.send(request, timeout: requestTimeout)
                    serverClock.observe(dateHeader: response.header("Date"))
                    let skew = response.serverDate.map { clockSkew.record(host: host, serverDate: $0, localNow: now()) }
                    if response.isSuccess {
                        metrics.record(service: service.rawValue, operation: operation, errorCode: nil)
                        retryQuota?.release(refund: lastRetryCost)
                        return response
                    }
                    var decoded = AWSError.decode(
                        response, service: service.rawValue, operation: operation, region: region)
                    if AWSErrorCategory.clockSkewCodes.contains(decoded.code), let skew,
                        abs(skew) > ClockSkew.threshold
                    {
                        decoded.isClockSkew = true
                    }
                    failure = decoded
                } catch let error as AWSTransportError {
                    // Shutdown cancels the in-flight request: report cancellation, not a network failure.
                    if Task.isCancelled { throw CancellationError() }
                    failure = AWSError.transport(
                        error, service: service.rawValue, operation: operation, region: region)
                } catch let error as CancellationError {
                    throw error
                } catch {
                    failure = AWSError(
                        code: "NetworkError", message: "\(error)", service: service.rawValue, operation: operation,
                        region: region)
                }
            }

            guard var error = failure else { continue }
            error.attempts = attempt
            metrics.record(
                service: service.rawValue, operation: operation, errorCode: error.code,
                isThrottled: error.category == .throttled)
            if error.isClockSkew, !correctedClock {
                correctedClock = true
                attempt -= 1
                logger.warning(
                    "aws rejected the signing time: this host's clock is off; re-signing at AWS's time once",
                    metadata: [
                        "aws.operation": "\(operation)", "aws.code": "\(error.code)",
                        "offset_s": "\(Int(clockSkew.offset(for: host)))",
                    ])
                continue
            }
            if error.isExpiredCredentials, !error.isClockSkew, !refreshedCredentials, let credentials {
                refreshedCredentials = true
                await credentials.invalidate()
                attempt -= 1
                logger.info(
                    "aws credentials expired; refreshing once",
                    metadata: ["aws.operation": "\(operation)", "aws.code": "\(error.code)"])
                continue
            }
            var decision = random.withGenerator { retryPolicy.decision(after: error, attempt: attempt, using: &$0) }
            if case .retry = decision, let retryQuota {
                if let cost = retryQuota.acquire(timeout: RetryPolicy.isTimeout(error)) {
                    lastRetryCost = cost
                } else {
                    logger.debug(
                        "aws retry quota exhausted; not retrying",
                        metadata: ["aws.operation": "\(operation)", "aws.code": "\(error.code)"])
                    decision = .dontRetry
                }
            }
            switch decision {
            case .dontRetry:
                throw error
            case .retry(let wait):
                logger.debug(
                    "aws retry",
                    metadata: [
                        "aws.operation": "\(operation)", "aws.region": "\(region)", "aws.code": "\(error.code)",
                        "attempt": "\(attempt)",
                        "wait_ms":
                            "\(wait.components.seconds * 1000 + wait.components.attoseconds / 1_000_000_000_000_000)",
                    ])
                try await clock.sleep(for: wait)
            }
        }
    }

    /// `host[:port]` of a base URL such as `http://127.0.0.1:5000`.
    static func hostHeader(of base: String) -> String {
        var rest = Substring(base)
        if let scheme = rest.range(of: "://") { rest = rest[scheme.upperBound...] }
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        if base.hasPrefix("https://"), rest.hasSuffix(":443") { rest = rest.dropLast(4) }
        if base.hasPrefix("http://"), rest.hasSuffix(":80") { rest = rest.dropLast(3) }
        return String(rest)
    }
}

/// A seeded generator behind a lock, shared by concurrent retry loops.
final class RandomSource: @unchecked Sendable {
    private let lock = NSLock()
    private var generator: SplitMix64

    init(seed: UInt64) { generator = SplitMix64(seed: seed) }

    func withGenerator<T>(_ body: (inout SplitMix64) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&generator)
    }
}
