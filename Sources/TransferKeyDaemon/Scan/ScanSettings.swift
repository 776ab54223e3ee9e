import Foundation
import TransferKeyCore

/// The parts of the config that decide what the orphan scanner adopts and when it raises the alarm.
public struct ScanSettings: Sendable, Equatable {
    /// Only aliases under this prefix are looked at.
    public var aliasPrefix: String
    /// An unrecorded prefixed alias younger than this is left alone (an import may not have called `track` yet);
    /// an adopted orphan's cleanup is due at its creation date plus this.
    public var orphanGrace: TimeInterval
    /// More unrecorded keys than this within `orphanAlarmWindow` (all accounts × regions together) pauses orphan
    /// cleanup.
    public var orphanAlarmThreshold: Int
    /// The rolling window the alarm counts over.
    public var orphanAlarmWindow: TimeInterval
    /// A key without transferkeyd's tag counts as a transfer key only if made at most this long before its alias.
    public var orphanMaxKeyLead: TimeInterval
    /// The lease: with `orphanGrace`, how old a transfer key without the tag may be.
    public var maxTransferAge: TimeInterval
    /// Each account's `platform_principals`: who makes transfer keys there (checked by CloudTrail's `CreateKey`).
    public var platformPrincipals: [String: [String]] = [:]

    /// Creates settings.
    public init(
        aliasPrefix: String, orphanGrace: TimeInterval, orphanAlarmThreshold: Int,
        orphanAlarmWindow: TimeInterval = 86_400, orphanMaxKeyLead: TimeInterval = 3_600,
        maxTransferAge: TimeInterval = 86_400
    ) {
        self.aliasPrefix = aliasPrefix
        self.orphanGrace = max(orphanGrace, 0)
        self.orphanAlarmThreshold = max(orphanAlarmThreshold, 0)
        self.orphanAlarmWindow = max(orphanAlarmWindow, 0)
        self.orphanMaxKeyLead = orphanMaxKeyLead
        self.maxTransferAge = maxTransferAge
    }

    /// The settings a config file gives.
    public init(config: Config) {
        self.init(
            aliasPrefix: config.aliasPrefix, orphanGrace: config.orphanGrace,
            orphanAlarmThreshold: config.orphanAlarmThreshold, orphanAlarmWindow: config.orphanAlarmWindow,
            orphanMaxKeyLead: config.orphanMaxKeyLead, maxTransferAge: config.maxTransferAge)
        for account in config.accounts where !account.platformPrincipals.isEmpty {
            platformPrincipals[account.id] = account.platformPrincipals
        }
    }

    /// The limits the safety rules apply.
    public var safetyPolicy: SafetyPolicy {
        SafetyPolicy(
            aliasPrefix: aliasPrefix, orphanGrace: orphanGrace, orphanMaxKeyLead: orphanMaxKeyLead,
            maxTransferAge: maxTransferAge)
    }
}
