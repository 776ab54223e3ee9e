import Foundation

/// The result of one legal transition: the state to store and what follows it.
public struct Transition: Sendable, Equatable {
    /// The state after the event.
    public var state: TransferState
    /// What follows; the store turns the time it names into `next_attempt_at`.
    public var followUp: FollowUp

    /// Creates a transition.
    public init(_ state: TransferState, _ followUp: FollowUp) {
        self.state = state
        self.followUp = followUp
    }
}
