import Foundation
import ServiceLifecycle
import Synchronization
import TransferKeyAWS

/// The watchdog feeder as a service of the daemon's group (it does nothing when systemd set no watchdog).
public struct WatchdogService: Service {
    let feeder: WatchdogFeeder
    let notifier: any ServiceNotifier

    /// Feeds `notifier`'s watchdog with `feeder`.
    public init(feeder: WatchdogFeeder, notifier: any ServiceNotifier) {
        self.feeder = feeder
        self.notifier = notifier
    }

    public func run() async throws {
        guard let interval = notifier.watchdogInterval else {
            // Nothing to feed; a service that returns early would stop the group.
            try? await gracefulShutdown()
            return
        }
        let stop = StopFlag()
        feeder.startPinging(notifier: notifier, interval: interval, stop: stop)
        try? await gracefulShutdown()
        stop.raise()
    }
}
