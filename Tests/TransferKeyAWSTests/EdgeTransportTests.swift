import Foundation
import Testing

@testable import TransferKeyAWS

/// RFC 1123 text of `date`, as an AWS `Date` header.
func httpDate(_ date: Date) -> String {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "GMT")
    formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
    return formatter.string(from: date)
}

/// The signing time of a request (`X-Amz-Date`).
func signingDate(_ request: AWSHTTPRequest) -> Date? {
    guard let text = request.headers.first(where: { $0.name == "X-Amz-Date" })?.value else { return nil }
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "UTC")
    formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
    return formatter.date(from: text)
}

@Suite("Clock skew: learned from Date, re-signed, retried once")
struct ClockSkewTests {
    /// A server whose clock is `offset` seconds ahead of this host's and that refuses signatures more than
    /// 5 minutes off with `code`.
    static func skewedServer(offset: TimeInterval, code: String, status: Int = 400) -> FakeTransport {
        FakeTransport { request, _ in
            let serverNow = Date().addingTimeInterval(offset)
            let headers = [(name: "Date", value: httpDate(serverNow))]
            guard let signed = signingDate(request), abs(signed.timeIntervalSince(serverNow)) < 300 else {
                return AWSHTTPResponse(
                    status: status, headers: headers, text: #"{"__type":"\#(code)","message":"Signature expired"}"#)
            }
            return AWSHTTPResponse(
                status: 200, headers: headers, text: #"{"KeyMetadata":{"KeyId":"k1","KeyState":"Enabled"}}"#)
        }
    }

    @Test(
        "a host clock 10 minutes off: the skew error teaches the offset, the request is re-signed and succeeds",
        arguments: ["RequestTimeTooSkewed", "InvalidSignatureException", "SignatureDoesNotMatch", "RequestExpired"])
    func correctsOnce(code: String) async throws {
        let transport = Self.skewedServer(offset: 600, code: code)
        let counter = CountingProvider()
        let client = AWSClient.fake(transport, maxAttempts: 1, credentials: counter)
        #expect(try await client.kms(region: "eu-west-1").describeKey(keyID: "k1").keyState == "Enabled")
        #expect(transport.requests.count == 2)
        #expect(counter.invalidations == 0, "a clock problem never refreshes the credentials")
        #expect(abs(client.awsNow().timeIntervalSinceNow - 600) < 5)
        // Later calls are signed at the corrected time straight away.
        _ = try await client.kms(region: "eu-west-1").describeKey(keyID: "k1")
        #expect(transport.requests.count == 3)
    }

    @Test("a skew the correction cannot fix surfaces as transient (a clock problem), not auth, after one retry")
    func persistentSkewIsTransient() async throws {
        let transport = FakeTransport { _, _ in
            AWSHTTPResponse(
                status: 403, headers: [("Date", httpDate(Date().addingTimeInterval(-900)))],
                text: #"{"__type":"InvalidSignatureException","message":"Signature expired"}"#)
        }
        let client = AWSClient.fake(transport, maxAttempts: 1)
        let error = await #expect(throws: AWSError.self) {
            try await client.kms(region: "eu-west-1").describeKey(keyID: "k1")
        }
        #expect(error?.isClockSkew == true)
        #expect(error?.category == .transient)
        #expect(error?.hint.contains("clock") == true)
        #expect(transport.requests.count == 2)
    }

    @Test("a bad signature with a correct clock stays an auth error and is not retried")
    func genuineBadSignature() async throws {
        let transport = FakeTransport { _, _ in
            AWSHTTPResponse(
                status: 400, headers: [("Date", httpDate(Date()))],
                text: #"{"__type":"InvalidSignatureException","message":"bad"}"#)
        }
        let error = await #expect(throws: AWSError.self) {
            try await AWSClient.fake(transport).kms(region: "eu-west-1").describeKey(keyID: "k1")
        }
        #expect(error?.category == .auth)
        #expect(transport.requests.count == 1)
        #expect(AWSFailureClass.of(code: "RequestExpired", httpStatus: 400).category == .transient)
        #expect(!AWSError(code: "RequestExpired", message: "", service: "kms", operation: "x").isExpiredCredentials)
    }

    @Test("every answer's Date is readable as serverDate, and awsNow follows the latest one")
    func serverDate() async throws {
        #expect(
            AWSHTTPResponse.parseHTTPDate("Sun, 06 Nov 1994 08:49:37 GMT")
                == Date(timeIntervalSince1970: 784_111_777))
        #expect(AWSHTTPResponse.parseHTTPDate("Sunday, 06-Nov-94 08:49:37 GMT") == nil)
        #expect(AWSHTTPResponse(status: 200, headers: [("date", "Tue, 01 Dec 2026 21:03:32 GMT")]).serverDate != nil)
        let transport = FakeTransport { _, _ in
            AWSHTTPResponse(
                status: 200, headers: [("Date", httpDate(Date().addingTimeInterval(-120)))],
                text: #"{"KeyMetadata":{"KeyId":"k1","KeyState":"Enabled"}}"#)
        }
        let client = AWSClient.fake(transport)
        #expect(abs(client.awsNow().timeIntervalSinceNow) < 1)
        _ = try await client.kms(region: "eu-west-1").describeKey(keyID: "k1")
        #expect(abs(client.awsNow().timeIntervalSinceNow + 120) < 3)
    }
}

@Suite("Standard retry mode")
struct StandardRetryTests {
    func error(_ code: String, _ status: Int?) -> AWSError {
        AWSError(code: code, message: "", httpStatus: status, service: "kms", operation: "x")
    }

    @Test("3 attempts by default (config and policy)")
    func defaults() {
        #expect(RetryPolicy().maxAttempts == 3)
        #expect(RetryPolicy().quotaCapacity == 500)
    }

    @Test(
        "what is retried: throttling, 500/502/503/504, connection failures, InvalidIdentityToken; not TLS, DNS, 501",
        arguments: [
            ("ThrottlingException", 400, true), ("KMSInternalException", 500, true), ("HTTP502", 502, true),
            ("ServiceUnavailable", 503, true), ("HTTP504", 504, true), ("HTTP501", 501, false),
            ("HTTP505", 505, false), ("InvalidIdentityToken", 400, true), ("IDPCommunicationError", 400, true),
            ("AccessDeniedException", 400, false),
        ] as [(String, Int, Bool)])
    func statuses(code: String, status: Int, retried: Bool) {
        #expect(RetryPolicy.isRetryable(error(code, status)) == retried)
    }

    @Test(
        "transport failures: connection problems are retried, certificate and name-resolution failures are not",
        arguments: [
            ("ConnectionRefused", true), ("ConnectionReset", true), ("ConnectTimeout", true), ("RequestTimeout", true),
            ("TLSFailure", false), ("NameResolutionFailure", false),
        ])
    func transport(code: String, retried: Bool) {
        #expect(RetryPolicy.isRetryable(error(code, nil)) == retried)
    }

    @Test("a name that does not resolve fails once with NameResolutionFailure, and a TLS failure once with TLSFailure")
    func realTransportClassification() async throws {
        let stub = try MetadataStub()
        defer { stub.stop() }
        let (dns, tls) = try await withHTTPTransport { transport in
            let client = AWSClient(
                environment: ["AWS_ENDPOINT_URL": "https://transferkeyd-test.invalid"],
                credentials: StaticCredentialProvider(Credentials(accessKeyID: "A", secretAccessKey: "S")),
                transport: transport, retryPolicy: RetryPolicy(baseDelay: .milliseconds(1)), quotas: .unlimited)
            let dns = await #expect(throws: AWSError.self) {
                try await client.kms(region: "eu-west-1").describeKey(keyID: "k")
            }
            // https to a plain-HTTP server: the handshake fails.
            let tlsClient = AWSClient(
                environment: ["AWS_ENDPOINT_URL": stub.baseURL.replacingOccurrences(of: "http:", with: "https:")],
                credentials: StaticCredentialProvider(Credentials(accessKeyID: "A", secretAccessKey: "S")),
                transport: transport, retryPolicy: RetryPolicy(baseDelay: .milliseconds(1)), quotas: .unlimited)
            let tls = await #expect(throws: AWSError.self) {
                try await tlsClient.kms(region: "eu-west-1").describeKey(keyID: "k")
            }
            return (dns, tls)
        }
        #expect(dns?.code == "NameResolutionFailure")
        #expect(dns?.attempts == 1)
        #expect(tls?.code == "TLSFailure")
        #expect(tls?.attempts == 1)
    }

