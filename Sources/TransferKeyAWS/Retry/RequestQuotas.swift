/// Client-side request rates per operation (requests per second), by default AWS's published KMS quotas.
///
/// The pacer keeps one bucket per (account, region, operation), so the daemon never causes the throttling it
/// would then have to retry. Operators with raised quotas override single entries.
public struct RequestQuotas: Sendable, Equatable {
    /// Rates by operation name, e.g. `["ScheduleKeyDeletion": 15]`.
    public var perSecond: [String: Double]
    /// The rate of every operation not listed.
    public var defaultPerSecond: Double

    /// Creates quotas.
    public init(perSecond: [String: Double] = RequestQuotas.awsDefaults, defaultPerSecond: Double = 50) {
        self.perSecond = perSecond
        self.defaultPerSecond = defaultPerSecond
    }

    /// The rate for `operation`.
    public func rate(for operation: String) -> Double { perSecond[operation] ?? defaultPerSecond }

    /// AWS's published per-account, per-region defaults (KMS), plus conservative EC2/STS rates.
    public static let awsDefaults: [String: Double] = [
        "ScheduleKeyDeletion": 15, "DeleteAlias": 15,
        "CreateKey": 5, "CreateAlias": 5, "CancelKeyDeletion": 5, "ReplicateKey": 5,
        "ListAliases": 500, "ListKeys": 500,
        "DescribeKey": 2_000, "ListResourceTags": 2_000, "TagResource": 5,
        "DescribeSnapshots": 20,
        "GetKeyLastUsage": 5, "LookupEvents": 2, "ListGrants": 100, "RetireGrant": 50, "GenerateMac": 50,
        "VerifyMac": 50,
        "AssumeRole": 50, "AssumeRoleWithWebIdentity": 50, "GetCallerIdentity": 50,
    ]

    /// No pacing at all (benchmarks, tests that count calls).
    public static let unlimited = RequestQuotas(perSecond: [:], defaultPerSecond: 1_000_000)
}
