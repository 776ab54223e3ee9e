/// A KMS resource tag.
public struct KMSTag: Sendable, Equatable, Hashable, Codable {
    /// The tag key.
    public var key: String
    /// The tag value.
    public var value: String

    enum CodingKeys: String, CodingKey {
        case key = "TagKey"
        case value = "TagValue"
    }

    /// Creates a tag.
    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }
}