    @Test("the retry quota: 5 tokens per retry, 10 per timeout, refunded on success; empty means no retry")
    func quota() async throws {
        let quota = RetryQuota(capacity: 12)
        #expect(quota.acquire(timeout: true) == 10)
        #expect(quota.acquire(timeout: false) == nil)
        quota.release(refund: 10)
        #expect(quota.tokens == 12)
        quota.release(refund: nil)
        #expect(quota.tokens == 12, "capped at capacity")

        let transport = FakeTransport { _, _ in
            AWSHTTPResponse(status: 503, text: #"{"__type":"ServiceUnavailable","message":"down"}"#)
        }
        let client = AWSClient(
            environment: ["AWS_ENDPOINT_URL": "http://aws.test"],
            credentials: StaticCredentialProvider(Credentials(accessKeyID: "A", secretAccessKey: "S")),
            transport: transport, retryPolicy: RetryPolicy(maxAttempts: 3, quotaCapacity: 15), quotas: .unlimited,
            clock: ManualClock(), randomSeed: 1)
        let kms = client.kms(region: "eu-west-1")
        _ = await #expect(throws: AWSError.self) { try await kms.describeKey(keyID: "k") }
        #expect(transport.requests.count == 3, "two retries: 10 of 15 tokens")
        _ = await #expect(throws: AWSError.self) { try await kms.describeKey(keyID: "k") }
        #expect(transport.requests.count == 5, "one retry left in the quota")
        _ = await #expect(throws: AWSError.self) { try await kms.describeKey(keyID: "k") }
        #expect(transport.requests.count == 6, "quota empty: no retry")
        #expect(client.executor.retryQuota?.tokens == 0)
    }
}

@Suite("STS partition and endpoints")
struct PartitionTests {
    static let stsAndKMS = FakeTransport { request, _ in
        FakeTransport.form(request)["Action"] == "AssumeRole"
            ? AWSHTTPResponse(status: 200, text: CredentialProviderTests.stsResponse)
            : AWSHTTPResponse(status: 200, text: #"{"KeyMetadata":{"KeyId":"k1","KeyState":"Enabled"}}"#)
    }

    /// The region of the credential scope the AssumeRole request was signed for.
    func assumeRoleScope(environmentRegion: String, callRegion: String) async throws -> String? {
        let transport = FakeTransport { request, _ in try await Self.stsAndKMS.send(request, timeout: .seconds(1)) }
        let client = AWSClient(
            environment: ["AWS_ENDPOINT_URL": "http://aws.test", "AWS_REGION": environmentRegion],
            credentials: StaticCredentialProvider(Credentials(accessKeyID: "A", secretAccessKey: "S")),
            transport: transport, quotas: .unlimited, clock: ManualClock(), randomSeed: 1)
        let account = AWSAccount(id: "111122223333", roleARN: "arn:aws-cn:iam::111122223333:role/R")
        _ = try await client.kms(account: account, region: callRegion).describeKey(keyID: "k1")
        let assume = transport.requests.first { FakeTransport.form($0)["Action"] == "AssumeRole" }
        let authorization = assume?.headers.first { $0.name == "Authorization" }?.value ?? ""
        return authorization.split(separator: "/").dropFirst(2).first.map(String.init)
    }

    @Test("roles of an aws-cn or GovCloud account are assumed in that partition's STS, others in AWS_REGION")
    func stsRegion() async throws {
        #expect(try await assumeRoleScope(environmentRegion: "us-east-1", callRegion: "cn-north-1") == "cn-north-1")
        #expect(
            try await assumeRoleScope(environmentRegion: "us-east-1", callRegion: "us-gov-west-1") == "us-gov-west-1")
        #expect(try await assumeRoleScope(environmentRegion: "us-east-1", callRegion: "eu-west-1") == "us-east-1")
        #expect(
            try await assumeRoleScope(environmentRegion: "cn-north-1", callRegion: "cn-northwest-1") == "cn-north-1")
    }

