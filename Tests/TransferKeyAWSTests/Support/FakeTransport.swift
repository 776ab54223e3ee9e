import Foundation
import TransferKeyAWS

/// An in-process ``AWSTransport``: answers with a closure and records every request.
final class FakeTransport: AWSTransport, @unchecked Sendable {
    typealias Handler = @Sendable (AWSHTTPRequest, Int) async throws -> AWSHTTPResponse
    private let lock = NSLock()
    private var recorded: [AWSHTTPRequest] = []
    private let handler: Handler

    /// `handler` gets the request and its 1-based sequence number.
    init(_ handler: @escaping Handler) { self.handler = handler }

    var requests: [AWSHTTPRequest] {
        lock.lock()
        defer { lock.unlock() }
        return recorded
    }

    func send(_ request: AWSHTTPRequest, timeout: Duration) async throws -> AWSHTTPResponse {
        let number: Int = {
            lock.lock()
            defer { lock.unlock() }
            recorded.append(request)
            return recorded.count
        }()
        return try await handler(request, number)
    }

    func shutdown() async throws {}

    /// The form parameters of a query-protocol request body.
    static func form(_ request: AWSHTTPRequest) -> [String: String] {
        var result: [String: String] = [:]
        for pair in String(decoding: request.body, as: UTF8.self).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let value = parts.count > 1 ? String(parts[1]).removingPercentEncoding ?? "" : ""
            result[String(parts[0]).removingPercentEncoding ?? ""] = value
        }
        return result
    }

    /// The JSON object of a JSON-protocol request body.
    static func json(_ request: AWSHTTPRequest) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(request.body))) as? [String: Any] ?? [:]
    }
}

/// A ``PacingClock`` whose sleeps return at once and advance its time, recording every wait.
final class ManualClock: PacingClock, @unchecked Sendable {
    private let lock = NSLock()
    private var current: Duration = .zero
    private var waits: [Duration] = []

    func now() -> Duration {
        lock.lock()
        defer { lock.unlock() }
        return current
    }

    func advance(by duration: Duration) {
        lock.lock()
        current += duration
        lock.unlock()
    }

    var sleeps: [Duration] {
        lock.lock()
        defer { lock.unlock() }
        return waits
    }

    func sleep(for duration: Duration) async throws {
        try Task.checkCancellation()
        lock.withLock {
            waits.append(duration)
            current += duration
        }
    }
}

extension AWSClient {
    /// A client over a fake transport with fixed credentials, a manual clock and a seeded generator.
    static func fake(
        _ transport: FakeTransport, clock: ManualClock = ManualClock(), maxAttempts: Int = 8,
        credentials: any CredentialProvider = StaticCredentialProvider(
            Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")),
        quotas: RequestQuotas = .unlimited
    ) -> AWSClient {
        AWSClient(
            environment: ["AWS_ENDPOINT_URL": "http://aws.test"], credentials: credentials, transport: transport,
            retryPolicy: RetryPolicy(maxAttempts: maxAttempts), quotas: quotas, clock: clock, randomSeed: 42)
    }
}
