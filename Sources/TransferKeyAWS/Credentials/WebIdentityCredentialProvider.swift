import Foundation

/// Credentials from `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN` [+ `AWS_ROLE_SESSION_NAME`] via
/// STS `AssumeRoleWithWebIdentity` (EKS IRSA and similar); the token file is re-read at every refresh.
public struct WebIdentityCredentialProvider: CredentialProvider {
    private let tokenFile: String?
    private let roleARN: String?
    private let sessionName: String?
    private let sts: STSClient
    private let cache: CredentialCache

    private let origin: String

    /// Creates the provider from an environment dictionary.
    public init(environment: [String: String], executor: AWSRequestExecutor) {
        self.init(
            tokenFile: environment["AWS_WEB_IDENTITY_TOKEN_FILE"], roleARN: environment["AWS_ROLE_ARN"],
            sessionName: environment["AWS_ROLE_SESSION_NAME"],
            region: environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"] ?? "us-east-1",
            executor: executor, origin: "AWS_WEB_IDENTITY_TOKEN_FILE")
    }

    /// Creates the provider from explicit settings (a profile's `web_identity_token_file` and `role_arn`);
    /// `origin` names the setting in errors.
    public init(
        tokenFile: String?, roleARN: String?, sessionName: String?, region: String, executor: AWSRequestExecutor,
        origin: String
    ) {
        self.tokenFile = tokenFile.flatMap { $0.isEmpty ? nil : $0 }
        self.roleARN = roleARN.flatMap { $0.isEmpty ? nil : $0 }
        self.sessionName = sessionName.flatMap { $0.isEmpty ? nil : $0 }
        self.origin = origin
        sts = STSClient(executor: executor, region: region, credentials: nil)
        cache = CredentialCache()
    }

    /// `web identity <role>`.
    public var source: String { "web identity \(roleARN ?? "(no role)")" }

    /// Role credentials for the token in the file.
    ///
    /// Not configured when no token file is named; a token file without a role is an error.
    public func credentials() async throws -> Credentials {
        guard let tokenFile else {
            throw CredentialProviderError(
                source: source, message: "AWS_WEB_IDENTITY_TOKEN_FILE is not set", isNotConfigured: true)
        }
        guard let roleARN else {
            throw CredentialProviderError(
                source: source, message: "\(origin) is set but no role ARN is: set AWS_ROLE_ARN (or role_arn)")
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
