import Synchronization

/// What the daemon's services share: whether they may work (the work loop closes the gate until its start-up is
/// recorded, and while the database takes no writes), and a count of finished jobs that may have made work due,
/// so the cleanup loop looks at due work at once instead of at its next due date.
public final class WorkGate: Sendable {
    private struct State {
        var closedBecause: String?
        var wakes = 0
    }

    private let state: Mutex<State>

    /// A gate, closed (`"starting"`) unless `open`.
    public init(open: Bool = false) {
        state = Mutex(State(closedBecause: open ? nil : "starting"))
    }

    /// Whether services may start work now.
    public var isOpen: Bool { state.withLock { $0.closedBecause == nil } }

    /// Lets services work.
    public func open() { state.withLock { $0.closedBecause = nil } }

    /// Stops services from starting work (what they have in hand finishes).
    public func close(because reason: String) { state.withLock { $0.closedBecause = reason } }

    /// Says that a job finished that may have made transfers due (a poll ended an import, a scan adopted an orphan).
    public func wake() { state.withLock { $0.wakes &+= 1 } }

    /// How many jobs have finished so far; a change means: look at due work now.
    public var wakes: Int { state.withLock { $0.wakes } }
}
