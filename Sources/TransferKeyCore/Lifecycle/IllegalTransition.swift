import Foundation

/// An event that cannot happen in the transfer's current state; nothing is changed.
public struct IllegalTransition: Error, Sendable, Equatable, CustomStringConvertible {
    /// The state the transfer was in.
    public var state: TransferState
    /// The event's audit kind.
    public var event: String

    public var description: String { "\(event) is not possible while the transfer is \(state.rawValue)" }
}
