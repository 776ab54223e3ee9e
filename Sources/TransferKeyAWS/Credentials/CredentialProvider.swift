/// A source of AWS credentials (environment, shared files, web identity, container, instance metadata, a role).
public protocol CredentialProvider: Sendable {
    /// Where the credentials come from, for `transferkeyd check`, e.g. `environment` or `shared-file profile ops`.
    var source: String { get }

    /// Current credentials; refreshed by the provider before they expire.
    ///
    /// Throws ``CredentialProviderError`` with `isNotConfigured` when this source is simply not set up here.
    func credentials() async throws -> Credentials

    /// Forgets cached credentials, so the next call fetches fresh ones (after an `ExpiredToken` error).
    func invalidate() async
}

extension CredentialProvider {
    /// Nothing to forget by default.
    public func invalidate() async {}
}