    @Test("us-iso* and eu-isoe regions resolve to their own DNS suffixes")
    func isolatedPartitions() {
        let resolver = AWSEndpointResolver(environment: [:])
        #expect(resolver.endpoint(for: .kms, region: "us-iso-east-1") == "https://kms.us-iso-east-1.c2s.ic.gov")
        #expect(resolver.endpoint(for: .sts, region: "us-isob-east-1") == "https://sts.us-isob-east-1.sc2s.sgov.gov")
        #expect(AWSEndpointResolver.partition(region: "us-isof-south-1") == "aws-iso-f")
        #expect(AWSEndpointResolver.partition(region: "eu-isoe-west-1") == "aws-iso-e")
    }
}

@Suite("Proxy variables and TLS")
struct ProxyTests {
    @Test("HTTPS_PROXY / HTTP_PROXY pick the proxy by scheme; NO_PROXY and loopback bypass it")
    func settings() throws {
        let settings = ProxySettings(environment: [
            "HTTPS_PROXY": "http://user:p%40ss@proxy.corp:3128", "http_proxy": "proxy.corp:8080",
            "NO_PROXY": "169.254.169.254, .internal,example.org",
        ])
        let https = try #require(settings.proxy(for: "https://kms.eu-west-1.amazonaws.com/"))
        #expect(https.host == "proxy.corp" && https.port == 3128)
        #expect(https.password == "p@ss")
        #expect(settings.proxy(for: "http://kms.test/")?.port == 8080)
        #expect(settings.proxy(for: "http://169.254.169.254/latest") == nil)
        #expect(settings.proxy(for: "https://vpce.kms.internal/") == nil)
        #expect(settings.proxy(for: "https://api.example.org/") == nil)
        #expect(settings.proxy(for: "https://example.org.evil/") != nil)
        #expect(settings.proxy(for: "http://127.0.0.1:5000/") == nil)
        #expect(ProxySettings(environment: ["NO_PROXY": "*", "HTTPS_PROXY": "p:1"]).proxy(for: "https://a/") == nil)
        #expect(ProxySettings(environment: ["HTTPS_PROXY": "socks5://p:1"]).https == nil)
    }

