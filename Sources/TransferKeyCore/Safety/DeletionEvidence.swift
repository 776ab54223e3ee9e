import Foundation

/// Everything gathered before deciding whether a transfer's key may be scheduled for deletion.
public struct DeletionEvidence: Sendable, Equatable {
    /// The key in the transfer's region.
    public var key: KeyEvidence
    /// Each replica of a multi-Region primary, described in its own region.
    public var replicas: [KeyEvidence]
    /// The key's tags (`ListResourceTags`), when they were read: always for a discovered key.
    public var tags: [String: String]?
    /// AWS's clock when the evidence was read (the `Date` header of its answers), nil when not known.
    public var awsNow: Date?

    /// Creates the evidence.
    public init(key: KeyEvidence, replicas: [KeyEvidence] = [], tags: [String: String]? = nil, awsNow: Date?) {
        self.key = key
        self.replicas = replicas
        self.tags = tags
        self.awsNow = awsNow
    }
}
