/// One HTTP GET/PUT to a local credential source (instance metadata, the container agent), retried like the SDKs:
/// up to `attempts` tries with a short doubling pause when no answer arrives or the source answers 5xx/429.
///
/// A source that still does not answer gives a ``CredentialProviderError`` marked `isTransient`, so the request
/// that needed credentials is retried later instead of being treated as refused.
struct CredentialSourceFetch: Sendable {
    let transport: any AWSTransport
    let timeout: Duration
    let attempts: Int
    let pause: Duration

    init(transport: any AWSTransport, timeout: Duration, attempts: Int = 3, pause: Duration = .milliseconds(100)) {
        self.transport = transport
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self.pause = pause
    }

    /// The response, or a transient error naming `source` and `what` after the last attempt.
    func send(_ request: AWSHTTPRequest, source: String, what: String) async throws -> AWSHTTPResponse {
        var wait = pause
        var lastProblem = ""
        for attempt in 1...attempts {
            do {
                let response = try await transport.send(request, timeout: timeout)
                if response.status >= 500 || response.status == 429 {
                    lastProblem = "answered HTTP \(response.status)"
                } else {
                    return response
                }
            } catch let error as CancellationError {
                throw error
            } catch {
                lastProblem = "did not answer (\(error))"
            }
            if attempt < attempts {
                try await Task.sleep(for: wait)
                wait = wait * 2
            }
        }
        throw CredentialProviderError(
            source: source, message: "\(what) \(lastProblem) after \(attempts) attempts", isTransient: true)
    }
}
