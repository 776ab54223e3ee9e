import Foundation

/// ECS/EKS-Pod-Identity container credentials: `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` against 169.254.170.2,
/// or `AWS_CONTAINER_CREDENTIALS_FULL_URI` with `AWS_CONTAINER_AUTHORIZATION_TOKEN` / `_TOKEN_FILE`.
public struct ContainerCredentialProvider: CredentialProvider {
    private let url: String?
    private let relativeURIHost: String
    private let authorizationToken: String?
    private let authorizationTokenFile: String?
    private let transport: any AWSTransport
    private let timeout: Duration
    private let cache: CredentialCache

    /// Creates the provider. `relativeURIHost` is the ECS agent's address (overridable for tests).
    public init(
        environment: [String: String], transport: any AWSTransport, timeout: Duration = .seconds(2),
        relativeURIHost: String = "http://169.254.170.2"
    ) {
        if let relative = environment["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"], !relative.isEmpty {
            url = relativeURIHost + (relative.hasPrefix("/") ? relative : "/" + relative)
        } else if let full = environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"], !full.isEmpty {
            url = full
        } else {
            url = nil
        }
        self.relativeURIHost = relativeURIHost
        authorizationToken = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        authorizationTokenFile = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"].flatMap {
            $0.isEmpty ? nil : $0
        }
        self.transport = transport
        self.timeout = timeout
        cache = CredentialCache()
    }

    /// `container credentials`.
    public var source: String { "container credentials" }

    /// Credentials from the container agent.
    public func credentials() async throws -> Credentials {
        guard let url else {
            throw CredentialProviderError(
                source: source, message: "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI/FULL_URI are not set",
                isNotConfigured: true)
        }
        guard url.hasPrefix("https://") || url.hasPrefix(relativeURIHost) || Self.isAllowedPlainHTTP(url) else {
            throw CredentialProviderError(
                source: source,
                message: "AWS_CONTAINER_CREDENTIALS_FULL_URI must be https or a loopback/ECS/EKS agent address")
        }
        let source = self.source
        return try await cache.credentials {
            [transport, timeout, authorizationToken, authorizationTokenFile] in
            var headers: [(name: String, value: String)] = []
            if let authorizationTokenFile,
                let data = FileManager.default.contents(atPath: authorizationTokenFile)
            {
                let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                headers.append(("Authorization", token))
            } else if let authorizationToken {
                headers.append(("Authorization", authorizationToken))
            }
            let response: AWSHTTPResponse
            do {
                response = try await transport.send(
                    AWSHTTPRequest(method: "GET", url: url, headers: headers), timeout: timeout)
            } catch {
                throw CredentialProviderError(source: source, message: "the container agent did not answer: \(error)")
            }
            guard response.isSuccess else {
                throw CredentialProviderError(
                    source: source, message: "the container agent answered HTTP \(response.status)")
            }
            return try MetadataCredentialsDocument.decode(response.body, source: source)
        }
    }

    /// Plain HTTP is only trusted towards this host: loopback, or the ECS / EKS Pod Identity agents (as the SDKs do).
    static func isAllowedPlainHTTP(_ url: String) -> Bool {
        guard url.hasPrefix("http://") else { return false }
        var host = Substring(url.dropFirst("http://".count))
        if let end = host.firstIndex(where: { $0 == "/" || $0 == "?" }) { host = host[..<end] }
        if host.hasPrefix("[") {
            return host.hasPrefix("[::1]")
        }
        if let colon = host.lastIndex(of: ":") { host = host[..<colon] }
        return host == "localhost" || host.hasPrefix("127.") || host == "169.254.170.2" || host == "169.254.170.23"
    }

    /// Forgets the cached credentials.
    public func invalidate() async { await cache.invalidate() }
}
