import Foundation

/// The safety rules of PRODUCT.md §2: the only place that decides whether a key may be deleted.
public enum SafetyRules {
    /// Whether the daemon may ever touch `aliasName`: it starts with `prefix` (case-sensitive,
    /// as AWS compares alias names) and is never an AWS-managed `alias/aws/…` alias.
    public static func isOwnedAlias(_ aliasName: String, prefix: String) -> Bool {
        guard !prefix.isEmpty, prefix.hasPrefix("alias/"), !prefix.hasPrefix("alias/aws/") else { return false }
        return aliasName.hasPrefix(prefix) && !aliasName.hasPrefix("alias/aws/")
    }

    /// Decides whether the key recorded for a transfer may be scheduled for deletion.
    ///
    /// All must hold: the key is the recorded one and customer-managed; every alias it carries is
    /// under the prefix; it carries at least one (the vendor's IAM policy conditions deletion on
    /// `kms:ResourceAliases`, and without one we cannot show the key is a transfer key); the
    /// recorded alias, if any, targets this key now. A key already pending deletion is not
    /// scheduled again, but its aliases are still removed.
    /// - Parameters:
    ///   - recordedKeyID: the bare key id stored for the transfer.
    ///   - recordedAlias: the alias stored for the transfer, if any.
    ///   - facts: what AWS says now.
    ///   - prefix: the configured `alias_prefix`.
    public static func verdict(
        recordedKeyID: String, recordedAlias: String?, facts: KeyFacts, prefix: String
    ) -> SafetyVerdict {
        guard facts.keyID == recordedKeyID else {
            return .refused(reason: "AWS answered for key \(facts.keyID), not the recorded key \(recordedKeyID)")
        }
        let foreign = facts.aliasNames.filter { !isOwnedAlias($0, prefix: prefix) }.sorted()
        if facts.isPendingDeletion {
            // Nothing left to decide for the key itself; only our own aliases are removed.
            return .alreadyPendingDeletion(
                deletionDate: facts.deletionDate,
                aliases: facts.aliasNames.filter { isOwnedAlias($0, prefix: prefix) }.sorted())
        }
        guard facts.keyManager == "CUSTOMER" else {
            return .refused(reason: "key \(recordedKeyID) is managed by \(facts.keyManager), not CUSTOMER")
        }
        guard foreign.isEmpty else {
            return .refused(
                reason:
                    "key \(recordedKeyID) also carries aliases outside \(prefix): \(foreign.joined(separator: ", "))")
        }
        guard !facts.aliasNames.isEmpty else {
            return .refused(reason: "key \(recordedKeyID) carries no alias under \(prefix)")
        }
        if let recordedAlias, !facts.aliasNames.contains(recordedAlias) {
            return .refused(reason: "alias \(recordedAlias) no longer targets key \(recordedKeyID)")
        }
        return .approved(aliases: facts.aliasNames.sorted())
    }
}
