import Foundation

/// The answer of `SafetyRules.verdict`: may this key be scheduled for deletion?
public enum SafetyVerdict: Sendable, Equatable {
    /// Every rule holds: schedule it (and the replicas), then remove these aliases (all under the prefix).
    case approved(aliases: [String])
    /// AWS already has the key pending deletion and nothing else uses it: record it, remove these aliases.
    case alreadyPendingDeletion(deletionDate: Date?, aliases: [String])
    /// A rule failed: touch nothing, record the rule and reason, tell the operator.
    case refused(SafetyRule, reason: String)
    /// Not now: a rule that time settles (a young alias, another import still running, a key being updated).
    /// Nothing is touched; the transfer is looked at again after `retryAfter` (a default interval when nil).
    case deferred(SafetyRule, reason: String, retryAfter: TimeInterval?)

    /// Whether the verdict allows any mutating call.
    public var allowsCleanup: Bool {
        switch self {
        case .approved, .alreadyPendingDeletion: true
        case .refused, .deferred: false
        }
    }

    /// The rule that stopped the deletion, if one did.
    public var rule: SafetyRule? {
        switch self {
        case .refused(let rule, _), .deferred(let rule, _, _): rule
        case .approved, .alreadyPendingDeletion: nil
        }
    }
}
