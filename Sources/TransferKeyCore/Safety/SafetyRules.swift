import Foundation

/// The safety rules (README "How it stays safe"): the only place that decides whether a key may be deleted.
///
/// Pure functions of the evidence gathered from AWS and the transfer's own record: no I/O, no clock. The worker and
/// the scanner gather the evidence; every decision, with the rule that made it, goes into the audit trail.
public enum SafetyRules {
    /// The shortest `alias_prefix` accepted: `alias/` and eight characters. A shorter one (`alias/C`) matches
    /// aliases nobody meant as transfer aliases (`alias/CustomerBillingDB`). The vendor's prefix is 28 long.
    public static let minimumPrefixLength = "alias/".count + 8

    /// Whether the daemon may ever touch `aliasName`: it starts with `prefix` (case-sensitive, as AWS compares
    /// alias names) and is never an AWS-managed `alias/aws/…` alias.
    public static func isOwnedAlias(_ aliasName: String, prefix: String) -> Bool {
        guard !prefix.isEmpty, prefix.hasPrefix("alias/"), !prefix.hasPrefix("alias/aws/") else { return false }
        return aliasName.hasPrefix(prefix) && !aliasName.hasPrefix("alias/aws/")
    }

    /// Decides whether the key recorded for a transfer may be scheduled for deletion now.
    ///
    /// All must hold, in the transfer's region and in every replica's: the key is the recorded one, customer
    /// managed, `AWS_KMS` origin outside any custom key store, symmetric `ENCRYPT_DECRYPT`, in a state that
    /// allows deletion; every alias is under the prefix and there is at least one; the recorded alias targets
    /// it; no other live transfer's alias is on it and no prefixed alias that may be another import's changed
    /// within `orphan_grace` (by AWS's clock); a discovered key also has provenance (`provenance(of:…)`) or an
    /// operator accepted it. A key already pending deletion that nothing else uses only loses its aliases.
    public static func verdict(
        claims: TransferClaims, evidence: DeletionEvidence, policy: SafetyPolicy
    ) -> SafetyVerdict {
        let key = evidence.key
        let keyID = claims.recordedKeyID
        guard key.keyID == keyID else {
            return .refused(.keyMismatch, reason: "AWS answered for key \(key.keyID), not the recorded key \(keyID)")
        }
        if let mismatch = accountMismatch(evidence, claims: claims) { return mismatch }
        let prefix = policy.aliasPrefix
        if key.keyState.isPendingDeletion {
            // Whoever scheduled it, a key that something else names must not lose its aliases (the worker cancels
            // the deletion when it is ours): every alias outside the prefix, and every live import's, counts.
            if let reason = othersUsing(key, claims: claims, prefix: prefix) { return reason }
            if let named = namedRetirement(evidence, claims: claims) { return named }
            // Replicas not yet pending must still pass every rule before they are scheduled.
            if let replica = replicaRules(evidence, claims: claims, policy: policy) { return replica }
            return .alreadyPendingDeletion(
                deletionDate: key.deletionDate, aliases: key.aliasNames.filter { isOwnedAlias($0, prefix: prefix) })
        }
        // A key this daemon disabled (disable_first) is as good as accepted for the Disabled rule: nobody else acted.
        let isAccepted = claims.provenanceAcceptedBy != nil || claims.disabledByDaemonAt != nil
        if let broken = keyRules(key, origin: claims.origin, isAccepted: isAccepted, where: "key \(keyID)") {
            return broken
        }
        if let used = othersUsing(key, claims: claims, prefix: prefix) { return used }
        if claims.expectsNoAlias {
            // A key `create` made and never aliased: nothing may name it, and it is what CreateKey makes.
            if let named = namedRetirement(evidence, claims: claims) { return named }
            if let usage = evidence.usage, let used = inUse(usage, claims: claims, policy: policy) { return used }
            return .approved(aliases: [])
        }
        let owned = key.aliasNames
        // A recorded replica's alias lives in the replica's region; the key is the same everywhere.
        let everywhere = Set(owned + evidence.replicas.flatMap(\.aliasNames))
        if let recorded = claims.recordedAlias, !everywhere.contains(recorded) {
            return .refused(
                .aliasRetargeted, reason: "alias \(recorded) no longer targets key \(keyID) (moved or deleted)")
        }
        guard !owned.isEmpty else {
            return .refused(.noPrefixedAlias, reason: "key \(keyID) carries no alias under \(prefix)")
        }
        if let young = youngAlias(key, claims: claims, awsNow: evidence.awsNow, policy: policy) { return young }
        if claims.origin == .discovered, claims.provenanceAcceptedBy == nil {
            let reference = [claims.recordedAt, evidence.awsNow].compactMap { $0 }.min()
            if case .missing(let what) = provenance(of: key, mark: evidence.mark, at: reference, policy: policy) {
                return .refused(.noProvenance, reason: "discovered key \(keyID): \(what)")
            }
        }
        if let replica = replicaRules(evidence, claims: claims, policy: policy) { return replica }
        if let usage = evidence.usage, let used = inUse(usage, claims: claims, policy: policy) { return used }
        return .approved(aliases: owned)
    }

