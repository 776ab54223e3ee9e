import Foundation

/// Feeds the service manager's watchdog while the daemon makes progress *inside* a cycle.
///
/// A cycle can legitimately last minutes during an AWS or network outage (every attempt runs into its
/// timeout and is retried), so pinging only between cycles would get a healthy daemon killed in a loop.
/// The feeder pings every `interval` as long as the latest progress — the loop's own turn, or any AWS attempt
/// ending — is at most `bound` old; a step that truly hangs stops the pings, and systemd restarts the daemon.
public struct WatchdogFeeder: Sendable {
    /// The latest moments of progress (each may be `nil`: none yet).
    public var progress: @Sendable () -> [ContinuousClock.Instant?]
    /// Progress older than this no longer feeds the watchdog: longer than one AWS attempt (`request_timeout`)
    /// plus its backoff, so an attempt that ends in a timeout still counts.
    public var bound: Duration

    /// Creates a feeder.
    public init(bound: Duration, progress: @escaping @Sendable () -> [ContinuousClock.Instant?]) {
        self.bound = bound
        self.progress = progress
    }

    /// Whether the watchdog should be fed at `now`.
    public func isAlive(at now: ContinuousClock.Instant) -> Bool {
        progress().contains { instant in instant.map { now - $0 <= bound } ?? false }
    }

    /// Pings `notifier` every `interval` while ``isAlive(at:)``, until cancelled.
    public func run(notifier: any ServiceNotifier, interval: Duration) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            if Task.isCancelled { return }
            if isAlive(at: .now) { notifier.watchdog() }
        }
    }
}

/// A moment of progress, set by the work loop at every turn.
public final class ProgressMark: @unchecked Sendable {
    private let lock = NSLock()
    private var instant: ContinuousClock.Instant?

    /// No progress yet.
    public init() {}

    /// Records progress now.
    public func mark() { lock.withLock { instant = .now } }

    /// The last progress.
    public var last: ContinuousClock.Instant? { lock.withLock { instant } }
}
