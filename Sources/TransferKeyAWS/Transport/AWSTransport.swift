/// Sends HTTP requests; the AWS clients use it so tests can inject an in-process fake.
public protocol AWSTransport: Sendable {
    /// Sends `request` and returns the whole response, or throws ``AWSTransportError`` when no response arrived
    /// within `timeout`.
    func send(_ request: AWSHTTPRequest, timeout: Duration) async throws -> AWSHTTPResponse

    /// Closes pooled connections; no request may be sent afterwards.
    func shutdown() async throws
}
