/// One key of a multi-Region set: its ARN and region.
public struct KMSMultiRegionKey: Sendable, Equatable, Codable {
    /// The key ARN.
    public var arn: String
    /// The region the key lives in.
    public var region: String

    enum CodingKeys: String, CodingKey {
        case arn = "Arn"
        case region = "Region"
    }

    /// Creates a key reference.
    public init(arn: String, region: String) {
        self.arn = arn
        self.region = region
    }
}
