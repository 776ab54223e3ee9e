/// Monotonic time and sleeping, injected into pacing and retry so tests run a minute of backoff in milliseconds.
public protocol PacingClock: Sendable {
    /// Time elapsed since an arbitrary fixed origin.
    func now() -> Duration
    /// Sleeps for `duration`; throws `CancellationError` as soon as the task is cancelled.
    func sleep(for duration: Duration) async throws
}
