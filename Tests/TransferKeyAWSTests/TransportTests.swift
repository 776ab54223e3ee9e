import Foundation
import Logging
import Testing

@testable import TransferKeyAWS

@Suite("Transport failures and log redaction")
struct TransportTests {
    @Test("a refused connection is transient, retried, and surfaces as ConnectionRefused")
    func connectionRefused() async throws {
        let client = AWSClient(
            environment: ["AWS_ENDPOINT_URL": "http://127.0.0.1:1"],
            credentials: StaticCredentialProvider(Credentials(accessKeyID: "AKID", secretAccessKey: "S")),
            transport: HTTPClientTransport(connectTimeout: .seconds(1)),
            retryPolicy: RetryPolicy(maxAttempts: 2, baseDelay: .milliseconds(1), maxDelay: .milliseconds(5)),
            quotas: .unlimited, requestTimeout: .seconds(3), randomSeed: 9)
        let error = try await using(client) { aws in
            await #expect(throws: AWSError.self) { try await aws.kms(region: "eu-west-1").describeKey(keyID: "k") }
        }
        #expect(error?.code == "ConnectionRefused" || error?.code == "ConnectTimeout")
        #expect(error?.category == .transient)
        #expect(error?.httpStatus == nil)
        #expect(error?.attempts == 2)
    }

    @Test("missing credentials surface as an auth error that says what to set")
    func missingCredentials() async throws {
        let transport = FakeTransport { _, _ in AWSHTTPResponse(status: 200, text: "{}") }
        let client = AWSClient(
            environment: [
                "AWS_ENDPOINT_URL": "http://aws.test", "HOME": "/nonexistent", "AWS_EC2_METADATA_DISABLED": "true",
            ], transport: transport, quotas: .unlimited)
        let error = await #expect(throws: AWSError.self) {
            try await client.kms(region: "eu-west-1").describeKey(keyID: "k")
        }
        #expect(error?.code == "CredentialsUnavailable")
        #expect(error?.category == .auth)
        #expect(error?.message.contains("AWS_ACCESS_KEY_ID") == true)
        #expect(transport.requests.isEmpty)
    }

    @Test("debug logging of requests never shows the signature, the session token or the secret")
    func debugLogIsRedacted() async throws {
        let sink = LogSink()
        var logger = Logger(label: "test") { _ in sink }
        logger.logLevel = .debug
        let credentials = Credentials(
            accessKeyID: "ASIAEXAMPLE", secretAccessKey: "SECRET-KEY-VALUE", sessionToken: "SESSION-TOKEN-VALUE")
        let transport = FakeTransport { _, number in
            number == 1
                ? AWSHTTPResponse(status: 400, text: #"{"__type":"ThrottlingException","message":"slow down"}"#)
                : AWSHTTPResponse(status: 200, text: #"{"KeyMetadata":{"KeyId":"k"}}"#)
        }
        let client = AWSClient(
            environment: ["AWS_ENDPOINT_URL": "http://aws.test"], credentials: StaticCredentialProvider(credentials),
            transport: transport, retryPolicy: RetryPolicy(throttledBaseDelay: .milliseconds(1)), quotas: .unlimited,
            logger: logger)
        _ = try await client.kms(region: "eu-west-1").describeKey(keyID: "k")
        let signature = try #require(transport.requests.first?.header("Authorization")?.split(separator: "=").last)
        let text = sink.text
        #expect(text.contains("aws request"))
        #expect(text.contains("<redacted>"))
        #expect(text.contains("ThrottlingException"))
        #expect(!text.contains(signature))
        #expect(!text.contains("SESSION-TOKEN-VALUE"))
        #expect(!text.contains("SECRET-KEY-VALUE"))
    }
}

/// A swift-log handler that keeps every line with its metadata.
final class LogSink: LogHandler, @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    var text: String { lock.withLock { lines.joined(separator: "\n") } }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let rendered = "\(event.message) \(event.metadata ?? [:])"
        lock.withLock { lines.append(rendered) }
    }
}
