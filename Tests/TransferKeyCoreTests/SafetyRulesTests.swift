import Foundation
import Testing

@testable import TransferKeyCore

private let prefix = "alias/CadoResponse-KMS-Alias"
private let keyID = "1234abcd-12ab-34cd-56ef-1234567890ab"
private let now = Date(timeIntervalSince1970: 1_795_000_000)
private let policy = SafetyPolicy(
    aliasPrefix: prefix, orphanGrace: 6 * 3600, orphanMaxKeyLead: 3600, maxTransferAge: 86400)
/// Made yesterday: older than the grace.
private let yesterday = now.addingTimeInterval(-86400)

private func alias(_ name: String, created: Date? = yesterday, updated: Date? = nil) -> AliasEvidence {
    AliasEvidence(name: name, creationDate: created, lastUpdatedDate: updated)
}

private func key(
    manager: String = "CUSTOMER", state: String = "Enabled", origin: String? = "AWS_KMS", store: String? = nil,
    spec: String? = "SYMMETRIC_DEFAULT", created: Date? = yesterday.addingTimeInterval(-60),
    aliases: [AliasEvidence], id: String = keyID, region: String = "eu-west-1"
) -> KeyEvidence {
    KeyEvidence(
        keyID: id, region: region, keyManager: manager, keyState: KMSKeyState(aws: state), origin: origin,
        customKeyStoreID: store,
        keySpec: spec, creationDate: created, aliases: aliases)
}

private func claims(
    _ origin: TransferOrigin = .tracked, alias recorded: String? = "\(prefix)-a", recordedAt: Date? = now,
    others: Set<String> = [], acceptedBy: String? = nil, account: String? = nil, expectsNoAlias: Bool = false
) -> TransferClaims {
    TransferClaims(
        origin: origin, recordedKeyID: keyID, recordedAlias: recorded, recordedAt: recordedAt,
        aliasesOfOtherLiveTransfers: others, provenanceAcceptedBy: acceptedBy, recordedAccountID: account,
        expectsNoAlias: expectsNoAlias)
}

private func verdict(
    _ key: KeyEvidence, _ claims: TransferClaims = claims(), replicas: [KeyEvidence] = [],
    mark: OwnershipMark? = nil, awsNow: Date? = now
) -> SafetyVerdict {
    SafetyRules.verdict(
        claims: claims, evidence: DeletionEvidence(key: key, replicas: replicas, mark: mark, awsNow: awsNow),
        policy: policy)
}

@Suite("Safety rules")
struct SafetyRulesTests {
    @Test(
        "only aliases under the prefix are ours; look-alikes and alias/aws/* never are",
        arguments: [
            ("alias/CadoResponse-KMS-Alias", true),
            ("alias/CadoResponse-KMS-Alias-imp-42", true),
            ("alias/CadoResponse-KMS-Alias/x", true),
            ("alias/cadoresponse-kms-alias-imp-42", false),
            ("alias/CadoResponse-KMS-Alia", false),
            ("alias/CadoResponse-KMS-Alias"[...].replacingOccurrences(of: "o", with: "0"), false),
            ("alias/CadoResponse_KMS-Alias-1", false),
            ("alias/aws/ebs", false),
            ("alias/prod-db", false),
            ("CadoResponse-KMS-Alias-1", false),
            ("", false),
        ])
    func ownership(alias: String, owned: Bool) {
        #expect(SafetyRules.isOwnedAlias(alias, prefix: prefix) == owned)
    }

    @Test("a misconfigured prefix owns nothing", arguments: ["", "alias/aws/", "alias/aws/x", "Cado"])
    func badPrefix(bad: String) {
        for alias in ["alias/aws/ebs", "alias/aws/x-1", "\(bad)-1", "alias/CadoResponse-KMS-Alias-1"] {
            #expect(!SafetyRules.isOwnedAlias(alias, prefix: bad))
        }
    }

    @Test("a customer key with only prefixed aliases, the recorded one among them, is approved")
    func approved() {
        let result = verdict(key(aliases: [alias("\(prefix)-b"), alias("\(prefix)-a")]))
        #expect(result == .approved(aliases: ["\(prefix)-a", "\(prefix)-b"]))
        #expect(result.allowsCleanup)
    }

