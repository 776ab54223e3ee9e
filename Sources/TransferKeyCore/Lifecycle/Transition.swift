import Foundation

/// The result of one legal transition: the state to store and what follows it.
public struct Transition: Sendable, Equatable {
    /// The state after the event.
    public var state: TransferState
    /// What follows, in order; the store turns the first that names a time into `next_attempt_at`.
    public var followUps: [FollowUp]

    /// Creates a transition.
    public init(_ state: TransferState, _ followUps: [FollowUp]) {
        self.state = state
        self.followUps = followUps
    }
}
