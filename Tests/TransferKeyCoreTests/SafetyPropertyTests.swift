import Foundation
import PropertyBased
import Testing
import TransferKeyTestSupport

@testable import TransferKeyCore

/// The safety predicates of PRODUCT.md §2 against random alias sets and key metadata, with an
/// oracle written from the contract's words rather than from `SafetyRules`' code.
@Suite("Safety rules: property-based fuzzing")
struct SafetyPropertyTests {
    static let prefix = "alias/CadoResponse-KMS-Alias"
    static let recordedKeyID = "1234abcd-12ab-34cd-56ef-1234567890ab"

    /// Aliases a key may carry: ours, near misses of ours, AWS's, and production names.
    static let aliasPool = [
        "alias/CadoResponse-KMS-Alias-imp-1", "alias/CadoResponse-KMS-Alias-imp-2", "alias/CadoResponse-KMS-Alias",
        "alias/CadoResponse-KMS-Alias/nested", "alias/cadoresponse-kms-alias-imp-1", "alias/CadoResponse-KMS-Alia",
        "alias/CadoResponse-KMS-Alia-imp-1", "alias/CADORESPONSE-KMS-ALIAS-imp-1", "alias/aws/ebs", "alias/aws/kms",
        "alias/prod-db", "alias/CadoResponse-KMS-Alias\u{200B}", "alias/СadoResponse-KMS-Alias-imp-1",
        " alias/CadoResponse-KMS-Alias-imp-1", "CadoResponse-KMS-Alias-imp-1", "",
    ]
    static let keyManagers = ["CUSTOMER", "AWS", "customer", ""]
    static let keyStates = [
        "Enabled", "Disabled", "PendingDeletion", "PendingReplicaDeletion", "PendingImport", "Unavailable", "Creating",
        "Updating",
    ]

    @Test("over random evidence, a key is approved only when every rule holds, and then always approved")
    func verdicts() async {
        await propertyCheck(count: 8_000, input: Gen.int(in: 0...Int.max)) { seed in
            var random = SeededDraw(seed: UInt64(seed))
            let world = RandomWorld(&random)
            let verdict = SafetyRules.verdict(
                claims: world.claims, evidence: world.evidence, policy: RandomWorld.policy)
            let broken = world.brokenRules()
            let pendingOnly = broken == ["not yet pending"]
            switch verdict {
            case .approved(let removed):
                #expect(broken.isEmpty, "approved although \(broken) fail: \(world)")
                #expect(removed.allSatisfy { Self.isOurs($0) }, "never a foreign alias: \(removed)")
            case .alreadyPendingDeletion(_, let removed):
                #expect(pendingOnly, "settled although \(broken) fail: \(world)")
                #expect(removed.allSatisfy { Self.isOurs($0) })
            case .refused(_, let reason), .deferred(_, let reason, _):
                #expect(!broken.isEmpty && !pendingOnly, "stopped although every rule holds: \(world)")
                #expect(!reason.isEmpty && !reason.contains("\n"))
            }
        }
    }

    static func isOurs(_ alias: String) -> Bool { alias.hasPrefix(prefix) && !alias.hasPrefix("alias/aws/") }

    @Test("isOwnedAlias: only exact-case prefix matches, never alias/aws/…, for random names and prefixes")
    func ownedAlias() async {
        let prefixes = [Self.prefix, "alias/", "alias/aws", "alias/aws/", "", "alias/x", "Alias/X"]
        let check = { (name: String, prefix: String) in
            if SafetyRules.isOwnedAlias(name, prefix: prefix) {
                #expect(name.hasPrefix(prefix) && prefix.hasPrefix("alias/") && !name.hasPrefix("alias/aws/"))
                #expect(!prefix.hasPrefix("alias/aws/"))
            }
        }
        await propertyCheck(
            count: 3_000, input: HostileText.strings(maximumLength: 60),
            Gen<String?>.element(of: prefixes).map { $0! }, perform: check)
        await propertyCheck(
            count: 1_000, input: Gen<String?>.element(of: Self.aliasPool).map { $0! }, Gen.int(in: 0...5),
            Gen.int(in: 0...60), Gen<Character?>.element(of: HostileText.awkward).map { $0! }
        ) { name, operation, position, character in
            check(HostileText.mutate(name, operation: operation, position: position, character: character), Self.prefix)
        }
    }
}

