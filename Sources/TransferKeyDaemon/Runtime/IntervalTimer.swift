/// When a periodic job (poll, scan, heartbeat) is next due, on the monotonic clock.
///
/// Intervals measure elapsed time, so the wall clock never moves them: a clock set forward a day
/// does not fire a day's worth of polls to catch up, and a clock set back does not stop them for a
/// day. Deadlines that are stored (leases, retry times) stay on the wall clock, in SQLite.
public struct IntervalTimer: Sendable, Equatable {
    /// The time between two runs.
    public var interval: Duration
    /// When the job last ran; nil until it first does (so it is due at once).
    public private(set) var lastRun: ContinuousClock.Instant?

    /// A timer that is due at once, or only after `interval` from `startingAt` when given.
    public init(interval: Duration, startingAt start: ContinuousClock.Instant? = nil) {
        self.interval = interval
        lastRun = start
    }

    /// Whether the job should run at `now`: once at least `interval` elapsed since it last ran.
    public func isDue(at now: ContinuousClock.Instant) -> Bool {
        guard let lastRun else { return true }
        return now - lastRun >= interval
    }

    /// Records a run at `now`; the next is due `interval` later, however late this one was.
    public mutating func markRun(at now: ContinuousClock.Instant) {
        lastRun = now
    }
}
