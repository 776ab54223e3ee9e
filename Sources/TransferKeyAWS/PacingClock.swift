/// Monotonic time and sleeping, injected into pacing and retry so tests run a minute of backoff in milliseconds.
public protocol PacingClock: Sendable {
    /// Time elapsed since an arbitrary fixed origin.
    func now() -> Duration
    /// Sleeps for `duration`; throws `CancellationError` as soon as the task is cancelled.
    func sleep(for duration: Duration) async throws
}

/// The real clock: `ContinuousClock`, with cancellable sleeps.
public struct SystemPacingClock: PacingClock {
    private let origin = ContinuousClock.now

    /// Creates the clock.
    public init() {}

    /// Time since this value was created.
    public func now() -> Duration { ContinuousClock.now - origin }

    /// `Task.sleep`, which ends early with `CancellationError` on cancellation.
    public func sleep(for duration: Duration) async throws {
        guard duration > .zero else { return try Task.checkCancellation() }
        try await Task.sleep(for: duration)
    }
}
