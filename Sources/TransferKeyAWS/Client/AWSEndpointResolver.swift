/// Picks the URL each service is called at, following the SDK convention.
///
/// `AWS_ENDPOINT_URL_KMS` / `_EC2` / `_STS` beat `AWS_ENDPOINT_URL`, which beats a configured `endpoint_url`;
/// otherwise the real regional endpoint for the region's partition (`aws`, `aws-cn`, `aws-us-gov`).
public struct AWSEndpointResolver: Sendable, Equatable {
    /// Per-service overrides from the environment.
    public var serviceOverrides: [AWSService: String]
    /// The global override (environment `AWS_ENDPOINT_URL`, else the config's `endpoint_url`).
    public var globalOverride: String?

    /// Creates a resolver from an environment dictionary and the config file's `endpoint_url`.
    public init(environment: [String: String], configEndpointURL: String? = nil) {
        var overrides: [AWSService: String] = [:]
        for service in AWSService.allCases {
            if let url = environment["AWS_ENDPOINT_URL_\(service.environmentSuffix)"], !url.isEmpty {
                overrides[service] = url
            }
        }
        serviceOverrides = overrides
        let global = environment["AWS_ENDPOINT_URL"].flatMap { $0.isEmpty ? nil : $0 }
        globalOverride = global ?? configEndpointURL.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Whether any override is set (an emulator or VPC endpoint is in use).
    public var isOverridden: Bool { globalOverride != nil || !serviceOverrides.isEmpty }

    /// The base URL (scheme, host, optional port; no trailing slash) for `service` in `region`.
    public func endpoint(for service: AWSService, region: String) -> String {
        if let url = serviceOverrides[service] ?? globalOverride {
            return url.hasSuffix("/") ? String(url.dropLast()) : url
        }
        return "https://\(service.signingName).\(region).\(Self.dnsSuffix(region: region))"
    }

    /// The partition of `region`: `aws-cn` for `cn-*`, `aws-us-gov` for `us-gov-*`, `aws-iso` for `us-iso-*`,
    /// `aws-iso-b` for `us-isob-*`, `aws-iso-f` for `us-isof-*`, `aws-iso-e` for `eu-isoe-*`, else `aws`.
    public static func partition(region: String) -> String {
        if region.hasPrefix("cn-") { return "aws-cn" }
        if region.hasPrefix("us-gov-") { return "aws-us-gov" }
        if region.hasPrefix("us-iso-") { return "aws-iso" }
        if region.hasPrefix("us-isob-") { return "aws-iso-b" }
        if region.hasPrefix("us-isof-") { return "aws-iso-f" }
        if region.hasPrefix("eu-isoe-") { return "aws-iso-e" }
        return "aws"
    }

    /// The DNS suffix of the region's partition.
    public static func dnsSuffix(region: String) -> String {
        switch partition(region: region) {
        case "aws-cn": return "amazonaws.com.cn"
        case "aws-iso": return "c2s.ic.gov"
        case "aws-iso-b": return "sc2s.sgov.gov"
        case "aws-iso-f": return "csp.hci.ic.gov"
        case "aws-iso-e": return "cloud.adc-e.uk"
        default: return "amazonaws.com"
        }
    }
}
