/// The snapshots still to poll in one account × region: everything one `DescribeSnapshots` batch asks about.
public struct SnapshotGroup: Sendable, Equatable {
    /// The account whose EC2 holds the snapshot copies (`snapshot_account_id`, else the key's account).
    public var accountID: String
    /// The region whose EC2 holds the snapshot copies (`snapshot_region`, else the key's region).
    public var region: String
    /// The snapshots not yet in a final state, each once, sorted.
    public var snapshotIDs: [String]
    /// The active transfers waiting for them, sorted.
    public var importIDs: [String]

    /// Creates a group.
    public init(accountID: String, region: String, snapshotIDs: [String], importIDs: [String]) {
        self.accountID = accountID
        self.region = region
        self.snapshotIDs = snapshotIDs
        self.importIDs = importIDs
    }
}
