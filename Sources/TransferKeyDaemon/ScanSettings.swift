import Foundation
import TransferKeyCore

/// The parts of the config that decide what the orphan scanner adopts and when it raises the alarm.
public struct ScanSettings: Sendable, Equatable {
    /// Only aliases under this prefix are looked at.
    public var aliasPrefix: String
    /// An unrecorded prefixed alias younger than this is left alone (an import may not have called `track` yet);
    /// an adopted orphan's cleanup is due at its creation date plus this.
    public var orphanGrace: TimeInterval
    /// More new orphans than this in one scan (all accounts × regions together) pauses orphan cleanup.
    public var orphanAlarmThreshold: Int

    /// Creates settings.
    public init(aliasPrefix: String, orphanGrace: TimeInterval, orphanAlarmThreshold: Int) {
        self.aliasPrefix = aliasPrefix
        self.orphanGrace = max(orphanGrace, 0)
        self.orphanAlarmThreshold = max(orphanAlarmThreshold, 0)
    }

    /// The settings a config file gives.
    public init(config: Config) {
        self.init(
            aliasPrefix: config.aliasPrefix, orphanGrace: config.orphanGrace,
            orphanAlarmThreshold: config.orphanAlarmThreshold)
    }
}
