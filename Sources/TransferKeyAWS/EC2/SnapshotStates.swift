/// The result of ``EC2Client/describeSnapshots(ids:)``: the snapshots EC2 knows, and the ids it does not.
public struct SnapshotStates: Sendable, Equatable {
    /// Found snapshots by id.
    public var found: [String: EC2Snapshot]
    /// Requested ids EC2 says do not exist (`InvalidSnapshot.NotFound`), sorted.
    public var missing: [String]

    /// Creates a result.
    public init(found: [String: EC2Snapshot] = [:], missing: [String] = []) {
        self.found = found
        self.missing = missing
    }
}
