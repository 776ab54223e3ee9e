import Foundation
import PropertyBased
import Testing

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

    @Test("a key is approved only when every rule of §2 holds; aliases removed are always under the prefix")
    func verdicts() async {
        await propertyCheck(
            count: 5_000,
            input: Gen<String?>.element(of: [Self.recordedKeyID, "9999abcd-12ab-34cd-56ef-1234567890ab", ""]).map {
                $0!
            },
            Gen<String?>.element(of: Self.keyManagers).map { $0! },
            Gen<String?>.element(of: Self.keyStates).map { $0! },
            Gen<String?>.element(of: Self.aliasPool).map { $0! }.array(of: 0...5),
            Gen<String?>.element(of: Self.aliasPool).map { $0! }.optional
        ) { keyID, manager, state, aliases, recordedAlias in
            let facts = KeyFacts(keyID: keyID, keyManager: manager, keyState: state, aliasNames: aliases)
            let verdict = SafetyRules.verdict(
                recordedKeyID: Self.recordedKeyID, recordedAlias: recordedAlias, facts: facts, prefix: Self.prefix)
            let isOurs = { (alias: String) in alias.hasPrefix(Self.prefix) && !alias.hasPrefix("alias/aws/") }
            let allRulesHold =
                keyID == Self.recordedKeyID && manager == "CUSTOMER" && !aliases.isEmpty && aliases.allSatisfy(isOurs)
                && (recordedAlias.map(aliases.contains) ?? true)
                && state != "PendingDeletion" && state != "PendingReplicaDeletion"
            switch verdict {
            case .approved(let removed):
                #expect(
                    allRulesHold,
                    "approved although a rule fails: \(facts), recorded alias \(String(describing: recordedAlias))")
                #expect(removed.allSatisfy(isOurs) && Set(removed) == Set(aliases))
            case .alreadyPendingDeletion(_, let removed):
                #expect(keyID == Self.recordedKeyID, "only the recorded key's aliases are ever removed")
                #expect(state == "PendingDeletion" || state == "PendingReplicaDeletion")
                #expect(removed.allSatisfy(isOurs), "never a foreign alias: \(removed)")
            case .refused(let reason):
                #expect(!allRulesHold, "refused although every rule holds: \(facts)")
                #expect(!reason.isEmpty && !reason.contains("\n"))
            }
        }
    }

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
