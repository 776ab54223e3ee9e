import Foundation
import Testing
import TransferKeyTestSupport

/// The daemon as a real subprocess in the situations issue 4 lists: several accounts and
/// regions, injected AWS faults, dry run, lease expiry, multi-Region keys and kill -9.
///
/// Each test runs its own emulator (`DaemonFixture.isolated`): fault rules, backdated orphans
/// and `clearRules()` then cannot touch the suites that share `Emulator.shared()`.
@Suite("Daemon scenarios against the AWS emulator", .serialized)
struct DaemonScenarioTests {
    static let otherAccount = "222233334444"
    static let role = "arn:aws:iam::222233334444:role/CadoResponseRole"

    @Test("two accounts, the second through role_arn: each key is scheduled in its own account")
    func twoAccountsThroughRole() async throws {
        let fixture = try await DaemonFixture.isolated(accounts: [
            .init(id: DaemonFixture.account, regions: ["us-east-1"]),
            .init(id: Self.otherAccount, roleARN: Self.role, regions: ["us-east-1"]),
        ])
        defer {
            fixture.remove()
            fixture.emulator.stop()
        }
        let home = DaemonFixture.account
        let other = Self.otherAccount
        let homeAlias = fixture.alias("home")
        let otherAlias = fixture.alias("other")
        let homeKey = try fixture.createKey(aliases: [homeAlias], account: home, region: "us-east-1")
        let otherKey = try fixture.createKey(aliases: [otherAlias], account: other, region: "us-east-1")
        // The accounts really are apart: neither sees the other's key.
        #expect(try fixture.keyState(otherKey, account: home, region: "us-east-1") == "gone")
        #expect(try fixture.keyState(homeKey, account: other, region: "us-east-1") == "gone")

        #expect(try fixture.track("home-\(fixture.tag)", keyID: homeKey, alias: homeAlias).exitCode == 0)
        let tracked = try fixture.track("other-\(fixture.tag)", keyID: otherKey, alias: otherAlias, account: other)
        #expect(tracked.exitCode == 0, "\(tracked)")
        #expect(try fixture.cli(["complete", "home-\(fixture.tag)"]).exitCode == 0)
        #expect(try fixture.cli(["complete", "other-\(fixture.tag)"]).exitCode == 0)

        try fixture.start()
        let cleaned = try await fixture.eventually(timeout: 25) {
            try fixture.state("home-\(fixture.tag)") == "cleaned"
                && (try fixture.state("other-\(fixture.tag)")) == "cleaned"
        }
        #expect(cleaned, "\(fixture.logs())")
        #expect(try await fixture.stop() == 0)

        #expect(try fixture.keyState(homeKey, account: home, region: "us-east-1") == "PendingDeletion")
        #expect(try fixture.keyState(otherKey, account: other, region: "us-east-1") == "PendingDeletion")
        #expect(!(try fixture.aliasNames(account: home, region: "us-east-1").contains(homeAlias)))
        #expect(!(try fixture.aliasNames(account: other, region: "us-east-1").contains(otherAlias)))
        // The second account was reached through the role: STS was asked, and moto put the
        // role's KMS calls in the role's account.
        let log = try await fixture.emulator.requestLog()
        #expect(log.contains { $0.key == "sts.AssumeRole" })
        #expect(log.contains { $0.key == "kms.ScheduleKeyDeletion" && $0.account == other })
        #expect(log.contains { $0.key == "kms.ScheduleKeyDeletion" && $0.account == home })
        #expect(try fixture.cli(["audit", "verify"]).exitCode == 0)
    }

    @Test("two regions: a transfer in each is cleaned, and a stale orphan in the second region is adopted")
    func twoRegions() async throws {
        let fixture = try await DaemonFixture.isolated(
            extraConfig: "orphan_grace = \"1h\"",
            accounts: [.init(id: DaemonFixture.account, regions: ["us-east-1", "eu-west-1"])])
        defer {
            fixture.remove()
            fixture.emulator.stop()
        }
        let account = DaemonFixture.account
        let eastAlias = fixture.alias("east")
        let westAlias = fixture.alias("west")
        let orphanAlias = fixture.alias("orphan")
        let east = try fixture.createKey(aliases: [eastAlias], account: account, region: "us-east-1")
        let west = try fixture.createKey(aliases: [westAlias], account: account, region: "eu-west-1")
        let orphan = try fixture.createKey(aliases: [orphanAlias], account: account, region: "eu-west-1")
        try await fixture.emulator.setAliasCreationDates(
            [orphanAlias: Date().timeIntervalSince1970 - 7200], keyLead: 60)

        #expect(try fixture.track("east-\(fixture.tag)", keyID: east, alias: eastAlias).exitCode == 0)
        #expect(
            try fixture.track("west-\(fixture.tag)", keyID: west, alias: westAlias, region: "eu-west-1").exitCode == 0)
        #expect(try fixture.cli(["complete", "east-\(fixture.tag)"]).exitCode == 0)
        #expect(try fixture.cli(["complete", "west-\(fixture.tag)"]).exitCode == 0)

