/// Tries providers in order and sticks with the first that yields credentials, like the AWS SDKs:
/// environment → shared-file profile → web identity → container → instance metadata.
public actor CredentialProviderChain: CredentialProvider {
    /// The providers, in order.
    public nonisolated let providers: [any CredentialProvider]
    private var chosen: (any CredentialProvider)?

    /// Creates a chain over `providers`.
    public init(_ providers: [any CredentialProvider]) { self.providers = providers }

    /// The SDK-order chain over an environment dictionary.
    public static func standard(
        environment: [String: String], executor: AWSRequestExecutor
    ) -> CredentialProviderChain {
        CredentialProviderChain([
            EnvironmentCredentialProvider(environment: environment),
            ProfileCredentialProvider(environment: environment, executor: executor),
            WebIdentityCredentialProvider(environment: environment, executor: executor),
            ContainerCredentialProvider(environment: environment, transport: executor.transport),
            InstanceMetadataCredentialProvider(environment: environment, transport: executor.transport),
        ])
    }

    /// `chain` before resolution; use ``resolvedSource()`` for the provider in use.
    public nonisolated var source: String { "credential chain" }

    /// The source of the provider that supplied credentials, resolving the chain if needed.
    public func resolvedSource() async throws -> String {
        _ = try await credentials()
        return chosen?.source ?? source
    }

    /// Credentials from the first provider that has them.
    public func credentials() async throws -> Credentials {
        if let chosen { return try await chosen.credentials() }
        var reasons: [String] = []
        for provider in providers {
            do {
                let credentials = try await provider.credentials()
                chosen = provider
                return credentials
            } catch let error as CredentialProviderError {
                reasons.append(error.description)
            } catch {
                reasons.append("\(provider.source): \(error)")
            }
        }
        throw CredentialProviderError(
            source: source,
            message: "no AWS credentials found; set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile, or a role ("
                + reasons.joined(separator: "; ") + ")")
    }

    /// Forgets the cached credentials of the chosen provider.
    public func invalidate() async { await chosen?.invalidate() }
}
