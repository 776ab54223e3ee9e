import Foundation

/// EC2 instance-profile credentials through IMDSv2: `PUT /latest/api/token`, then
/// `GET /latest/meta-data/iam/security-credentials/` and `/<role>`, each with a ~1 s timeout and up to 3 tries.
///
/// The endpoint is `AWS_EC2_METADATA_SERVICE_ENDPOINT` or `http://169.254.169.254`;
/// `AWS_EC2_METADATA_DISABLED=true` turns the provider off.
public struct InstanceMetadataCredentialProvider: CredentialProvider {
    private let endpoint: String
    private let isDisabled: Bool
    private let transport: any AWSTransport
    private let timeout: Duration
    private let cache: CredentialCache

    /// Creates the provider from an environment dictionary.
    public init(environment: [String: String], transport: any AWSTransport, timeout: Duration = .seconds(1)) {
        var endpoint =
            environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 }
            ?? "http://169.254.169.254"
        if endpoint.hasSuffix("/") { endpoint.removeLast() }
        self.endpoint = endpoint
        isDisabled = environment["AWS_EC2_METADATA_DISABLED"]?.lowercased() == "true"
        self.transport = transport
        self.timeout = timeout
        cache = CredentialCache()
    }

    /// `instance metadata`.
    public var source: String { "instance metadata" }

    /// The instance profile's credentials.
    public func credentials() async throws -> Credentials {
        guard !isDisabled else {
            throw CredentialProviderError(
                source: source, message: "AWS_EC2_METADATA_DISABLED is true", isNotConfigured: true)
        }
        let source = self.source
        return try await cache.credentials { [transport, timeout, endpoint] in
            let fetcher = CredentialSourceFetch(transport: transport, timeout: timeout)
            func fetch(_ method: String, _ path: String, _ headers: [(name: String, value: String)]) async throws
                -> String
            {
                let response: AWSHTTPResponse
                do {
                    response = try await fetcher.send(
                        AWSHTTPRequest(method: method, url: endpoint + path, headers: headers), source: source,
                        what: "instance metadata (not on EC2?)")
                } catch var error as CredentialProviderError {
                    // Not on EC2 looks the same as a blip: the chain moves on (IMDS is its last source), while a
                    // daemon that already uses instance credentials keeps them and retries later.
                    error.isNotConfigured = true
                    throw error
                }
                guard response.isSuccess else {
                    throw CredentialProviderError(
                        source: source, message: "instance metadata answered HTTP \(response.status) to \(path)")
                }
                return String(decoding: response.body, as: UTF8.self)
            }
            let token = try await fetch("PUT", "/latest/api/token", [("X-aws-ec2-metadata-token-ttl-seconds", "21600")])
            let auth = [(name: "X-aws-ec2-metadata-token", value: token)]
            let roles = try await fetch("GET", "/latest/meta-data/iam/security-credentials/", auth)
            guard let role = roles.split(whereSeparator: \.isNewline).first.map(String.init), !role.isEmpty else {
                throw CredentialProviderError(source: source, message: "the instance has no IAM role attached")
            }
            let document = try await fetch("GET", "/latest/meta-data/iam/security-credentials/\(role)", auth)
            return try MetadataCredentialsDocument.decode(Array(document.utf8), source: source)
        }
    }

    /// Forgets the cached credentials.
    public func invalidate() async { await cache.invalidate() }
}
