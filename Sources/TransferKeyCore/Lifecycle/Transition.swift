import Foundation

/// The result of one legal transition: the state to store and what to do next.
public struct Transition: Sendable, Equatable {
    /// The state after the event.
    public var state: TransferState
    /// What the daemon must do next, in order.
    public var actions: [TransferAction]

    /// Creates a transition.
    public init(_ state: TransferState, _ actions: [TransferAction]) {
        self.state = state
        self.actions = actions
    }
}