    /// What AWS recorded about the key's use: a live grant to anyone but the import's grantees, or made after the
    /// import ended, refuses it (`granted_to_others`); a cryptographic use after the import ended (beyond
    /// `usage_slack`) defers it (`in_use`), and refuses it once it was deferred `in_use_deferrals` times. Nil when
    /// nothing uses it. Without the import's end (by AWS's clock) every use counts.
    public static func inUse(_ usage: KeyUsage, claims: TransferClaims, policy: SafetyPolicy) -> SafetyVerdict? {
        let ended = claims.importEndedAt
        let cutoff = ended?.addingTimeInterval(policy.usageSlack)
        for grant in usage.grants.sorted(by: { $0.grantID < $1.grantID }) {
            let grantee = grant.granteePrincipal ?? "(no grantee)"
            let isImports = policy.importGrantees.contains { pattern in
                grant.granteePrincipal.map { matches($0, pattern: pattern) } ?? false
            }
            let madeAfter = cutoff.map { cutoff in (grant.creationDate ?? .distantFuture) > cutoff } ?? true
            if !isImports || madeAfter {
                let why = !isImports ? "not one of import_grantees" : "made after the import ended"
                return .refused(
                    .grantedToOthers,
                    reason: "key \(claims.recordedKeyID) has a live grant \(grant.grantID) to \(grantee) (\(why))")
            }
        }
        guard let use = usage.lastUse else { return nil }
        if let cutoff, use.at <= cutoff { return nil }
        let when = Timestamp.string(use.at)
        let event = use.cloudTrailEventID.map { ", CloudTrail event \($0)" } ?? ""
        let reason =
            "key \(claims.recordedKeyID) was used (\(use.operation) at \(when)\(event)) after its import ended"
            + (ended.map { " (\(Timestamp.string($0)), usage_slack \(span(policy.usageSlack)))" } ?? "")
        if claims.inUseDeferrals >= policy.inUseDeferrals {
            return .refused(.inUse, reason: reason + "; still in use after \(claims.inUseDeferrals) looks")
        }
        return .deferred(.inUse, reason: reason, retryAfter: nil)
    }

    /// IAM's `StringLike`: `*` matches any run of characters, `?` one character; everything else literally.
    public static func matches(_ text: String, pattern: String) -> Bool {
        let t = Array(text.unicodeScalars)
        let p = Array(pattern.unicodeScalars)
        var ti = 0
        var pi = 0
        var star = -1
        var mark = 0
        while ti < t.count {
            if pi < p.count, p[pi] == "*" {
                star = pi
                mark = ti
                pi += 1
            } else if pi < p.count, p[pi] == "?" || p[pi] == t[ti] {
                ti += 1
                pi += 1
            } else if star >= 0 {
                pi = star + 1
                mark += 1
                ti = mark
            } else {
                return false
            }
        }
        while pi < p.count, p[pi] == "*" { pi += 1 }
        return pi == p.count
    }