        try fixture.start()
        let settled = try await fixture.eventually(timeout: 25) {
            try fixture.state("east-\(fixture.tag)") == "cleaned"
                && (try fixture.state("west-\(fixture.tag)")) == "cleaned"
                && (try fixture.keyState(orphan, account: account, region: "eu-west-1")) == "PendingDeletion"
        }
        #expect(settled, "\(fixture.logs())")
        #expect(try await fixture.stop() == 0)

        #expect(try fixture.keyState(east, account: account, region: "us-east-1") == "PendingDeletion")
        #expect(try fixture.keyState(west, account: account, region: "eu-west-1") == "PendingDeletion")
        let westAliases = try fixture.aliasNames(account: account, region: "eu-west-1")
        #expect(!westAliases.contains(westAlias) && !westAliases.contains(orphanAlias), "\(westAliases)")
        #expect(!(try fixture.aliasNames(account: account, region: "us-east-1").contains(eastAlias)))
        let list = try parseJSON(try fixture.cli(["list", "--json"]).stdout)
        let adopted = (list["transfers"] as? [[String: Any]] ?? []).filter { ($0["key_id"] as? String) == orphan }
        #expect(adopted.compactMap { $0["origin"] as? String } == ["discovered"], "\(adopted)")
        #expect(adopted.compactMap { $0["region"] as? String } == ["eu-west-1"], "\(adopted)")
    }

    @Test("throttling, 5xx, resets and latency fewer times than the retries allow: the transfer still ends cleaned")
    func transientFaults() async throws {
        let fixture = try await DaemonFixture.isolated(maxAttempts: 5)
        defer {
            fixture.remove()
            fixture.emulator.stop()
        }
        // The rules die with this test's own emulator; nothing else runs against it.
        let kms = "kms"
        for operation in ["ScheduleKeyDeletion", "DeleteAlias"] {
            try await fixture.emulator.addRule(
                .error("ThrottlingException", message: "Rate exceeded", on: operation, count: 3).matching(service: kms))
            try await fixture.emulator.addRule(
                .error("KMSInternalException", status: 500, on: operation, count: 3).matching(service: kms))
            try await fixture.emulator.addRule(.connectionReset(on: operation, count: 1).matching(service: kms))
            try await fixture.emulator.addRule(
                .latency(milliseconds: 1500, on: operation, count: 3).matching(service: kms))
        }
        let alias = fixture.alias("faults")
        let keyID = try fixture.createKey(aliases: [alias])
        let importID = "faults-\(fixture.tag)"
        #expect(try fixture.track(importID, keyID: keyID, alias: alias).exitCode == 0)
        #expect(try fixture.cli(["complete", importID]).exitCode == 0)

        try fixture.start()
        let cleaned = try await fixture.eventually(timeout: 45) { try fixture.state(importID) == "cleaned" }
        #expect(cleaned, "\(fixture.logs())")
        let status = try parseJSON(try fixture.cli(["status", "--json"]).stdout)
        #expect((status["stuck"] as? [Any])?.isEmpty == true, "\(status)")
        #expect(try await fixture.stop() == 0)

        let faulted = try await fixture.emulator.faultedCounts()
        #expect((faulted["kms.ScheduleKeyDeletion"] ?? 0) >= 3, "the faults did fire: \(faulted)")
        #expect((faulted["kms.DeleteAlias"] ?? 0) >= 3, "the faults did fire: \(faulted)")
        #expect(try fixture.keyState(keyID) == "PendingDeletion")
        #expect(!(try fixture.aliasNames().contains(alias)))
        #expect(try fixture.cli(["audit", "verify"]).exitCode == 0)
    }

    @Test("AccessDenied on ScheduleKeyDeletion parks the transfer as stuck; retry after the fix cleans it")
    func accessDeniedThenRetry() async throws {
        let fixture = try await DaemonFixture.isolated()
        defer {
            fixture.remove()
            fixture.emulator.stop()
        }
        try await fixture.emulator.addRule(
            .error(
                "AccessDeniedException", message: "not authorized to perform kms:ScheduleKeyDeletion",
                on: "ScheduleKeyDeletion"
            ).matching(service: "kms", account: DaemonFixture.account))
        let alias = fixture.alias("denied")
        let keyID = try fixture.createKey(aliases: [alias])
        let importID = "denied-\(fixture.tag)"
        #expect(try fixture.track(importID, keyID: keyID, alias: alias).exitCode == 0)
        #expect(try fixture.cli(["complete", importID]).exitCode == 0)

        try fixture.start()
        let stuck = try await fixture.eventually { try fixture.state(importID) == "stuck" }
        #expect(stuck, "\(fixture.logs())")
        let lastError = try fixture.transfer(importID).transfer["last_error"] as? String
        #expect(lastError?.contains("AccessDeniedException") == true, "\(String(describing: lastError))")
        #expect(try fixture.keyState(keyID) == "Enabled", "a refused call leaves the key alone")
        #expect(try fixture.aliasNames().contains(alias))
        let status = try fixture.cli(["status"])
        #expect(status.exitCode == 1, "\(status)")
        #expect(status.stdout.contains(importID), "\(status)")

        try await fixture.emulator.clearRules()
        #expect(try fixture.cli(["retry", importID]).exitCode == 0)
        let cleaned = try await fixture.eventually { try fixture.state(importID) == "cleaned" }
        #expect(cleaned, "\(fixture.logs())")
        #expect(try await fixture.stop() == 0)
        #expect(try fixture.keyState(keyID) == "PendingDeletion")
        #expect(!(try fixture.aliasNames().contains(alias)))
        #expect(try fixture.cli(["audit", "verify"]).exitCode == 0)
    }

    @Test("dry_run = true is inert: the transfer stays cleanup_due with a would_ event, the key and alias live")
    func dryRun() async throws {
        let fixture = try await DaemonFixture.isolated(extraConfig: "dry_run = true")
        defer {
            fixture.remove()
            fixture.emulator.stop()
        }
        let alias = fixture.alias("dry")
        let keyID = try fixture.createKey(aliases: [alias])
        let importID = "dry-\(fixture.tag)"
        #expect(try fixture.track(importID, keyID: keyID, alias: alias).exitCode == 0)
        #expect(try fixture.cli(["complete", importID]).exitCode == 0)

        try fixture.start()
        let recorded = try await fixture.eventually {
            try fixture.transfer(importID).eventKinds.contains("would_schedule_key_deletion")
        }
        #expect(recorded, "\(fixture.logs())")
        // A few more loop turns change nothing.
        try await Task.sleep(for: .seconds(2))
        #expect(try await fixture.stop() == 0)
        #expect(try fixture.state(importID) == "cleanup_due")
        #expect(try fixture.keyState(keyID) == "Enabled")
        #expect(try fixture.aliasNames().contains(alias))
        let counts = try await fixture.emulator.counts()
        #expect(counts["kms.ScheduleKeyDeletion"] == nil && counts["kms.DeleteAlias"] == nil, "\(counts)")
    }

    @Test("track --max-age 2s with a snapshot still pending: the lease expires and the key is cleaned up")
    func maxAgeExpiry() async throws {
        let fixture = try await DaemonFixture.isolated()
        defer {
            fixture.remove()
            fixture.emulator.stop()
        }
        let alias = fixture.alias("lease")
        let keyID = try fixture.createKey(aliases: [alias])
        let snapshot = try fixture.seed(["create-snapshot"])
        try await fixture.emulator.setSnapshotStates([snapshot: "pending"])
        let importID = "lease-\(fixture.tag)"
        let tracked = try fixture.track(
            importID, keyID: keyID, alias: alias, extra: ["--snapshot", snapshot, "--max-age", "2s"])
        #expect(tracked.exitCode == 0, "\(tracked)")

        try fixture.start()
        let cleaned = try await fixture.eventually { try fixture.state(importID) == "cleaned" }
        #expect(cleaned, "\(fixture.logs())")
        #expect(try await fixture.stop() == 0)
        #expect(try fixture.transfer(importID).transfer["completion"] as? String == "expired")
        #expect(try fixture.keyState(keyID) == "PendingDeletion")
        #expect(!(try fixture.aliasNames().contains(alias)))
    }

    @Test("a multi-Region primary with a replica: the replica and the primary are both scheduled")
    func multiRegionPrimary() async throws {
        let fixture = try await DaemonFixture.isolated(
            accounts: [.init(id: DaemonFixture.account, regions: ["us-east-1", "eu-west-1"])])
        defer {
            fixture.remove()
            fixture.emulator.stop()
        }
        let account = DaemonFixture.account
        let alias = fixture.alias("mrk")
        let keyID = try fixture.createKey(aliases: [alias], account: account, region: "us-east-1", multiRegion: true)
        #expect(keyID.hasPrefix("mrk-"))
        try fixture.seed(["create-replica", keyID, "eu-west-1"], account: account, region: "us-east-1")
        #expect(try fixture.keyState(keyID, account: account, region: "eu-west-1") == "Enabled")
        let importID = "mrk-\(fixture.tag)"
        #expect(try fixture.track(importID, keyID: keyID, alias: alias).exitCode == 0)
        #expect(try fixture.cli(["complete", importID]).exitCode == 0)

        try fixture.start()
        let cleaned = try await fixture.eventually(timeout: 25) { try fixture.state(importID) == "cleaned" }
        #expect(cleaned, "\(fixture.logs())")
        #expect(try await fixture.stop() == 0)
        #expect(try fixture.keyState(keyID, account: account, region: "eu-west-1") == "PendingDeletion")
        // AWS keeps a primary in PendingReplicaDeletion while replicas remain; moto goes straight on.
        let primary = try fixture.keyState(keyID, account: account, region: "us-east-1")
        #expect(["PendingDeletion", "PendingReplicaDeletion"].contains(primary), "\(primary)")
        let log = try await fixture.emulator.requestLog()
        let scheduled = Set(log.filter { $0.key == "kms.ScheduleKeyDeletion" && $0.status == 200 }.map(\.region))
        #expect(scheduled == ["us-east-1", "eu-west-1"], "\(scheduled)")
        #expect(!(try fixture.aliasNames(account: account, region: "us-east-1").contains(alias)))
    }

    @Test(
        "a multi-Region primary whose replica's ScheduleKeyDeletion fails for a while: the retry still schedules the replica"
    )
    func multiRegionReplicaRetried() async throws {
        let fixture = try await DaemonFixture.isolated(
            accounts: [.init(id: DaemonFixture.account, regions: ["us-east-1", "eu-west-1"])])
        defer {
            fixture.remove()
            fixture.emulator.stop()
        }
        // max_attempts is 3: the replica's call fails for good on the first try, after the primary's succeeded.
        try await fixture.emulator.addRule(
            .error("KMSInternalException", status: 500, on: "ScheduleKeyDeletion", count: 3)
                .matching(service: "kms", region: "eu-west-1"))
        let account = DaemonFixture.account
        let alias = fixture.alias("mrk-retry")
        let keyID = try fixture.createKey(aliases: [alias], account: account, region: "us-east-1", multiRegion: true)
        try fixture.seed(["create-replica", keyID, "eu-west-1"], account: account, region: "us-east-1")
        let importID = "mrk-retry-\(fixture.tag)"
        #expect(try fixture.track(importID, keyID: keyID, alias: alias).exitCode == 0)
        #expect(try fixture.cli(["complete", importID]).exitCode == 0)

        try fixture.start()
        let settled = try await fixture.eventually(timeout: 25) { try fixture.state(importID) == "cleaned" }
        #expect(settled, "\(fixture.logs())")
        #expect(try await fixture.stop() == 0)
        #expect(try fixture.keyState(keyID, account: account, region: "eu-west-1") == "PendingDeletion")
        let faulted = try await fixture.emulator.faultedCounts()
        #expect(faulted["kms.ScheduleKeyDeletion"] == 3, "the replica's call did fail: \(faulted)")
        #expect(try fixture.cli(["audit", "verify"]).exitCode == 0)
    }

    @Test("kill -9 at random instants during the cleanup of ten transfers; the next start finishes them all")
    func killAtRandomInstants() async throws {
        let fixture = try await DaemonFixture.isolated()
        defer {
            fixture.remove()
            fixture.emulator.stop()
        }
        var keys: [(importID: String, keyID: String, alias: String)] = []
        for index in 0..<10 {
            let alias = fixture.alias("k\(index)")
            let keyID = try fixture.createKey(aliases: [alias])
            let importID = "k\(index)-\(fixture.tag)"
            #expect(try fixture.track(importID, keyID: keyID, alias: alias).exitCode == 0)
            #expect(try fixture.cli(["complete", importID]).exitCode == 0)
            keys.append((importID, keyID, alias))
        }

        var generator = SeededGenerator(seed: 0x7E57_D1E5)
        for _ in 0..<3 {
            try fixture.start()
            try await Task.sleep(for: .milliseconds(Int.random(in: 0...1500, using: &generator)))
            try await fixture.killNow()
        }
        try fixture.start()
        let cleaned = try await fixture.eventually(timeout: 30) {
            try keys.allSatisfy { try fixture.state($0.importID) == "cleaned" }
        }
        #expect(cleaned, "\(fixture.logs())")
        #expect(try await fixture.stop() == 0)
        let aliases = try fixture.aliasNames()
        for key in keys {
            #expect(try fixture.keyState(key.keyID) == "PendingDeletion", "\(key)")
            #expect(!aliases.contains(key.alias), "\(key)")
        }
        let verify = try fixture.cli(["audit", "verify"])
        #expect(verify.exitCode == 0, "\(verify)")
    }
}
