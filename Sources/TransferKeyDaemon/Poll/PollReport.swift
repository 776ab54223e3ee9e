import TransferKeyCore

/// What one completion poll did: the calls it made, what it learned, and what failed.
public struct PollReport: Sendable, Equatable {
    /// A `DescribeSnapshots` batch that failed; its snapshots keep their last state until the next poll.
    public struct Failure: Sendable, Equatable {
        /// The account whose EC2 was asked.
        public var accountID: String
        /// The region whose EC2 was asked.
        public var region: String
        /// The AWS error code (e.g. `ThrottlingException`), or `Database` when storing the answer failed.
        public var code: String
        /// The error as logged.
        public var message: String

        /// Creates a failure.
        public init(accountID: String, region: String, code: String, message: String) {
            self.accountID = accountID
            self.region = region
            self.code = code
            self.message = message
        }
    }

    /// Account × region groups with snapshots to ask about.
    public var groupsPolled = 0
    /// `DescribeSnapshots` calls made through `CloudRegion` (one per group; the adapter pages by 200).
    public var callsMade = 0
    /// Snapshot ids asked about in groups that answered.
    public var snapshotsChecked = 0
    /// Snapshot rows whose stored state changed.
    public var snapshotsChanged = 0
    /// Transfers whose import this poll ended: import id → why.
    public var endedTransfers: [String: Completion] = [:]
    /// Groups whose call (or whose recording) failed.
    public var failures: [Failure] = []

    /// An empty report.
    public init() {}
}
