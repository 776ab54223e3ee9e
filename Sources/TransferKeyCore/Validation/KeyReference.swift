/// A KMS key as an operator or the platform names it: a bare key id or a full key ARN.
public enum KeyReference: Sendable, Hashable {
    /// A lowercase UUID (`1234abcd-12ab-34cd-56ef-1234567890ab`) or a multi-Region id (`mrk-` + 32 hex digits).
    case keyID(String)
    /// A key ARN `arn:PARTITION:kms:REGION:ACCOUNT:key/ID`, with its parts.
    case arn(String, partition: String, region: String, accountID: String, keyID: String)

    /// The bare key id, in both cases.
    public var keyID: String {
        switch self {
        case .keyID(let id): id
        case .arn(_, _, _, _, let id): id
        }
    }

    /// The reference as given (validation accepts only the normalised, lowercase form).
    public var text: String {
        switch self {
        case .keyID(let id): id
        case .arn(let arn, _, _, _, _): arn
        }
    }
}

extension KeyReference {
    /// The ARN AWS gives the key `keyID` of `accountID` in `region` (`arn:PARTITION:kms:REGION:ACCOUNT:key/ID`),
    /// the same text `DescribeKey` returns as `Arn`; the caller passes a valid region and account id.
    public static func arn(keyID: String, accountID: String, region: String) -> String {
        "arn:\(Validator.partitionOf(region: region)):kms:\(region):\(accountID):key/\(keyID)"
    }
}
