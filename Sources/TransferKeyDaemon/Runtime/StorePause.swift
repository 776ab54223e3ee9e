/// Whether the work loop is paused because the database cannot take writes (its disk is full, another
/// process holds it locked beyond the busy timeout, it is read-only), and what changed: a pure state
/// machine, so the loop only acts on what `update` returns.
public struct StorePause: Sendable, Equatable {
    /// What the loop should say after an update.
    public enum Change: Sendable, Equatable {
        /// Nothing new.
        case none
        /// Work stops now, for this reason.
        case paused(String)
        /// Still paused, for another reason now.
        case stillPaused(String)
        /// Work goes on again after `duration` paused; `reason` was the last reason.
        case resumed(after: Duration, reason: String)
    }

    /// Why work is paused; nil while it runs.
    public private(set) var reason: String?
    /// Since when work is paused.
    public private(set) var since: ContinuousClock.Instant?

    /// A loop that is not paused.
    public init() {}

    /// Whether work is paused.
    public var isPaused: Bool { reason != nil }

    /// Takes the latest finding (`problem` nil: the database took a write or has room again).
    public mutating func update(problem: String?, at now: ContinuousClock.Instant) -> Change {
        switch (reason, problem) {
        case (nil, nil):
            return .none
        case (nil, let problem?):
            reason = problem
            since = now
            return .paused(problem)
        case (let old?, let problem?):
            guard old != problem else { return .none }
            reason = problem
            return .stillPaused(problem)
        case (let old?, nil):
            let duration = since.map { now - $0 } ?? .zero
            reason = nil
            since = nil
            return .resumed(after: duration, reason: old)
        }
    }
}
