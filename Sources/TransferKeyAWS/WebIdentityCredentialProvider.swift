import Foundation

/// Credentials from `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN` [+ `AWS_ROLE_SESSION_NAME`] via
/// STS `AssumeRoleWithWebIdentity` (EKS IRSA and similar); the token file is re-read at every refresh.
public struct WebIdentityCredentialProvider: CredentialProvider {
    private let tokenFile: String?
    private let roleARN: String?
    private let sessionName: String?
    private let sts: STSClient
    private let cache: CredentialCache

    /// Creates the provider from an environment dictionary.
    public init(environment: [String: String], executor: AWSRequestExecutor) {
        tokenFile = environment["AWS_WEB_IDENTITY_TOKEN_FILE"].flatMap { $0.isEmpty ? nil : $0 }
        roleARN = environment["AWS_ROLE_ARN"].flatMap { $0.isEmpty ? nil : $0 }
        sessionName = environment["AWS_ROLE_SESSION_NAME"].flatMap { $0.isEmpty ? nil : $0 }
        let region = environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"] ?? "us-east-1"
        sts = STSClient(executor: executor, region: region, credentials: nil)
        cache = CredentialCache()
    }

    /// `web identity <role>`.
    public var source: String { "web identity \(roleARN ?? "(no role)")" }

    /// Role credentials for the token in the file.
    public func credentials() async throws -> Credentials {
        guard let tokenFile, let roleARN else {
            throw CredentialProviderError(
                source: source, message: "AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN are not both set",
                isNotConfigured: true)
        }
        let source = self.source
        return try await cache.credentials { [sts, sessionName] in
            guard let data = FileManager.default.contents(atPath: tokenFile) else {
                throw CredentialProviderError(
                    source: source, message: "cannot read the token file \(tokenFile): check the path and permissions")
            }
            let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            return try await sts.assumeRoleWithWebIdentity(
                roleARN: roleARN,
                sessionName: sessionName
                    ?? STSClient.sessionName(account: AssumeRoleCredentialProvider.account(of: roleARN) ?? "web"),
                webIdentityToken: token
            ).credentials
        }
    }

    /// Forgets the cached credentials.
    public func invalidate() async { await cache.invalidate() }
}
