import Foundation

/// When the cleanup loop looks at due work — a pure value, so its timing is tested over a simulated week in
/// milliseconds: at the earliest due date the store gave after the last look (a lease's end, a retry time), and at
/// once after anything that may have made work due: another process committed (`track`, `complete`, `retry`), a
/// periodic job finished (a poll ended an import, a scan adopted an orphan), the database takes writes again. In
/// between, the loop's turns read nothing: a backlog waiting for its retry time is not re-read every second.
public struct DueWorkTrigger: Sendable, Equatable {
    /// What one turn decides.
    public struct Turn: Sendable, Equatable {
        /// Look at due work now.
        public var runsDueWork: Bool
        /// A periodic job finished since the last turn (the metrics changed).
        public var jobFinished: Bool
    }

    /// The next look at due work; nil: none until something changes.
    public private(set) var nextLook: Date? = .distantPast
    private var lastChange: Int?
    private var lastWakes: Int

    /// A trigger that looks at once; `change` is the database's external change counter, `wakes` the gate's.
    public init(change: Int?, wakes: Int) {
        lastChange = change
        lastWakes = wakes
    }

    /// One turn at wall time `now`, with the counters read in it (`change` nil when it could not be read).
    public mutating func turn(now: Date, change: Int?, wakes: Int) -> Turn {
        if let change, change != lastChange {
            lastChange = change
            nextLook = .distantPast
        }
        let jobFinished = wakes != lastWakes
        if jobFinished {
            lastWakes = wakes
            nextLook = .distantPast
        }
        return Turn(runsDueWork: nextLook.map { $0 <= now } ?? false, jobFinished: jobFinished)
    }

    /// Due work was looked at; the store says when the next is due (`nil`: nothing waits; `readFailed`: the
    /// store could not say, so the next turn looks again).
    public mutating func looked(nextDue: Date?, readFailed: Bool = false) {
        nextLook = readFailed ? .distantPast : nextDue
    }

    /// The database takes writes again: look at once.
    public mutating func resume() { nextLook = .distantPast }
}