    /// The key's ARN names another account than the transfer recorded (in its region or a replica's). Nil when they
    /// agree, or when AWS named no account (an answer without an ARN proves nothing either way).
    static func accountMismatch(_ evidence: DeletionEvidence, claims: TransferClaims) -> SafetyVerdict? {
        guard let recorded = claims.recordedAccountID else { return nil }
        for key in [evidence.key] + evidence.replicas {
            if let named = key.accountID, named != recorded {
                return .refused(
                    .accountMismatch,
                    reason:
                        "key \(key.keyID) in \(key.region) belongs to account \(named) by its ARN, not the recorded account \(recorded)"
                )
            }
        }
        return nil
    }

    /// For a key that must carry no alias (`TransferClaims.expectsNoAlias`): any alias in any region, or a multi-Region
    /// key, means it is not a duplicate `create` made and lost. Nil when neither.
    static func namedRetirement(_ evidence: DeletionEvidence, claims: TransferClaims) -> SafetyVerdict? {
        guard claims.expectsNoAlias else { return nil }
        let names = Set(([evidence.key] + evidence.replicas).flatMap(\.aliasNames)).sorted()
        if !names.isEmpty {
            return .refused(
                .notADuplicate,
                reason:
                    "key \(claims.recordedKeyID) was recorded as a key create made without an alias, and it carries \(names.joined(separator: ", "))"
            )
        }
        if evidence.key.multiRegionKeyType != nil || !evidence.replicas.isEmpty {
            return .refused(
                .notADuplicate,
                reason: "key \(claims.recordedKeyID) is multi-Region; create makes single-Region keys only")
        }
        return nil
    }

    /// Every replica, in its own region: the same key, nothing else using it, and (unless already pending) the same
    /// rules as the primary. Nil when all pass.
    static func replicaRules(
        _ evidence: DeletionEvidence, claims: TransferClaims, policy: SafetyPolicy
    ) -> SafetyVerdict? {
        for replica in evidence.replicas {
            let place = "replica of \(claims.recordedKeyID) in \(replica.region)"
            guard replica.keyID == claims.recordedKeyID else {
                return .refused(.keyMismatch, reason: "\(place): AWS answered for key \(replica.keyID)")
            }
            if let used = othersUsing(replica, claims: claims, prefix: policy.aliasPrefix, place: place) { return used }
            if replica.keyState.isPendingDeletion { continue }
            if let broken = keyRules(
                replica, origin: claims.origin,
                isAccepted: claims.provenanceAcceptedBy != nil || claims.disabledByDaemonAt != nil, where: place)
            {
                return broken
            }
            if let young = youngAlias(replica, claims: claims, awsNow: evidence.awsNow, policy: policy, place: place) {
                return young
            }
        }
        return nil
    }

    /// What the key itself must be, whoever recorded it: customer managed, made by KMS outside custom key
    /// stores, symmetric encryption, in a state that lets it be deleted. Nil when all hold.
    static func keyRules(
        _ key: KeyEvidence, origin: TransferOrigin, isAccepted: Bool, where place: String
    ) -> SafetyVerdict? {
        guard key.keyManager == KMSValue.customerManaged else {
            return .refused(.notCustomerManaged, reason: "\(place) is managed by \(key.keyManager), not CUSTOMER")
        }
        guard key.origin == KMSValue.originAWSKMS else {
            return .refused(
                .originNotAWSKMS,
                reason: "\(place) has origin \(key.origin ?? "(none)"), not AWS_KMS (imported or external key material)"
            )
        }
        if let store = key.customKeyStoreID, !store.isEmpty {
            return .refused(.customKeyStore, reason: "\(place) lives in custom key store \(store)")
        }
        guard key.keySpec == KMSValue.symmetricDefault, key.keyUsage == KMSValue.encryptDecrypt else {
            return .refused(
                .notSymmetricEncryption,
                reason:
                    "\(place) is \(key.keySpec ?? "(no spec)")/\(key.keyUsage ?? "(no usage)"), not a symmetric ENCRYPT_DECRYPT key"
            )
        }
        switch key.keyState {
        case .enabled:
            return nil
        case .disabled:
            guard origin == .discovered, !isAccepted else { return nil }
            return .refused(
                .discoveredDisabled, reason: "\(place) is Disabled: somebody acted on this unrecorded key")
        case .creating, .updating:
            return .deferred(
                .keyStateTransitional, reason: "\(place) is \(key.keyState); looked at again shortly", retryAfter: 60)
        case .pendingDeletion, .pendingReplicaDeletion, .pendingImport, .unavailable, .unknown:
            return .refused(.unknownKeyState, reason: "\(place) is \(key.keyState), a state no rule approves")
        }
    }

