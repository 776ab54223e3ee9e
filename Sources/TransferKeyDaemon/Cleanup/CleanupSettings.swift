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
    /// Whether a dry run spaces its looks (`would_*` noted, the transfer looked at again after the recheck
    /// interval): the daemon in dry-run mode does, or it would note the same plan every cycle. A one-off
    /// `reconcile --dry-run` does not: it leaves every schedule as it was, so it never delays real work.
    public var dryRunSpacesLooks = true
    /// At most this many `ScheduleKeyDeletion` calls per cycle (the blast-radius cap).
    public var maxDeletionsPerCycle: Int
    /// At most this many `ScheduleKeyDeletion` calls in any rolling hour (the blast radius over time).
    public var maxDeletionsPerHour: Int
    /// How long a dry run, a paused orphan or a deferred transfer waits before it is looked at again.
    public var recheckInterval: TimeInterval
    /// How often a key pending deletion is looked at again after its deletion date.
    public var confirmInterval: TimeInterval
    /// `orphan_grace`, `orphan_max_key_lead` and `max_transfer_age`, as the safety rules apply them.
    public var orphanGrace: TimeInterval
    public var orphanMaxKeyLead: TimeInterval
    public var maxTransferAge: TimeInterval
    /// The configured regions of each account: where a key that is not where it was recorded is looked for.
    public var regionsByAccount: [String: [String]]
    /// `[aws] max_in_flight`: transfers worked at once in one account × region.
    public var maxInFlight: Int
    /// `usage_slack`, `in_use_deferrals`, `import_grantees`: how AWS's record of a key's use is judged.
    public var usageSlack: TimeInterval = 900
    public var inUseDeferrals = 3
    public var importGrantees: [String] = []
    /// `disable_first`: disable an approved key and watch it this long before scheduling it; nil schedules at once.
    public var disableFirst: TimeInterval?

    /// Creates settings; a window outside 7–30 (which the config already refuses) is clamped as a second guard.
    public init(
        aliasPrefix: String, pendingWindowDays: Int, isDryRun: Bool = false, maxDeletionsPerCycle: Int = 25,
        maxDeletionsPerHour: Int = 200, recheckInterval: TimeInterval = 600,
        confirmInterval: TimeInterval = 3600, orphanGrace: TimeInterval = 21_600,
        orphanMaxKeyLead: TimeInterval = 3_600,
        maxTransferAge: TimeInterval = 86_400, regionsByAccount: [String: [String]] = [:], maxInFlight: Int = 16
    ) {
        self.aliasPrefix = aliasPrefix
        self.pendingWindowDays = min(max(pendingWindowDays, 7), 30)
        self.isDryRun = isDryRun
        self.maxDeletionsPerCycle = max(maxDeletionsPerCycle, 0)
        self.maxDeletionsPerHour = max(maxDeletionsPerHour, 0)
        self.recheckInterval = recheckInterval
        self.confirmInterval = confirmInterval
        self.orphanGrace = orphanGrace
        self.orphanMaxKeyLead = orphanMaxKeyLead
        self.maxTransferAge = maxTransferAge
        self.regionsByAccount = regionsByAccount
        self.maxInFlight = max(maxInFlight, 1)
    }

    /// The settings a config file gives.
    public init(config: Config) {
        var regions: [String: [String]] = [:]
        for account in config.accounts { regions[account.id] = account.regions }
        self.init(
            aliasPrefix: config.aliasPrefix, pendingWindowDays: config.pendingWindowDays, isDryRun: config.dryRun,
            maxDeletionsPerCycle: config.maxDeletionsPerCycle, maxDeletionsPerHour: config.maxDeletionsPerHour,
            recheckInterval: config.scanInterval, orphanGrace: config.orphanGrace,
            orphanMaxKeyLead: config.orphanMaxKeyLead, maxTransferAge: config.maxTransferAge,
            regionsByAccount: regions, maxInFlight: config.aws.maxInFlight)
        usageSlack = config.usageSlack
        inUseDeferrals = config.inUseDeferrals
        importGrantees = config.importGrantees
        disableFirst = config.disableFirst
    }

    /// When a dry run looks at a transfer again: after the recheck interval for the daemon in dry-run mode, nil
    /// (unchanged) for a one-off dry run.
    public func dryRunRecheck(after now: Date) -> Date? {
        dryRunSpacesLooks ? now.addingTimeInterval(recheckInterval) : nil
    }

    /// The limits the safety rules apply.
    public var safetyPolicy: SafetyPolicy {
        SafetyPolicy(
            aliasPrefix: aliasPrefix, orphanGrace: orphanGrace, orphanMaxKeyLead: orphanMaxKeyLead,
            maxTransferAge: maxTransferAge, usageSlack: usageSlack, inUseDeferrals: inUseDeferrals,
            importGrantees: importGrantees)
    }
}
