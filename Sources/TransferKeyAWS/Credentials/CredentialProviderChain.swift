/// Tries providers in order and sticks with the first that yields credentials, like the AWS SDKs:
/// environment → web identity (`AWS_WEB_IDENTITY_TOKEN_FILE`) → shared-file profile → container → instance
/// metadata.
///
/// Only a source that is *not configured* here is skipped; any other failure (half-set keys, an unsupported
/// profile, a failing `credential_process`, an unreadable token file) stops the chain with that error, so the
/// daemon never runs silently under another identity.
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
            WebIdentityCredentialProvider(environment: environment, executor: executor),
            ProfileCredentialProvider(environment: environment, executor: executor),
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
        var isTransient = false
        for provider in providers {
            do {
                let credentials = try await provider.credentials()
                chosen = provider
                return credentials
            } catch let error as CredentialProviderError where error.isNotConfigured {
                reasons.append(error.description)
                isTransient = isTransient || error.isTransient
            }
        }
        throw CredentialProviderError(
            source: source,
            message: "no AWS credentials found; set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile, or a role ("
                + reasons.joined(separator: "; ") + ")", isTransient: isTransient)
    }

    /// Forgets the cached credentials of the chosen provider.
    public func invalidate() async { await chosen?.invalidate() }
}