    /// A foreign alias (refused) or another live transfer's alias (deferred) on the key. Nil when neither.
    static func othersUsing(
        _ key: KeyEvidence, claims: TransferClaims, prefix: String, place: String? = nil
    ) -> SafetyVerdict? {
        let place = place ?? "key \(key.keyID)"
        let foreign = key.aliasNames.filter { !isOwnedAlias($0, prefix: prefix) }
        guard foreign.isEmpty else {
            return .refused(
                .foreignAlias,
                reason: "\(place) also carries aliases outside \(prefix): \(foreign.joined(separator: ", "))")
        }
        let shared = key.aliasNames.filter {
            claims.aliasesOfOtherLiveTransfers.contains($0) && $0 != claims.recordedAlias
        }
        guard shared.isEmpty else {
            return .deferred(
                .sharedKey,
                reason:
                    "\(place) also carries \(shared.joined(separator: ", ")) of another transfer whose import is not over",
                retryAfter: nil)
        }
        return nil
    }

    /// A prefixed alias that may belong to an import that has not recorded itself yet, changed less than
    /// `orphan_grace` ago by AWS's clock. Only the alias a tracked or created transfer recorded is its own: every
    /// other prefixed alias counts whatever its date relative to `track` (that date is the host's, and another
    /// import's alias made seconds before `track` is as young). A discovered key has no such claim: every alias
    /// counts. Nil when none is young.
    static func youngAlias(
        _ key: KeyEvidence, claims: TransferClaims, awsNow: Date?, policy: SafetyPolicy, place: String? = nil
    ) -> SafetyVerdict? {
        let place = place ?? "key \(key.keyID)"
        for alias in key.aliases.sorted(by: { $0.name < $1.name }) {
            if claims.origin != .discovered, alias.name == claims.recordedAlias { continue }
            guard let changed = alias.lastChanged else {
                return .deferred(
                    .youngAlias, reason: "\(place): AWS gave no date for \(alias.name); it may be a new import's",
                    retryAfter: nil)
            }
            guard let awsNow else {
                return .deferred(
                    .awsTimeUnknown, reason: "\(place): AWS's clock is not known yet to age \(alias.name)",
                    retryAfter: 60)
            }
            let age = awsNow.timeIntervalSince(changed)
            if age < policy.orphanGrace {
                return .deferred(
                    .youngAlias,
                    reason:
                        "\(place): \(alias.name) changed \(Int(max(age, 0)))s ago (orphan_grace \(Int(policy.orphanGrace))s); it may be a new import's",
                    retryAfter: policy.orphanGrace - age)
            }
        }
        return nil
    }

