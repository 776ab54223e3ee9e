import Foundation
import Testing
import TransferKeyTestSupport

/// `reconcile` output when stdout is not a terminal (the tests' pipes): one plain line per
/// account × region, no in-place updates.
@Suite("reconcile progress in a pipe", .serialized)
struct ReconcileProgressTests {
    @Test("one line per account × region with its counts (or its failure), no carriage returns or escapes")
    func lineOriented() async throws {
        let account = DaemonFixture.account
        let fixture = try await DaemonFixture.isolated(
            accounts: [DaemonFixture.AccountEntry(id: account, regions: ["us-east-1", "eu-west-1", "eu-central-1"])])
        defer {
            fixture.remove()
            fixture.emulator.stop()
        }
        // An orphan in us-east-1, made seven hours ago (past the 6 h grace; its key a minute before its alias);
        // ListAliases denied in eu-central-1.
        let orphanAlias = fixture.alias("orphan")
        _ = try fixture.createKey(aliases: [orphanAlias], account: account, region: "us-east-1")
        try await fixture.emulator.setAliasCreationDates(
            [orphanAlias: Date().timeIntervalSince1970 - 7 * 3600], keyLead: 60)
        try await fixture.emulator.addRule(
            Emulator.FaultRule.error("AccessDeniedException", on: "ListAliases").matching(region: "eu-central-1"))

        let result = try fixture.cli(["reconcile", "--dry-run"])
        #expect(result.exitCode == 0, "\(result)")
        #expect(!result.stdout.contains("\r") && !result.stdout.contains("\u{1B}"), "\(result)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "scanning 3 account × region pair(s) for orphans…", "\(result)")
        let scanned = lines.filter { $0.hasPrefix("scanned ") }
        #expect(scanned.count == 3, "\(result)")
        #expect(
            scanned.contains {
                $0.hasPrefix("scanned \(account)/us-east-1: ") && $0.hasSuffix(" aliases, 1 orphan(s)")
            }, "\(result)")
        // moto lists AWS-managed aliases (alias/aws/…) too: the count varies, the orphans do not.
        #expect(
            scanned.contains {
                $0.hasPrefix("scanned \(account)/eu-west-1: ") && $0.hasSuffix(" aliases, 0 orphan(s)")
            }, "\(result)")
        #expect(
            scanned.contains {
                $0.hasPrefix("scanned \(account)/eu-central-1: FAILED: ") && $0.contains("AccessDenied")
            },
            "\(result)")
    }
}
