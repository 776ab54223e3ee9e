/// One EC2 snapshot as `DescribeSnapshots` reports it.
public struct EC2Snapshot: Sendable, Equatable {
    /// The snapshot id, `snap-…`.
    public var snapshotID: String
    /// `pending`, `completed`, `error`, `recoverable` or `recovering`.
    public var state: String
    /// Progress such as `100%`.
    public var progress: String?
    /// The owning account.
    public var ownerID: String?

    /// Creates a snapshot value.
    public init(snapshotID: String, state: String, progress: String? = nil, ownerID: String? = nil) {
        self.snapshotID = snapshotID
        self.state = state
        self.progress = progress
        self.ownerID = ownerID
    }
}
