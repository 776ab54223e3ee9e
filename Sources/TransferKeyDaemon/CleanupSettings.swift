import Foundation
import TransferKeyCore

/// The parts of the config that decide how transfers are cleaned up.
public struct CleanupSettings: Sendable, Equatable {
    /// Only aliases under this prefix are ever touched.
    public var aliasPrefix: String
    /// `ScheduleKeyDeletion`'s window: AWS's 7–30 (the config refuses anything else; the clamp is a second guard).
    public var pendingWindowDays: Int
    /// Perform every read, record what would be done, make no mutating call.
    public var isDryRun: Bool
    /// At most this many `ScheduleKeyDeletion` calls per cycle (the blast-radius cap).
    public var maxDeletionsPerCycle: Int
    /// A failing step is retried this many times before the transfer is parked as `stuck`.
    public var maxStepAttempts: Int
    /// How long a dry run or a paused orphan waits before it is looked at again.
    public var recheckInterval: TimeInterval
    /// How often a key pending deletion is looked at again after its deletion date.
    public var confirmInterval: TimeInterval

    /// Creates settings; a window outside 7–30 (which the config already refuses) is clamped as a second guard.
    public init(
        aliasPrefix: String, pendingWindowDays: Int, isDryRun: Bool = false, maxDeletionsPerCycle: Int = 25,
        maxStepAttempts: Int = 12, recheckInterval: TimeInterval = 600, confirmInterval: TimeInterval = 3600
    ) {
        self.aliasPrefix = aliasPrefix
        self.pendingWindowDays = min(max(pendingWindowDays, 7), 30)
        self.isDryRun = isDryRun
        self.maxDeletionsPerCycle = max(maxDeletionsPerCycle, 0)
        self.maxStepAttempts = max(maxStepAttempts, 1)
        self.recheckInterval = recheckInterval
        self.confirmInterval = confirmInterval
    }

    /// The settings a config file gives.
    public init(config: Config) {
        self.init(
            aliasPrefix: config.aliasPrefix, pendingWindowDays: config.pendingWindowDays, isDryRun: config.dryRun,
            maxDeletionsPerCycle: config.maxDeletionsPerCycle, recheckInterval: config.scanInterval)
    }
}
