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
        let call = Call(
            service: service, operation: operation, region: region, account: account, credentials: credentials,
            base: endpoints.endpoint(for: service, region: region),
            headers: headers + extraHeaders(with: callHeaders), body: body)
        var loop = RetryLoop()
        while true {
            try Task.checkCancellation()
            let number = loop.startAttempt()
            var error: AWSError
            switch try await attempt(call, number: number) {
            case .answered(let response):
                metrics.record(service: service.rawValue, operation: operation, errorCode: nil)
                retryQuota?.release(refund: loop.lastRetryCost)
                return response
            case .failed(let failure):
                error = failure
            }
            error.attempts = number
            metrics.record(
                service: service.rawValue, operation: operation, errorCode: error.code,
                isThrottled: error.category == .throttled)
            let next = random.withGenerator {
                loop.next(
                    after: error, canRefreshCredentials: credentials != nil, policy: retryPolicy, using: &$0)
            }
            try await perform(next, after: error, of: call, attempt: number, loop: &loop)
        }
    }

    /// The executor's extra headers and the call's (the call's win), sorted by name.
    func extraHeaders(with callHeaders: [String: String]) -> [(name: String, value: String)] {
        extraHeaders.merging(callHeaders, uniquingKeysWith: { $1 }).sorted(by: { $0.key < $1.key }).map {
            (name: $0.key, value: $0.value)
        }
    }

    /// Does what the loop decided after `error` ended attempt number `attempt`: logs a re-sign, refreshes the
    /// credentials, or pays for a retry and sleeps its backoff; throws `error` when the call gives up (or the
    /// quota cannot pay), and `CancellationError` when cancelled during the backoff.
    func perform(
        _ next: RetryLoop.Next, after error: AWSError, of call: Call, attempt: Int, loop: inout RetryLoop
    ) async throws {
        switch next {
        case .resignAtServerTime:
            logger.warning(
                "aws rejected the signing time: this host's clock is off; re-signing at AWS's time once",
                metadata: [
                    "aws.operation": "\(call.operation)", "aws.code": "\(error.code)",
                    "offset_s": "\(Int(clockSkew.offset(for: call.host)))",
                ])
        case .refreshCredentials:
            await call.credentials?.invalidate()
            logger.info(
                "aws credentials expired; refreshing once",
                metadata: ["aws.operation": "\(call.operation)", "aws.code": "\(error.code)"])
        case .retry(let wait):
            guard payForRetry(after: error, of: call, loop: &loop) else { throw error }
            Self.retryReporter?(
                RetryNotice(
                    operation: call.operation, region: call.region, code: error.code, nextAttempt: attempt + 1,
                    maxAttempts: retryPolicy.maxAttempts, wait: wait))
            logger.debug(
                "aws retry",
                metadata: [
                    "aws.operation": "\(call.operation)", "aws.region": "\(call.region)",
                    "aws.code": "\(error.code)", "attempt": "\(attempt)",
                    "wait_ms":
                        "\(wait.components.seconds * 1000 + wait.components.attoseconds / 1_000_000_000_000_000)",
                ])
            try await clock.sleep(for: wait)
        case .fail:
            throw error
        }
    }

    /// One call's fixed parts, the same for every attempt.
    struct Call {
        var service: AWSService
        var operation: String
        var region: String
        var account: String
        /// `nil` for an unsigned call.
        var credentials: (any CredentialProvider)?
        /// The endpoint, e.g. `https://kms.eu-west-1.amazonaws.com`.
        var base: String
        /// `host[:port]` of ``base``: the `Host` header, and the key of the learned clock offset.
        var host: String
        /// `Host`, the caller's headers, then the extra headers by name (before signing).
        var headers: [(name: String, value: String)]
        var body: [UInt8]

        init(
            service: AWSService, operation: String, region: String, account: String,
            credentials: (any CredentialProvider)?, base: String, headers: [(name: String, value: String)],
            body: [UInt8]
        ) {
            self.service = service
            self.operation = operation
            self.region = region
            self.account = account
            self.credentials = credentials
            self.base = base
            host = AWSRequestExecutor.hostHeader(of: base)
            self.headers = [(name: "Host", value: host)] + headers
            self.body = body
        }

        /// An error of this call.
        func error(code: String, message: String, attempts: Int = 1) -> AWSError {
            AWSError(
                code: code, message: message, service: service.rawValue, operation: operation, region: region,
                attempts: attempts)
        }
    }

    /// How one attempt ended.
    enum AttemptOutcome {
        /// AWS answered with success.
        case answered(AWSHTTPResponse)
        /// AWS refused, the network failed or the credential source did not answer (the loop decides what next).
        case failed(AWSError)
    }

    /// One attempt: wait for the pacer, sign with the current credentials, send, classify the answer. Throws only
    /// what ends the call at once (cancellation, unusable credentials); every other failure is `.failed`.
    func attempt(_ call: Call, number: Int) async throws -> AttemptOutcome {
        try await pacer.acquire(account: call.account, region: call.region, operation: call.operation)
        var headers = call.headers
        if let credentials = call.credentials {
            switch try await signingHeaders(for: call, by: credentials, attempt: number) {
            case .success(let added): headers.append(contentsOf: added)
            case .failure(let error): return .failed(error)
            }
        }
        let request = AWSHTTPRequest(method: "POST", url: call.base + "/", headers: headers, body: call.body)
        return try await transmit(request, for: call, attempt: number)
    }

    /// The SigV4 headers of `call`, signed at the time of its endpoint (local time plus the learned offset);
    /// a failure when the credential source did not answer (retried like any transient failure).
    func signingHeaders(
        for call: Call, by credentials: any CredentialProvider, attempt: Int
    ) async throws -> Result<[(name: String, value: String)], AWSError> {
        do {
            let keys = try await credentials.credentials()
            let signer = SigV4Signer(credentials: keys, region: call.region, service: call.service.signingName)
            let signed = signer.sign(
                SigV4Request(method: "POST", path: "/", headers: call.headers, body: call.body),
                date: now().addingTimeInterval(clockSkew.offset(for: call.host)))
            return .success(signed.headersToAdd)
        } catch let error as AWSError {
            throw error
        } catch let error as CredentialProviderError where error.isTransient {
            return .failure(call.error(code: "CredentialSourceUnavailable", message: "\(error)", attempts: attempt))
        } catch let error as CancellationError {
            throw error
        } catch {
            throw call.error(code: "CredentialsUnavailable", message: "\(error)", attempts: attempt)
        }
    }

    /// Sends `request` once: the classified answer, or the network failure. Throws only on cancellation.
    func transmit(_ request: AWSHTTPRequest, for call: Call, attempt: Int) async throws -> AttemptOutcome {
        if logger.logLevel <= .debug {
            logger.debug(
                "aws request",
                metadata: [
                    "aws.service": "\(call.service.rawValue)", "aws.operation": "\(call.operation)",
                    "aws.region": "\(call.region)", "attempt": "\(attempt)",
                    "headers": "\(request.redactedHeaders.map { "\($0.name): \($0.value)" })",
                ])
        }
        do {
            let response = try await transport.send(request, timeout: requestTimeout)
            return classify(response, for: call)
        } catch let error as AWSTransportError {
            // Shutdown cancels the in-flight request: report cancellation, not a network failure.
            if Task.isCancelled { throw CancellationError() }
            return .failed(
                AWSError.transport(
                    error, service: call.service.rawValue, operation: call.operation, region: call.region))
        } catch let error as CancellationError {
            throw error
        } catch {
            return .failed(call.error(code: "NetworkError", message: "\(error)"))
        }
    }

    /// Learns AWS's time from the answer's `Date`, then: a success, or AWS's error, marked as clock skew when it
    /// refused the signing time and the clock is more than ``ClockSkew/threshold`` off.
    func classify(_ response: AWSHTTPResponse, for call: Call) -> AttemptOutcome {
        // The Date header, parsed once for both clocks.
        let serverDate = response.serverDate
        if let serverDate { serverClock.observe(headerDate: serverDate) }
        let skew = serverDate.map { clockSkew.record(host: call.host, serverDate: $0, localNow: now()) }
        if response.isSuccess { return .answered(response) }
        var error = AWSError.decode(
            response, service: call.service.rawValue, operation: call.operation, region: call.region)
        if AWSErrorCategory.clockSkewCodes.contains(error.code), let skew, abs(skew) > ClockSkew.threshold {
            error.isClockSkew = true
        }
        return .failed(error)
    }

    /// Takes the cost of a retry from the quota (remembered in `loop` for the refund); false, with a debug line,
    /// when the quota is empty. Always true without a quota.
    func payForRetry(after error: AWSError, of call: Call, loop: inout RetryLoop) -> Bool {
        guard let retryQuota else { return true }
        guard let cost = retryQuota.acquire(timeout: RetryPolicy.isTimeout(error)) else {
            logger.debug(
                "aws retry quota exhausted; not retrying",
                metadata: ["aws.operation": "\(call.operation)", "aws.code": "\(error.code)"])
            return false
        }
        loop.paidRetry(cost: cost)
        return true
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

/// A retry about to happen, for a command that shows it to a person (`create` on a terminal).
public struct RetryNotice: Sendable {
    public var operation: String
    public var region: String
    public var code: String
    public var nextAttempt: Int
    public var maxAttempts: Int
    public var wait: Duration
}

extension AWSRequestExecutor {
    /// Told of every retry of the calls made in its scope (a task-local: `create` sets it on a terminal, so a
    /// person sees why nothing happens during an outage); nil elsewhere (the daemon logs them at debug level).
    @TaskLocal public static var retryReporter: (@Sendable (RetryNotice) -> Void)?
}
