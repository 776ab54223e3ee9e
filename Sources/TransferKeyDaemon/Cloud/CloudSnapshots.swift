import Foundation
import TransferKeyCore

/// The snapshots `DescribeSnapshots` knows, and those it does not.
public struct CloudSnapshots: Sendable, Equatable {
    /// Snapshot id → `pending`, `completed`, `error`, `recoverable`, `recovering`.
    public var states: [String: String]
    /// Ids EC2 answered `InvalidSnapshot.NotFound` for.
    public var missing: Set<String>

    /// Creates a result.
    public init(states: [String: String] = [:], missing: Set<String> = []) {
        self.states = states
        self.missing = missing
    }
}
