import Foundation
import Testing

@testable import TransferKeyCore

private let prefix = "alias/CadoResponse-KMS-Alias"
private let keyID = "1234abcd-12ab-34cd-56ef-1234567890ab"

private func facts(
    manager: String = "CUSTOMER", state: String = "Enabled", aliases: [String], id: String = keyID
) -> KeyFacts {
    KeyFacts(keyID: id, keyManager: manager, keyState: state, aliasNames: aliases)
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
        let verdict = SafetyRules.verdict(
            recordedKeyID: keyID, recordedAlias: "\(prefix)-a",
            facts: facts(aliases: ["\(prefix)-b", "\(prefix)-a"]), prefix: prefix)
        #expect(verdict == .approved(aliases: ["\(prefix)-a", "\(prefix)-b"]))
        #expect(verdict.allowsCleanup)
    }

    @Test("a key with a foreign alias is refused, not deleted")
    func foreignAlias() {
        let verdict = SafetyRules.verdict(
            recordedKeyID: keyID, recordedAlias: "\(prefix)-a",
            facts: facts(aliases: ["\(prefix)-a", "alias/prod-db"]), prefix: prefix)
        guard case .refused(let reason) = verdict else {
            Issue.record("expected a refusal, got \(verdict)")
            return
        }
        #expect(reason.contains("alias/prod-db"))
        #expect(!verdict.allowsCleanup)
    }

    @Test("an AWS-managed key is refused")
    func awsManaged() {
        let verdict = SafetyRules.verdict(
            recordedKeyID: keyID, recordedAlias: nil, facts: facts(manager: "AWS", aliases: ["\(prefix)-a"]),
            prefix: prefix)
        #expect(!verdict.allowsCleanup)
    }

    @Test("a recorded alias that now targets another key is refused")
    func retargeted() {
        let verdict = SafetyRules.verdict(
            recordedKeyID: keyID, recordedAlias: "\(prefix)-a", facts: facts(aliases: ["\(prefix)-other"]),
            prefix: prefix)
        #expect(!verdict.allowsCleanup)
    }

    @Test("a key with no alias under the prefix is refused")
    func noAlias() {
        #expect(
            !SafetyRules.verdict(recordedKeyID: keyID, recordedAlias: nil, facts: facts(aliases: []), prefix: prefix)
                .allowsCleanup)
    }

    @Test("an answer about a different key is refused")
    func otherKey() {
        let verdict = SafetyRules.verdict(
            recordedKeyID: keyID, recordedAlias: nil,
            facts: facts(aliases: ["\(prefix)-a"], id: "ffffffff-12ab-34cd-56ef-1234567890ab"), prefix: prefix)
        #expect(!verdict.allowsCleanup)
    }

    @Test("a key already pending deletion is settled; only our aliases are removed")
    func alreadyPending() {
        let date = Date(timeIntervalSince1970: 1_800_000_000)
        var pending = facts(state: "PendingDeletion", aliases: ["\(prefix)-a", "alias/prod-db"])
        pending.deletionDate = date
        let verdict = SafetyRules.verdict(
            recordedKeyID: keyID, recordedAlias: "\(prefix)-a", facts: pending, prefix: prefix)
        #expect(verdict == .alreadyPendingDeletion(deletionDate: date, aliases: ["\(prefix)-a"]))
        let replica = facts(state: "PendingReplicaDeletion", aliases: [])
        #expect(
            SafetyRules.verdict(recordedKeyID: keyID, recordedAlias: nil, facts: replica, prefix: prefix)
                == .alreadyPendingDeletion(deletionDate: nil, aliases: []))
    }
}
