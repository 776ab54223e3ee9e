import Foundation

/// The answer of `SafetyRules.verdict`: may this key be scheduled for deletion?
public enum SafetyVerdict: Sendable, Equatable {
    /// Every rule holds: schedule it, then remove these aliases (all under the prefix).
    case approved(aliases: [String])
    /// AWS already has the key pending deletion: record it, remove these aliases.
    case alreadyPendingDeletion(deletionDate: Date?, aliases: [String])
    /// A rule failed: touch nothing, record the reason, tell the operator.
    case refused(reason: String)

    /// Whether the verdict allows any mutating call.
    public var allowsCleanup: Bool {
        if case .refused = self { return false }
        return true
    }
}
