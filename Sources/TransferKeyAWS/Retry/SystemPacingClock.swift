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
