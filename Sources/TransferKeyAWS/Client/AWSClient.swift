import Foundation
import Logging

/// The AWS façade the daemon holds: one transport (connection pool), the base credential chain, the retry policy
/// and the pacer, shared by every per-account, per-region service client.
///
/// Create one per process and call ``shutdown()`` before exit:
/// ```swift
/// let aws = AWSClient(environment: ProcessInfo.processInfo.environment)
/// defer { try? await aws.shutdown() }
/// let kms = aws.kms(account: AWSAccount(id: "111122223333", roleARN: role), region: "eu-west-1")
/// let result = try await kms.scheduleKeyDeletion(keyID: keyID, pendingWindowDays: 7)
/// ```
public final class AWSClient: Sendable {
    /// Signs, paces, sends and retries.
    public let executor: AWSRequestExecutor
    /// The base credentials (the SDK-order chain unless injected).
    public let baseCredentials: any CredentialProvider
    /// The environment's region (`AWS_REGION`, else `AWS_DEFAULT_REGION`, else us-east-1): where account roles
    /// are assumed when the account's region is in the same partition (see ``stsRegion(for:)``).
    public let stsRegion: String
    private let roleProviders: RoleProviderRegistry

    /// Creates the client.
    ///
    /// - Parameters:
    ///   - environment: the process environment (credentials, endpoints, profiles); injected for tests.
    ///   - configEndpointURL: the config file's `[aws] endpoint_url`, beaten by `AWS_ENDPOINT_URL*`.
    ///   - credentials: base credentials; `nil` builds ``CredentialProviderChain/standard(environment:executor:)``.
    ///   - transport: `nil` creates an ``HTTPClientTransport``.
    ///   - metrics: where every attempt is counted (``executor``'s `metrics`).
    public init(
        environment: [String: String], configEndpointURL: String? = nil, credentials: (any CredentialProvider)? = nil,
        transport: (any AWSTransport)? = nil, retryPolicy: RetryPolicy = RetryPolicy(),
        quotas: RequestQuotas = RequestQuotas(), clock: any PacingClock = SystemPacingClock(),
        requestTimeout: Duration = .seconds(30), extraHeaders: [String: String] = [:], randomSeed: UInt64? = nil,
        logger: Logger = Logger(label: "transferkeyd.aws"), metrics: AWSCallMetrics = AWSCallMetrics()
    ) {
        let executor = AWSRequestExecutor(
            transport: transport ?? HTTPClientTransport(environment: environment),
            endpoints: AWSEndpointResolver(environment: environment, configEndpointURL: configEndpointURL),
            retryPolicy: retryPolicy, pacer: RequestPacer(quotas: quotas, clock: clock), clock: clock,
            requestTimeout: requestTimeout, extraHeaders: extraHeaders, randomSeed: randomSeed, logger: logger,
            metrics: metrics)
        self.executor = executor
        baseCredentials = credentials ?? CredentialProviderChain.standard(environment: environment, executor: executor)
        stsRegion = environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"] ?? "us-east-1"
        roleProviders = RoleProviderRegistry()
    }

    /// AWS's current time as last seen in an answer's `Date` header (the local clock until one arrived).
    public func awsNow() -> Date { executor.awsNow() }

    /// The STS region that assumes roles for calls in `region`: the environment's region when it is in the
    /// same partition (aws, aws-cn, aws-us-gov, aws-iso…), else `region` itself, so an aws-cn or GovCloud account
    /// never asks the commercial STS. `transferkeyd check` uses the same rule.
    public func stsRegion(for region: String) -> String {
        AWSEndpointResolver.partition(region: stsRegion) == AWSEndpointResolver.partition(region: region)
            ? stsRegion : region
    }

    /// The credentials used in `account` for calls in `region`: the base credentials, or a cached
    /// ``AssumeRoleCredentialProvider`` for the account's role (one per role and STS region, so in practice one
    /// per role, shared by every region of a partition).
    public func credentials(for account: AWSAccount?, region: String? = nil) -> any CredentialProvider {
        guard let account, let roleARN = account.roleARN else { return baseCredentials }
        let sts = region.map(stsRegion(for:)) ?? stsRegion
        return roleProviders.provider(for: account, stsRegion: sts) {
            AssumeRoleCredentialProvider(
                roleARN: roleARN, externalID: account.externalID, base: baseCredentials, executor: executor,
                stsRegion: sts)
        }
    }

    /// Where the credentials for `account` come from, e.g. `environment` or
    /// `role arn:aws:iam::1111…:role/R via shared-file profile ops`; resolves the chain (for `transferkeyd check`).
    public func credentialSource(for account: AWSAccount? = nil) async throws -> String {
        let base: String
        if let chain = baseCredentials as? CredentialProviderChain {
            base = try await chain.resolvedSource()
        } else {
            base = baseCredentials.source
        }
        guard let roleARN = account?.roleARN else { return base }
        return "role \(roleARN) via \(base)"
    }

    /// A KMS client for `account` (or the base credentials' account) in `region`.
    public func kms(account: AWSAccount? = nil, region: String, extraHeaders: [String: String] = [:]) -> KMSClient {
        KMSClient(
            executor: executor, region: region, accountID: account?.id ?? "default",
            credentials: credentials(for: account, region: region), extraHeaders: extraHeaders)
    }

    /// A CloudTrail client for `account` in `region`.
    public func cloudTrail(account: AWSAccount? = nil, region: String) -> CloudTrailClient {
        CloudTrailClient(
            executor: executor, region: region, accountID: account?.id ?? "default",
            credentials: credentials(for: account, region: region))
    }

    /// A DynamoDB client with the base credentials in `region` (the writer lease's table).
    public func dynamoDB(region: String) -> DynamoDBClient {
        DynamoDBClient(
            executor: executor, region: region, accountID: "default", credentials: credentials(for: nil, region: region)
        )
    }

    /// An EC2 client for `account` in `region`.
    public func ec2(account: AWSAccount? = nil, region: String, extraHeaders: [String: String] = [:]) -> EC2Client {
        EC2Client(
            executor: executor, region: region, accountID: account?.id ?? "default",
            credentials: credentials(for: account, region: region), extraHeaders: extraHeaders)
    }

    /// An STS client for `account` in `region` (for `GetCallerIdentity` in `transferkeyd check`).
    public func sts(account: AWSAccount? = nil, region: String, extraHeaders: [String: String] = [:]) -> STSClient {
        STSClient(
            executor: executor, region: region, accountID: account?.id ?? "default",
            credentials: credentials(for: account, region: region), extraHeaders: extraHeaders)
    }

    /// Closes the connection pool; calls made afterwards fail with `Shutdown`.
    public func shutdown() async throws {
        try await executor.transport.shutdown()
    }
}