    @Test("a key with a foreign alias is refused, not deleted")
    func foreignAlias() {
        let result = verdict(key(aliases: [alias("\(prefix)-a"), alias("alias/prod-db")]))
        guard case .refused(.foreignAlias, let reason) = result else {
            Issue.record("expected a foreign_alias refusal, got \(result)")
            return
        }
        #expect(reason.contains("alias/prod-db"))
        #expect(!result.allowsCleanup)
    }

    @Test(
        "what the key is: AWS managed, imported or external material, a custom key store, not symmetric — refused",
        arguments: [
            (key(manager: "AWS", aliases: [alias("\(prefix)-a")]), SafetyRule.notCustomerManaged),
            (key(origin: "EXTERNAL", aliases: [alias("\(prefix)-a")]), .originNotAWSKMS),
            (key(origin: "EXTERNAL_KEY_STORE", aliases: [alias("\(prefix)-a")]), .originNotAWSKMS),
            (key(origin: nil, aliases: [alias("\(prefix)-a")]), .originNotAWSKMS),
            (key(store: "cks-1234567890abcdef0", aliases: [alias("\(prefix)-a")]), .customKeyStore),
            (key(spec: "RSA_2048", aliases: [alias("\(prefix)-a")]), .notSymmetricEncryption),
            (key(state: "PendingImport", aliases: [alias("\(prefix)-a")]), .unknownKeyState),
            (key(state: "Unavailable", aliases: [alias("\(prefix)-a")]), .unknownKeyState),
            (key(state: "SomethingNew", aliases: [alias("\(prefix)-a")]), .unknownKeyState),
        ])
    func keyItself(evidence: KeyEvidence, rule: SafetyRule) {
        let result = verdict(evidence)
        #expect(result.rule == rule, "\(result)")
        if case .refused = result {} else { Issue.record("expected a refusal, got \(result)") }
    }

    @Test("Creating or Updating means look again later, never stuck or refused")
    func transitional() {
        for state in ["Creating", "Updating"] {
            let result = verdict(key(state: state, aliases: [alias("\(prefix)-a")]))
            guard case .deferred(.keyStateTransitional, _, let after) = result else {
                Issue.record("expected a deferral, got \(result)")
                continue
            }
            #expect(after == 60)
        }
    }

