import Foundation
import ServiceLifecycle
import Synchronization
import TransferKeyAWS

/// Feeds the service manager's watchdog while every one of the daemon's services makes progress.
///
/// A service can legitimately be busy for minutes during an AWS or network outage (every attempt runs into its
/// timeout and is retried), so the feeder does not wait for a service to finish a run: each service's progress —
/// its own turn, or any AWS attempt of its work ending — counts. The watchdog is pinged every `interval` as long as
/// every service's latest progress is at most `bound` old; one service that truly hangs stops the pings, and
/// systemd restarts the daemon.
public struct WatchdogFeeder: Sendable {
    /// The latest moment of progress of each service (`nil`: none yet, which is not alive).
    public var progress: @Sendable () -> [ContinuousClock.Instant?]
    /// Progress older than this no longer feeds the watchdog: longer than one AWS attempt (`request_timeout`)
    /// plus its backoff, so an attempt that ends in a timeout still counts.
    public var bound: Duration

    /// Creates a feeder.
    public init(bound: Duration, progress: @escaping @Sendable () -> [ContinuousClock.Instant?]) {
        self.bound = bound
        self.progress = progress
    }

    /// A feeder over these services' marks.
    public init(bound: Duration, marks: [ProgressMark]) {
        self.init(bound: bound, progress: { marks.map(\.last) })
    }

    /// Whether the watchdog should be fed at `now`: every service made progress within `bound`.
    public func isAlive(at now: ContinuousClock.Instant) -> Bool {
        progress().allSatisfy { instant in instant.map { now - $0 <= bound } ?? false }
    }

    /// Pings `notifier` every `interval` while ``isAlive(at:)``, on a thread of its own, until `stop` is raised:
    /// a cooperative pool kept busy (every thread blocked in a database call, say) must not starve the pings of a
    /// daemon that is making progress.
    func startPinging(notifier: any ServiceNotifier, interval: Duration, stop: StopFlag) {
        let seconds = Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18
        let thread = Thread { [self] in
            while !stop.isRaised {
                Thread.sleep(forTimeInterval: seconds)
                if stop.isRaised { return }
                if isAlive(at: .now) { notifier.watchdog() }
            }
        }
        thread.name = "watchdog"
        thread.start()
    }
}