    @Test("a request to a name that does not resolve goes to HTTP_PROXY when one is set (CONNECT to the stub)")
    func throughProxy() async throws {
        let stub = try MetadataStub()
        defer { stub.stop() }
        let request = AWSHTTPRequest(method: "GET", url: "http://transferkeyd-test.invalid/nothing-here")
        func failure(_ environment: [String: String]) async throws -> AWSTransportError? {
            let transport = HTTPClientTransport(environment: environment)
            var failure: AWSTransportError?
            do {
                _ = try await transport.send(request, timeout: .seconds(5))
            } catch let error as AWSTransportError {
                failure = error
            }
            try await transport.shutdown()
            return failure
        }
        // Direct: the name does not resolve. Through the proxy: the stub (no CONNECT support) is what answers.
        #expect(try await failure([:])?.code == "NameResolutionFailure")
        let proxied = try await failure(["HTTP_PROXY": stub.baseURL])
        #expect(proxied?.message.contains("invalidProxyResponse") == true, "\(String(describing: proxied))")
        #expect(
            try await failure(["HTTP_PROXY": stub.baseURL, "NO_PROXY": ".invalid"])?.code == "NameResolutionFailure")
    }

    @Test("TLS below 1.2 is refused")
    func minimumTLS() {
        #expect(HTTPClientTransport.minimumTLSVersionName == "tlsv12")
    }
}
