import Foundation

/// Everything gathered before deciding whether a transfer's key may be scheduled for deletion.
public struct DeletionEvidence: Sendable, Equatable {
    /// The key in the transfer's region.
    public var key: KeyEvidence
    /// Each replica of a multi-Region primary, described in its own region.
    public var replicas: [KeyEvidence]
    /// The key's tags (`ListResourceTags`), when they were read: always for a discovered key.
    public var tags: [String: String]?
    /// The key's ownership mark as verified (`OwnershipMark`), when it was looked at: for a discovered key.
    public var mark: OwnershipMark?
    /// What AWS records about the key's use (`GetKeyLastUsage`, `ListGrants`), when it was read: read only for a key
    /// every other rule approves, so the low quotas are spent where they decide something.
    public var usage: KeyUsage?
    /// AWS's clock when the evidence was read (the `Date` header of its answers), nil when not known.
    public var awsNow: Date?

    /// Creates the evidence.
    public init(
        key: KeyEvidence, replicas: [KeyEvidence] = [], tags: [String: String]? = nil, mark: OwnershipMark? = nil,
        usage: KeyUsage? = nil, awsNow: Date?
    ) {
        self.key = key
        self.replicas = replicas
        self.tags = tags
        self.mark = mark
        self.usage = usage
        self.awsNow = awsNow
    }
}