/// A small seeded generator, so each property case is one reproducible integer.
struct SeededDraw {
    var generator: SeededGenerator
    init(seed: UInt64) { generator = SeededGenerator(seed: seed) }
    mutating func next() -> UInt64 { generator.next() }
    mutating func pick<T>(_ options: [T]) -> T { options[Int(next() % UInt64(options.count))] }
    mutating func chance(_ percent: UInt64) -> Bool { next() % 100 < percent }
}

/// Random evidence and claims, and an oracle of the rules written from their words (README "How it stays safe"),
/// independently of `SafetyRules`' code.
struct RandomWorld: CustomStringConvertible {
    static let policy = SafetyPolicy(
        aliasPrefix: SafetyPropertyTests.prefix, orphanGrace: 6 * 3600, orphanMaxKeyLead: 3600, maxTransferAge: 86400)
    static let now = Date(timeIntervalSince1970: 1_795_000_000)
    var claims: TransferClaims
    var evidence: DeletionEvidence

    init(_ random: inout SeededDraw) {
        let names = SafetyPropertyTests.aliasPool.filter { !$0.isEmpty } + ["alias/CadoResponse-KMS-Alias-other"]
        let times: [TimeInterval?] = [nil, -60, -3600, -7 * 3600, -30 * 3600, -400 * 86400, 60]
        func aliases(_ random: inout SeededDraw) -> [AliasEvidence] {
            (0..<Int(random.next() % 4)).map { _ in
                AliasEvidence(
                    name: random.pick(names), creationDate: random.pick(times).map { Self.now.addingTimeInterval($0) },
                    lastUpdatedDate: random.chance(30)
                        ? random.pick(times).map { Self.now.addingTimeInterval($0) } : nil)
            }
        }
        func key(_ random: inout SeededDraw, region: String) -> KeyEvidence {
            KeyEvidence(
                keyID: random.chance(95) ? SafetyPropertyTests.recordedKeyID : "9999abcd-12ab-34cd-56ef-1234567890ab",
                region: region,
                keyManager: random.chance(90) ? "CUSTOMER" : random.pick(SafetyPropertyTests.keyManagers),
                keyState: KMSKeyState(aws: random.pick(SafetyPropertyTests.keyStates)),
                origin: random.chance(85)
                    ? "AWS_KMS" : random.pick([nil, "EXTERNAL", "AWS_CLOUDHSM", "EXTERNAL_KEY_STORE"]),
                customKeyStoreID: random.chance(90) ? nil : random.pick(["", "cks-1"]),
                keySpec: random.chance(90) ? "SYMMETRIC_DEFAULT" : random.pick([nil, "RSA_2048"]),
                keyUsage: random.chance(90) ? "ENCRYPT_DECRYPT" : random.pick([nil, "SIGN_VERIFY"]),
                creationDate: random.pick(times).map { Self.now.addingTimeInterval($0 - 30) },
                accountID: random.pick(["111122223333", "111122223333", "111122223333", nil, "999988887777"]),
                aliases: aliases(&random)
            )
        }
        let lead = key(&random, region: "eu-west-1")
        let replicas = (0..<(random.chance(20) ? Int(random.next() % 3) : 0)).map { index in
            key(&random, region: ["us-west-2", "ap-south-1", "sa-east-1"][index])
        }
        let origin = random.pick(TransferOrigin.allCases)
        let recordedAlias = random.chance(70) ? (lead.aliases.first?.name ?? random.pick(names)) : nil
        claims = TransferClaims(
            origin: origin, recordedKeyID: SafetyPropertyTests.recordedKeyID,
            recordedAlias: recordedAlias,
            // Clocks either way: recorded an hour ago, a month ago, or "in the future" by a skewed host.
            recordedAt: random.pick(times + [-30 * 86400, 7 * 3600]).map { Self.now.addingTimeInterval($0) },
            aliasesOfOtherLiveTransfers: random.chance(20) ? [random.pick(names)] : [],
            provenanceAcceptedBy: random.chance(15) ? "alice" : nil,
            recordedAccountID: random.chance(80) ? "111122223333" : nil,
            // As the worker derives it: a created transfer without an alias is a key retired by create.
            expectsNoAlias: origin == .created && recordedAlias == nil)
        // A tag is only a claim (forged freely); marks that are copied, forged, missing or unverifiable prove nothing.
        let marks: [OwnershipMark?] = [
            nil, .absent, .invalid("copied from another key"), .unverifiable("no mark key"), .valid(importID: "imp-1"),
        ]
        evidence = DeletionEvidence(
            key: lead, replicas: replicas,
            tags: random.chance(50) ? nil : (random.chance(30) ? [KMSValue.importIDTag: "imp-1"] : [:]),
            mark: random.pick(marks), awsNow: random.chance(90) ? Self.now : nil)
    }

