/// The last state seen of a destination snapshot copy (`transfer_snapshots.state`): EC2's snapshot states,
/// `unknown` until first polled and `missing` once EC2 no longer knows the id.
public enum SnapshotState: String, CaseIterable, Sendable {
    case unknown
    case pending
    case completed
    case error
    case recoverable
    case recovering
    case missing

    /// States after which EC2 says nothing new: such a snapshot is never asked about again.
    public static let final: [SnapshotState] = [.completed, .error, .missing]

    /// The states a poll may record (EC2's answers and `missing`; every state but `unknown`).
    public static let observable: [SnapshotState] = allCases.filter { $0 != .unknown }

    /// Whether EC2 will say nothing new about the snapshot.
    public var isFinal: Bool { Self.final.contains(self) }
}
