/// The AWS services this module talks to, with their signing names and endpoint conventions.
public enum AWSService: String, Sendable, Hashable, CaseIterable {
    /// AWS Key Management Service (JSON 1.1 protocol).
    case kms
    /// Amazon EC2 (query protocol, XML responses).
    case ec2
    /// AWS Security Token Service (query protocol, XML responses).
    case sts
    /// AWS CloudTrail (JSON 1.1 protocol): the event history of the calls made on a key.
    case cloudtrail
    /// Amazon DynamoDB (JSON 1.0 protocol): the writer lease, when `[lease]` is configured.
    case dynamodb

    /// The SigV4 signing name and endpoint host prefix.
    public var signingName: String { rawValue }

    /// The suffix of the service's endpoint environment variable: `AWS_ENDPOINT_URL_<suffix>`.
    public var environmentSuffix: String { rawValue.uppercased() }
}