    @Test("a tracked key that an operator disabled is still cleaned; a discovered one is refused")
    func disabled() {
        #expect(verdict(key(state: "Disabled", aliases: [alias("\(prefix)-a")])).allowsCleanup)
        let discovered = verdict(
            key(state: "Disabled", aliases: [alias("\(prefix)-a")]), claims(.discovered),
            mark: .valid(importID: "imp-1"))
        #expect(discovered.rule == .discoveredDisabled)
        #expect(
            verdict(
                key(state: "Disabled", aliases: [alias("\(prefix)-a")]), claims(.discovered, acceptedBy: "alice"),
                mark: nil
            ).allowsCleanup, "an operator's acceptance waives it")
    }

    @Test("a recorded alias that now targets another key is refused")
    func retargeted() {
        #expect(verdict(key(aliases: [alias("\(prefix)-other")])).rule == .aliasRetargeted)
    }

    @Test("a key with no alias under the prefix is refused")
    func noAlias() {
        #expect(verdict(key(aliases: []), claims(alias: nil)).rule == .noPrefixedAlias)
    }

    @Test("an answer about a different key is refused")
    func otherKey() {
        #expect(
            verdict(key(aliases: [alias("\(prefix)-a")], id: "ffffffff-12ab-34cd-56ef-1234567890ab")).rule
                == .keyMismatch)
    }

    @Test("another live import's alias on the key defers the deletion instead of killing its key")
    func sharedKey() {
        let result = verdict(
            key(aliases: [alias("\(prefix)-a"), alias("\(prefix)-b", created: now.addingTimeInterval(-5))]),
            claims(others: ["\(prefix)-b"]))
        guard case .deferred(.sharedKey, let reason, _) = result else {
            Issue.record("expected a shared_key deferral, got \(result)")
            return
        }
        #expect(reason.contains("\(prefix)-b"))
    }

    @Test("an unrecorded prefixed alias that appeared after track, younger than the grace by AWS's clock, defers")
    func youngUnrecorded() {
        let young = alias("\(prefix)-new", created: now.addingTimeInterval(-60))
        let recorded = claims(recordedAt: now.addingTimeInterval(-3600))
        guard
            case .deferred(.youngAlias, _, let after?) = verdict(key(aliases: [alias("\(prefix)-a"), young]), recorded)
        else {
            Issue.record("expected a young_alias deferral")
            return
        }
        #expect(abs(after - (6 * 3600 - 60)) < 1, "looked at again when the grace is over")
        // Once the grace has passed by AWS's clock, it may go.
        #expect(
            verdict(
                key(aliases: [alias("\(prefix)-a"), young]), recorded, awsNow: now.addingTimeInterval(6 * 3600)
            ).allowsCleanup)
        // Whatever its date relative to `track` (the host's clock, or another import's alias made seconds before
        // `track`): only the alias the transfer recorded is its own.
        #expect(verdict(key(aliases: [alias("\(prefix)-a"), young]), claims(recordedAt: now)).rule == .youngAlias)
        #expect(
            verdict(
                key(aliases: [alias("\(prefix)-a"), young]), claims(recordedAt: now.addingTimeInterval(7 * 3600))
            ).rule == .youngAlias, "a host clock 7 h fast changes nothing")
        // A retargeted alias is as young as its move (LastUpdatedDate), not its creation.
        let moved = alias(
            "\(prefix)-moved", created: now.addingTimeInterval(-40 * 86400), updated: now.addingTimeInterval(-15))
        #expect(verdict(key(aliases: [alias("\(prefix)-a"), moved]), recorded).rule == .youngAlias)
        // Without AWS's clock the age cannot be judged: wait.
        #expect(verdict(key(aliases: [alias("\(prefix)-a"), young]), recorded, awsNow: nil).rule == .awsTimeUnknown)
    }

    @Test("a discovered key needs provenance: the import-id tag, or made shortly before its alias and young enough")
    func provenance() {
        let aliasMade = now.addingTimeInterval(-7 * 3600)
        let aliases = [alias("\(prefix)-x", created: aliasMade)]
        // Made a minute before its alias: a transfer key.
        #expect(
            verdict(
                key(created: aliasMade.addingTimeInterval(-60), aliases: aliases),
                claims(.discovered, alias: "\(prefix)-x"), mark: .absent
            ).allowsCleanup)
        // A 400-day-old production key with a planted alias: refused, with the missing evidence named.
        let planted = verdict(
            key(created: now.addingTimeInterval(-400 * 86400), aliases: aliases),
            claims(.discovered, alias: "\(prefix)-x"),
            mark: .absent)
        guard case .refused(.noProvenance, let reason) = planted else {
            Issue.record("expected no_provenance, got \(planted)")
            return
        }
        #expect(reason.contains("before its first prefixed alias"))
        // A mark that verified is enough, whatever the key's age; a mark that does not verify, or one nobody could
        // verify, proves nothing.
        #expect(
            verdict(
                key(created: now.addingTimeInterval(-400 * 86400), aliases: aliases),
                claims(.discovered, alias: "\(prefix)-x"), mark: .valid(importID: "imp-9")
            ).allowsCleanup)
        for unproven: OwnershipMark in [.invalid("copied"), .unverifiable("no mark key"), .absent] {
            #expect(
                verdict(
                    key(created: now.addingTimeInterval(-400 * 86400), aliases: aliases),
                    claims(.discovered, alias: "\(prefix)-x"), mark: unproven
                ).rule == .noProvenance, "\(unproven)")
        }
        // A young-looking key judged at a reference before it was made (a host clock far behind): no provenance.
        #expect(
            verdict(
                key(created: aliasMade.addingTimeInterval(-60), aliases: aliases),
                claims(.discovered, alias: "\(prefix)-x", recordedAt: now.addingTimeInterval(-30 * 86400)),
                mark: .absent
            ).rule == .noProvenance)
        // Made shortly before its alias, but older than max_transfer_age + orphan_grace.
        let old = now.addingTimeInterval(-40 * 3600)
        #expect(
            verdict(
                key(created: old, aliases: [alias("\(prefix)-x", created: old.addingTimeInterval(60))]),
                claims(.discovered, alias: "\(prefix)-x"), mark: .absent
            ).rule == .noProvenance)
        // An operator's acceptance waives provenance, nothing else.
        #expect(
            verdict(
                key(created: now.addingTimeInterval(-400 * 86400), aliases: aliases),
                claims(.discovered, alias: "\(prefix)-x", acceptedBy: "alice"), mark: nil
            ).allowsCleanup)
        #expect(
            verdict(
                key(created: now.addingTimeInterval(-400 * 86400), aliases: aliases + [alias("alias/prod-db")]),
                claims(.discovered, alias: "\(prefix)-x", acceptedBy: "alice"), mark: nil
            ).rule == .foreignAlias)
    }

    @Test("not while in use: a later use defers then refuses; a foreign or late grant refuses; the import's own pass")
    func inUse() {
        let ended = now.addingTimeInterval(-7200)
        let policy = SafetyPolicy(
            aliasPrefix: prefix, orphanGrace: 6 * 3600, usageSlack: 900, inUseDeferrals: 2,
            importGrantees: ["arn:aws:sts::*:assumed-role/aws:ec2-infrastructure/*"])
        func claims(deferrals: Int = 0, ended: Date? = ended) -> TransferClaims {
            TransferClaims(
                origin: .tracked, recordedKeyID: keyID, recordedAlias: "\(prefix)-a", importEndedAt: ended,
                inUseDeferrals: deferrals)
        }
        let later = KeyUsage(lastUse: .init(operation: "Decrypt", at: ended.addingTimeInterval(3600)))
        #expect(SafetyRules.inUse(later, claims: claims(), policy: policy)?.rule == .inUse)
        guard case .deferred? = SafetyRules.inUse(later, claims: claims(deferrals: 1), policy: policy) else {
            Issue.record("deferred while fewer than in_use_deferrals looks")
            return
        }
        guard case .refused(.inUse, _)? = SafetyRules.inUse(later, claims: claims(deferrals: 2), policy: policy) else {
            Issue.record("refused after in_use_deferrals looks")
            return
        }
        let withinSlack = KeyUsage(lastUse: .init(operation: "Encrypt", at: ended.addingTimeInterval(600)))
        #expect(SafetyRules.inUse(withinSlack, claims: claims(), policy: policy) == nil)
        #expect(SafetyRules.inUse(KeyUsage(), claims: claims(), policy: policy) == nil)
        // Without the import's end every use counts.
        #expect(SafetyRules.inUse(withinSlack, claims: claims(ended: nil), policy: policy)?.rule == .inUse)
        let infra = "arn:aws:sts::111122223333:assumed-role/aws:ec2-infrastructure/i-1"
        let own = KeyUsage(grants: [.init(grantID: "g", granteePrincipal: infra, creationDate: ended)])
        #expect(SafetyRules.inUse(own, claims: claims(), policy: policy) == nil)
        let late = KeyUsage(grants: [.init(grantID: "g", granteePrincipal: infra, creationDate: now)])
        #expect(SafetyRules.inUse(late, claims: claims(), policy: policy)?.rule == .grantedToOthers)
        let undated = KeyUsage(grants: [.init(grantID: "g", granteePrincipal: infra)])
        #expect(SafetyRules.inUse(undated, claims: claims(), policy: policy)?.rule == .grantedToOthers)
        let other = KeyUsage(grants: [
            .init(grantID: "g", granteePrincipal: "arn:aws:iam::444455556666:root", creationDate: ended)
        ])
        #expect(SafetyRules.inUse(other, claims: claims(), policy: policy)?.rule == .grantedToOthers)
        // And through the verdict: the evidence of use decides after every other rule.
        let result = SafetyRules.verdict(
            claims: claims(),
            evidence: DeletionEvidence(key: key(aliases: [alias("\(prefix)-a")]), usage: other, awsNow: now),
            policy: policy)
        #expect(result.rule == .grantedToOthers)
    }

    @Test("an attempt to use a key pending deletion: a refused cryptographic call after it was scheduled, the earliest")
    func attemptedUse() {
        let scheduled = now.addingTimeInterval(-86400)
        let refused = KeyCallEvent(
            eventID: "e-2", name: "Decrypt", at: now.addingTimeInterval(-60), principal: "arn:aws:iam::1:role/R",
            errorCode: "KMSInvalidStateException", errorMessage: "arn is pending deletion.")
        let earlier = KeyCallEvent(
            eventID: "e-1", name: "GenerateDataKey", at: now.addingTimeInterval(-600),
            errorCode: "KMSInvalidStateException")
        // Not attempts: our own calls, a success before scheduling, a refusal before it, another error.
        let noise = [
            KeyCallEvent(eventID: "n-1", name: "ScheduleKeyDeletion", at: now, errorCode: "KMSInvalidStateException"),
            KeyCallEvent(eventID: "n-2", name: "Decrypt", at: scheduled.addingTimeInterval(-60)),
            KeyCallEvent(
                eventID: "n-3", name: "Decrypt", at: scheduled.addingTimeInterval(-10),
                errorCode: "KMSInvalidStateException"),
            KeyCallEvent(eventID: "n-4", name: "Encrypt", at: now, errorCode: "AccessDeniedException"),
            KeyCallEvent(eventID: "n-5", name: "DescribeKey", at: now),
        ]
        #expect(SafetyRules.attemptedUse(noise, since: scheduled) == nil)
        #expect(SafetyRules.attemptedUse([refused] + noise + [earlier], since: scheduled)?.eventID == "e-1")
        #expect(SafetyRules.attemptedUse([refused], since: scheduled)?.principal == "arn:aws:iam::1:role/R")
    }

    @Test("who made a key proven only by its age: a platform principal passes, anyone else is made_by_other")
    func creator() {
        let platform = ["arn:aws:iam::111122223333:role/CadoResponse*"]
        func made(by principal: String?, failed: Bool = false) -> [KeyCallEvent] {
            [
                KeyCallEvent(eventID: "d", name: "Decrypt", at: now, principal: "arn:aws:iam::1:role/X"),
                KeyCallEvent(
                    eventID: "c", name: "CreateKey", at: now.addingTimeInterval(-60), principal: principal,
                    errorCode: failed ? "AccessDeniedException" : nil),
            ]
        }
        #expect(
            SafetyRules.creator(
                of: keyID, events: made(by: "arn:aws:iam::111122223333:role/CadoResponseRole"),
                platformPrincipals: platform) == nil)
        let other = SafetyRules.creator(
            of: keyID, events: made(by: "arn:aws:iam::111122223333:user/engineer"), platformPrincipals: platform)
        #expect(other?.rule == .madeByOther && other?.reason.contains("user/engineer") == true)
        #expect(SafetyRules.creator(of: keyID, events: [], platformPrincipals: platform)?.rule == .noProvenance)
        #expect(
            SafetyRules.creator(
                of: keyID, events: made(by: "arn:aws:iam::111122223333:role/CadoResponseRole", failed: true),
                platformPrincipals: platform)?.rule == .noProvenance, "a failed CreateKey made nothing")
        #expect(
            SafetyRules.creator(of: keyID, events: [], lookupFailure: "AccessDenied", platformPrincipals: platform)?
                .reason.contains("AccessDenied") == true)
        // No platform principals configured: nothing to check.
        #expect(SafetyRules.creator(of: keyID, events: [], platformPrincipals: []) == nil)
    }

    @Test("IAM StringLike patterns: * any run, ? one character, everything else literal")
    func stringLike() {
        #expect(SafetyRules.matches("arn:aws:iam::1:role/x", pattern: "arn:aws:iam::*:role/*"))
        #expect(SafetyRules.matches("abc", pattern: "a?c"))
        #expect(!SafetyRules.matches("abbc", pattern: "a?c"))
        #expect(SafetyRules.matches("", pattern: "*"))
        #expect(!SafetyRules.matches("arn:aws:iam::1:user/x", pattern: "arn:aws:iam::*:role/*"))
        #expect(SafetyRules.matches("a*b", pattern: "a*b"))
        #expect(!SafetyRules.matches("ab", pattern: "abc"))
    }

    @Test("a key whose ARN names another account than the recorded one is refused, naming both")
    func accountMismatch() {
        var evidence = key(aliases: [alias("\(prefix)-a")])
        evidence.accountID = "123456789012"
        let result = verdict(evidence, claims(account: "999988887777"))
        guard case .refused(.accountMismatch, let reason) = result else {
            Issue.record("expected account_mismatch, got \(result)")
            return
        }
        #expect(reason.contains("123456789012") && reason.contains("999988887777"))
        #expect(verdict(evidence, claims(account: "123456789012")).allowsCleanup)
    }

    @Test("a key create made without an alias is retired only while nothing names it and it is single-Region")
    func retirement() {
        let bare = key(aliases: [])
        #expect(verdict(bare, claims(.created, alias: nil, expectsNoAlias: true)) == .approved(aliases: []))
        #expect(
            verdict(key(aliases: [alias("\(prefix)-planted")]), claims(.created, alias: nil, expectsNoAlias: true)).rule
                == .notADuplicate)
        #expect(
            verdict(key(aliases: [alias("alias/prod-eu-db")]), claims(.created, alias: nil, expectsNoAlias: true)).rule
                == .foreignAlias)
        var primary = bare
        primary.multiRegionKeyType = "PRIMARY"
        #expect(verdict(primary, claims(.created, alias: nil, expectsNoAlias: true)).rule == .notADuplicate)
        #expect(
            verdict(
                bare, claims(.created, alias: nil, expectsNoAlias: true),
                replicas: [key(aliases: [alias("alias/prod-eu-db")], region: "eu-central-1")]
            ).allowsCleanup == false)
        // Something appearing after the call cancels it.
        #expect(
            SafetyRules.recheckAfterScheduling(
                key(aliases: [alias("\(prefix)-new")]), claims: claims(.created, alias: nil, expectsNoAlias: true),
                prefix: prefix) != nil)
    }

    @Test("every replica passes the same rules in its own region before anything is scheduled")
    func replicas() {
        let primary = key(aliases: [alias("\(prefix)-a")])
        let clean = key(aliases: [alias("\(prefix)-a")], region: "us-west-2")
        #expect(verdict(primary, replicas: [clean]).allowsCleanup)
        let foreign = key(aliases: [alias("\(prefix)-a"), alias("alias/prod-db")], region: "us-west-2")
        #expect(verdict(primary, replicas: [foreign]).rule == .foreignAlias)
        let creating = key(state: "Creating", aliases: [], region: "us-west-2")
        #expect(verdict(primary, replicas: [creating]).rule == .keyStateTransitional)
        // A primary already pending (a replica call failed last time) still waits for a replica being made.
        let pendingPrimary = key(state: "PendingReplicaDeletion", aliases: [alias("\(prefix)-a")])
        #expect(verdict(pendingPrimary, replicas: [creating]).rule == .keyStateTransitional)
    }

    @Test("a key already pending deletion is settled; a foreign alias on it is a refusal (the worker cancels)")
    func alreadyPending() {
        let date = Date(timeIntervalSince1970: 1_800_000_000)
        var pending = key(state: "PendingDeletion", aliases: [alias("\(prefix)-a")])
        pending.deletionDate = date
        #expect(verdict(pending) == .alreadyPendingDeletion(deletionDate: date, aliases: ["\(prefix)-a"]))
        pending.aliases.append(alias("alias/prod-db"))
        #expect(verdict(pending).rule == .foreignAlias)
        let replica = key(state: "PendingReplicaDeletion", aliases: [])
        #expect(verdict(replica, claims(alias: nil)) == .alreadyPendingDeletion(deletionDate: nil, aliases: []))
    }

    @Test("after scheduling, a new foreign alias or another live import's alias means cancel")
    func recheck() {
        let clean = key(state: "PendingDeletion", aliases: [alias("\(prefix)-a")])
        #expect(SafetyRules.recheckAfterScheduling(clean, claims: claims(), prefix: prefix) == nil)
        let foreign = key(state: "PendingDeletion", aliases: [alias("\(prefix)-a"), alias("alias/prod-db")])
        #expect(
            SafetyRules.recheckAfterScheduling(foreign, claims: claims(), prefix: prefix)?.contains("alias/prod-db")
                == true)
        let shared = key(state: "PendingDeletion", aliases: [alias("\(prefix)-a"), alias("\(prefix)-b")])
        #expect(
            SafetyRules.recheckAfterScheduling(shared, claims: claims(others: ["\(prefix)-b"]), prefix: prefix) != nil)
    }

    @Test("only operator-judgeable rules can be waived")
    func waivable() {
        #expect(SafetyRule.allCases.filter(\.isWaivable) == [.noProvenance, .discoveredDisabled])
    }
}
