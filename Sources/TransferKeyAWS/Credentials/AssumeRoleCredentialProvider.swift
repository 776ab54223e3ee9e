import Foundation

/// Credentials of a role in another account, assumed with STS from base credentials, cached and refreshed
/// before they expire (by default 5 minutes ahead) by one ``CredentialCache`` actor.
public struct AssumeRoleCredentialProvider: CredentialProvider {
    /// The role assumed.
    public let roleARN: String
    /// The external id the role's trust policy may demand.
    public let externalID: String?
    /// The session lifetime asked for.
    public let durationSeconds: Int?
    /// The base credentials that call STS.
    public let base: any CredentialProvider
    let sts: STSClient
    let sessionAccount: String
    let cache: CredentialCache
    let now: @Sendable () -> Date

    /// Creates the provider. `stsRegion` picks the regional STS endpoint.
    public init(
        roleARN: String, externalID: String? = nil, durationSeconds: Int? = nil, base: any CredentialProvider,
        executor: AWSRequestExecutor, stsRegion: String, refreshMargin: TimeInterval = 300,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.roleARN = roleARN
        self.externalID = externalID
        self.durationSeconds = durationSeconds
        self.base = base
        let account = Self.account(of: roleARN) ?? "unknown"
        sessionAccount = account
        sts = STSClient(executor: executor, region: stsRegion, accountID: account, credentials: base)
        cache = CredentialCache(refreshMargin: refreshMargin, now: now)
        self.now = now
    }

    /// `role <arn> via <base source>`.
    public var source: String { "role \(roleARN) via \(base.source)" }

    /// Cached role credentials, refreshed ahead of expiry; concurrent callers share one `AssumeRole`.
    public func credentials() async throws -> Credentials {
        try await cache.credentials { [sts, roleARN, externalID, durationSeconds, sessionAccount, now] in
            try await sts.assumeRole(
                roleARN: roleARN, sessionName: STSClient.sessionName(account: sessionAccount, now: now()),
                externalID: externalID, durationSeconds: durationSeconds
            ).credentials
        }
    }

    /// Drops the cached role credentials (and the base provider's).
    public func invalidate() async {
        await cache.invalidate()
        await base.invalidate()
    }

    /// The account id inside an IAM role ARN (`arn:aws:iam::111122223333:role/Name`).
    public static func account(of roleARN: String) -> String? {
        let parts = roleARN.split(separator: ":", omittingEmptySubsequences: false)
        return parts.count >= 5 && !parts[4].isEmpty ? String(parts[4]) : nil
    }
}