    /// Whether a key nobody recorded is a transfer key: it carries an ownership mark that verified (only this daemon
    /// can make one, bound to the key's ARN), or it was made at most `orphan_max_key_lead` before its first prefixed
    /// alias and is younger than `max_transfer_age` + `orphan_grace` at `reference` (AWS's clock). A prefixed alias
    /// or an import-id tag alone is a claim anyone with `kms:CreateAlias` or `kms:TagResource` can make, never proof.
    /// - Parameters:
    ///   - key: the key and its aliases (only the prefixed ones count for the lead).
    ///   - mark: the key's ownership mark as verified; nil when it was not looked at.
    ///   - reference: AWS's time at which the key's age is judged.
    public static func provenance(
        of key: KeyEvidence, mark: OwnershipMark?, at reference: Date?, policy: SafetyPolicy
    ) -> Provenance {
        var missing: String
        switch mark {
        case .valid(let importID)?: return .mark(importID: importID)
        case .invalid(let why)?: missing = "its ownership mark is invalid (\(why))"
        case .unverifiable(let why)?: missing = "its ownership mark could not be verified (\(why))"
        case .absent?: missing = "no ownership mark"
        case nil: missing = "its ownership mark was not read"
        }
        guard let created = key.creationDate else {
            return .missing(missing + ", and DescribeKey gave no CreationDate")
        }
        let firstAlias = key.aliases.filter { isOwnedAlias($0.name, prefix: policy.aliasPrefix) }
            .compactMap(\.creationDate).min()
        guard let firstAlias else { return .missing(missing + ", and no prefixed alias has a CreationDate") }
        let lead = firstAlias.timeIntervalSince(created)
        missing += ", and the key was made \(Timestamp.string(created))"
        guard lead >= 0 else {
            return .missing(
                missing + ", after its first prefixed alias (\(Timestamp.string(firstAlias))): moved onto it")
        }
        guard lead <= policy.orphanMaxKeyLead else {
            return .missing(
                missing
                    + ", \(Self.span(lead)) before its first prefixed alias (orphan_max_key_lead \(Self.span(policy.orphanMaxKeyLead)))"
            )
        }
        guard let reference else { return .missing(missing + "; AWS's clock is not known to age it") }
        let age = reference.timeIntervalSince(created)
        // AWS made the key before it was seen: a key "younger than zero" means the reference is not AWS's time.
        guard age >= -Self.dateSlack else {
            return .missing(
                missing + ", after the time it is judged at (\(Timestamp.string(reference))): clocks disagree")
        }
        let limit = policy.maxTransferAge + policy.orphanGrace
        guard age <= limit else {
            return .missing(
                missing + ", \(Self.span(age)) ago (older than max_transfer_age + orphan_grace, \(Self.span(limit)))")
        }
        return .youngKey(lead: lead, age: age)
    }

    /// How far two of AWS's own dates may disagree and still count as the same instant: the `Date` header has whole
    /// seconds, and AWS's services stamp their records a moment apart.
    public static let dateSlack: TimeInterval = 5

    /// After `ScheduleKeyDeletion`: the aliases read again. Nil when every alias is under the prefix and none is
    /// another live transfer's, so the prefixed ones may go; otherwise why the deletion must be cancelled at once.
    public static func recheckAfterScheduling(
        _ key: KeyEvidence, claims: TransferClaims, prefix: String
    ) -> String? {
        if claims.expectsNoAlias, !key.aliases.isEmpty {
            return
                "after ScheduleKeyDeletion: key \(key.keyID) in \(key.region), made by create without an alias, now carries \(key.aliasNames.joined(separator: ", "))"
        }
        switch othersUsing(key, claims: claims, prefix: prefix, place: "key \(key.keyID) in \(key.region)") {
        case .refused(_, let reason), .deferred(_, let reason, _): return "after ScheduleKeyDeletion: \(reason)"
        default: return nil
        }
    }

    /// A duration in the largest whole unit, e.g. `400d`, `3h`, `90s`.
    public static func span(_ seconds: TimeInterval) -> String {
        let value = Int(seconds.rounded())
        if value >= 86_400, value % 86_400 == 0 || value >= 864_000 { return "\(value / 86_400)d" }
        if value >= 3_600, value % 3_600 == 0 || value >= 36_000 { return "\(value / 3_600)h" }
        if value >= 60, value % 60 == 0 || value >= 600 { return "\(value / 60)m" }
        return "\(value)s"
    }
}