    var description: String { "claims \(claims), evidence \(evidence)" }

    /// Every rule a deletion needs, by name, that this world breaks.
    func brokenRules() -> [String] {
        var broken: [String] = []
        let ours = SafetyPropertyTests.isOurs
        let grace = Self.policy.orphanGrace
        func check(_ key: KeyEvidence, isLead: Bool) {
            let at = "\(key.region)"
            if key.keyID != claims.recordedKeyID { broken.append("same key \(at)") }
            if let recorded = claims.recordedAccountID, let named = key.accountID, named != recorded {
                broken.append("same account \(at)")
            }
            if key.aliases.contains(where: { !ours($0.name) }) { broken.append("only prefixed aliases \(at)") }
            if key.aliases.contains(where: {
                claims.aliasesOfOtherLiveTransfers.contains($0.name) && $0.name != claims.recordedAlias
            }) {
                broken.append("no other live import \(at)")
            }
            let pending = key.keyState == "PendingDeletion" || key.keyState == "PendingReplicaDeletion"
            if pending && !isLead { return }
            if pending && isLead { broken.append("not yet pending"); return }
            if key.keyManager != "CUSTOMER" { broken.append("customer managed \(at)") }
            if key.origin != "AWS_KMS" { broken.append("AWS_KMS origin \(at)") }
            if !(key.customKeyStoreID ?? "").isEmpty { broken.append("no custom key store \(at)") }
            if key.keySpec != "SYMMETRIC_DEFAULT" || key.keyUsage != "ENCRYPT_DECRYPT" {
                broken.append("symmetric \(at)")
            }
            let waived = claims.provenanceAcceptedBy != nil
            switch key.keyState {
            case "Enabled": break
            case "Disabled":
                if claims.origin == .discovered && !waived { broken.append("discovered not disabled \(at)") }
            default: broken.append("deletable state \(at)")
            }
            if claims.expectsNoAlias { return }
            for alias in key.aliases {
                // Only the alias the transfer recorded is its own; a date relative to `track` proves nothing.
                let ownedByClaim = claims.origin != .discovered && alias.name == claims.recordedAlias
                if ownedByClaim { continue }
                guard let changed = [alias.creationDate, alias.lastUpdatedDate].compactMap({ $0 }).max(),
                    let awsNow = evidence.awsNow, awsNow.timeIntervalSince(changed) >= grace
                else {
                    broken.append("no young unrecorded alias \(at)")
                    continue
                }
            }
            if isLead {
                if key.aliases.isEmpty { broken.append("a prefixed alias") }
                let everywhere = ([key] + evidence.replicas).flatMap(\.aliases).map(\.name)
                if let recorded = claims.recordedAlias, !everywhere.contains(recorded) {
                    broken.append("recorded alias targets it")
                }
                if claims.origin == .discovered && !waived {
                    var marked = false
                    if case .valid? = evidence.mark { marked = true }
                    var youngKey = false
                    if let created = key.creationDate,
                        let first = key.aliases.filter({ ours($0.name) }).compactMap(\.creationDate).min(),
                        let reference = [claims.recordedAt, evidence.awsNow].compactMap({ $0 }).min()
                    {
                        let lead = first.timeIntervalSince(created)
                        let age = reference.timeIntervalSince(created)
                        youngKey =
                            lead >= 0 && lead <= Self.policy.orphanMaxKeyLead
                            && age >= -SafetyRules.dateSlack && age <= Self.policy.maxTransferAge + grace
                    }
                    if !marked && !youngKey { broken.append("provenance") }
                }
            }
        }
        check(evidence.key, isLead: true)
        for replica in evidence.replicas { check(replica, isLead: false) }
        if claims.expectsNoAlias {
            if !([evidence.key] + evidence.replicas).allSatisfy(\.aliases.isEmpty) { broken.append("no alias at all") }
            if evidence.key.multiRegionKeyType != nil || !evidence.replicas.isEmpty { broken.append("single-Region") }
        }
        return broken
    }
}
