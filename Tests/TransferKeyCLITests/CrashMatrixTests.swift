import Foundation
import Testing
import TransferKeyTestSupport

/// One cell of the crash matrix: the failpoint where the SIGKILL falls, and how the transfer came to be.
struct CrashCase: Sendable, CustomTestStringConvertible {
    enum Origin: String, Sendable, CaseIterable {
        case tracked, created, discovered
    }

    /// A `TRANSFERKEYD_FAILPOINT` name (Sources/TransferKeyDaemon/Runtime/Failpoint.swift).
    var failpoint: String
    var origin: Origin

    /// The failpoints of `transferkeyd create`; the others are the daemon's.
    static let createFailpoints = ["after_intent", "after_create_key", "after_create_alias"]
    /// The cleanup steps' failpoints, which apply to every origin.
    static let cleanupFailpoints = [
        "after_schedule_key_deletion", "after_key_scheduled", "after_delete_alias", "after_aliases_removed",
    ]

    /// Every failpoint × every origin it applies to.
    static let all: [CrashCase] =
        createFailpoints.map { CrashCase(failpoint: $0, origin: .created) }
        + cleanupFailpoints.flatMap { failpoint in Origin.allCases.map { CrashCase(failpoint: failpoint, origin: $0) } }
        // `create` makes single-Region keys only, so a replica exists only for tracked and discovered keys.
        + [
            CrashCase(failpoint: "mid_replica", origin: .tracked),
            CrashCase(failpoint: "mid_replica", origin: .discovered),
        ]
        + ["after_orphan_found", "after_orphan_adopted"].map { CrashCase(failpoint: $0, origin: .discovered) }

    /// The SIGKILL hits `transferkeyd create`, not the daemon.
    var isInCreate: Bool { Self.createFailpoints.contains(failpoint) }
    /// The key is a multi-Region primary in us-east-1 with a replica in eu-west-1, each with a prefixed alias.
    var isMultiRegion: Bool { failpoint == "mid_replica" }

    var testDescription: String { "kill -9 at \(failpoint), \(origin.rawValue) transfer" }
}

/// The real binary against its own emulator, killed with SIGKILL at every failpoint for every origin
/// the failpoint applies to, then started again without it (issue 6, crash matrix).
@Suite("Crash matrix: SIGKILL at every failpoint × origin, then a restart", .serialized)
struct CrashMatrixTests {
    static let home = "us-east-1"
    static let replicaRegion = "eu-west-1"
    static let grantee = "444455556666"

    @Test(
        "after a kill -9 at the failpoint and a restart: the key is pending deletion, scheduled once, no alias left",
        arguments: CrashCase.all)
    func killAndRestart(_ crash: CrashCase) async throws {
        let regions = crash.isMultiRegion ? [Self.home, Self.replicaRegion] : [Self.home]
        // orphan_grace is the shortest allowed; discovered keys get backdated aliases (a multi-Region
        // key is also dated by its own creation, so that case waits out the minute: a scan every 10 s).
        let fixture = try await DaemonFixture.isolated(
            extraConfig: "orphan_grace = \"1m\"\ncreate_timeout = \"2s\"",
            accounts: [.init(id: DaemonFixture.account, regions: regions)], scanInterval: "10s")
        defer {
            fixture.remove()
            fixture.emulator.stop()
        }
        // With a mark key, as a create that dies between CreateKey and recording it needs: the settler takes the key
        // only by its intent mark (a tag proves nothing).
        let markKey = try fixture.seed(["create-mark-key"])
        try fixture.writeConfig(
            extraConfig: "orphan_grace = \"1m\"\ncreate_timeout = \"2s\"\nownership_mark_key = \"\(markKey)\"",
            accounts: [.init(id: DaemonFixture.account, regions: regions)], maxAttempts: 3, scanInterval: "10s")
        let failpoint = ["TRANSFERKEYD_FAILPOINT": crash.failpoint]

        // Given a transfer of this origin whose import is over — or a `create` killed at its failpoint.
        let given = try await makeTransfer(crash, fixture: fixture, failpoint: failpoint)
        let importID = given.importID

        // When the daemon is killed at the failpoint (unless `create` was), then starts again without it.
        if !crash.isInCreate {
            try fixture.start(environment: failpoint)
            let died = try await fixture.waitForExit(timeout: crash.origin == .discovered ? 180 : 90)
            #expect(
                died.reason == .uncaughtSignal && died.status == SIGKILL,
                "the failpoint killed the daemon: \(fixture.logs())")
        }
        try fixture.start()

        if crash.failpoint == "after_intent" {
            try await expectParkedWithoutKey(importID, fixture: fixture)
            return
        }
        if crash.isInCreate {
            // The daemon finishes the interrupted create once create_timeout passed; then the import ends.
            let active = try await fixture.eventually(timeout: 60) { try fixture.state(importID) == "active" }
            #expect(active, "the interrupted create was finished: \(fixture.logs())")
            #expect(try fixture.cli(["complete", importID]).exitCode == 0)
        }

        // Then the work is finished: cleaned, nothing stuck, every key pending deletion, scheduled exactly once.
        // An orphan killed before it was recorded has no row until the restarted daemon's scan adopts it again.
        let cleaned = try await fixture.eventually(timeout: 120) { (try? fixture.state(importID)) == "cleaned" }
        #expect(cleaned, "\(fixture.logs())")
        #expect(try await fixture.stop() == 0)

        let transfers = try fixture.transfers()
        #expect(transfers.count == 1, "one transfer for the one key, never adopted twice: \(transfers)")
        let record = try fixture.transfer(importID)
        let keyID = try #require(record.transfer["key_id"] as? String)
        if let known = given.keyID { #expect(keyID == known) }
        #expect(record.transfer["state"] as? String == "cleaned")
        #expect(record.transfer["origin"] as? String == crash.origin.rawValue)
        #expect(try fixture.stuckTransfers().isEmpty)
        #expect(!record.eventKinds.contains("step_failed"), "no step repeated into an error: \(record.eventKinds)")
        #expect(!record.eventKinds.contains("key_refused"))
        if crash.origin == .discovered {
            #expect(record.eventKinds.prefix(2) == ["recorded", "orphan_adopted"], "\(record.eventKinds)")
        }

        let primary = try fixture.keyState(keyID, account: DaemonFixture.account, region: Self.home)
        if crash.isMultiRegion {
            // AWS keeps a primary in PendingReplicaDeletion while a replica remains; moto goes straight on.
            #expect(["PendingDeletion", "PendingReplicaDeletion"].contains(primary), "\(primary)")
            #expect(
                try fixture.keyState(keyID, account: DaemonFixture.account, region: Self.replicaRegion)
                    == "PendingDeletion")
        } else {
            #expect(primary == "PendingDeletion")
        }
        let calls = try await fixture.scheduleCalls()
        let expected = Dictionary(uniqueKeysWithValues: regions.map { ("\(keyID) \($0)", 1) })
        #expect(calls.accepted == expected, "ScheduleKeyDeletion accepted exactly once per key and region")
        #expect(calls.refused.isEmpty, "no second ScheduleKeyDeletion answered KMSInvalidState: \(calls.refused)")
        for region in regions {
            let left = try fixture.prefixedAliases(region: region)
            #expect(left.isEmpty, "no prefixed alias left in \(region): \(left)")
        }
        let verify = try fixture.cli(["audit", "verify"])
        #expect(verify.exitCode == 0, "\(verify)")
    }

    // MARK: - Given

    /// Sets up the transfer of `crash.origin`; returns its import id and, when already known, its key.
    private func makeTransfer(
        _ crash: CrashCase, fixture: DaemonFixture, failpoint: [String: String]
    ) async throws -> (importID: String, keyID: String?) {
        switch crash.origin {
        case .tracked:
            let importID = "crash-\(fixture.tag)"
            let alias = fixture.alias("tracked")
            let keyID = try makeKey(fixture, alias: alias, multiRegion: crash.isMultiRegion)
            #expect(try fixture.track(importID, keyID: keyID, alias: alias).exitCode == 0)
            #expect(try fixture.cli(["complete", importID]).exitCode == 0)
            return (importID, keyID)
        case .created:
            let importID = "crash-\(fixture.tag)"
            let arguments = [
                "create", "--import-id", importID, "--account", DaemonFixture.account, "--region", Self.home,
                "--grantee-account", Self.grantee,
            ]
            guard !crash.isInCreate else {
                let killed = try fixture.cli(arguments, environment: failpoint)
                #expect(killed.exitCode == SIGKILL && killed.stdout.isEmpty, "the failpoint killed create: \(killed)")
                #expect(try fixture.state(importID) == "creating")
                return (importID, nil)
            }
            let created = try fixture.cli(arguments)
            #expect(created.exitCode == 0, "\(created)")
            let keyID = try #require(try parseJSON(created.stdout)["key_id"] as? String)
            #expect(try fixture.cli(["complete", importID]).exitCode == 0)
            return (importID, keyID)
        case .discovered:
            // Never recorded: a platform that crashed before `track`; the aliases are older than the grace.
            let alias = fixture.alias("orphan")
            let keyID = try makeKey(fixture, alias: alias, multiRegion: crash.isMultiRegion)
            let old = Date().timeIntervalSince1970 - 7200
            try await fixture.emulator.setAliasCreationDates([alias: old, replicaAlias(of: alias): old], keyLead: 60)
            return (DaemonFixture.orphanImportID(keyID: keyID, region: Self.home), keyID)
        }
    }

    /// A key with `alias` in us-east-1; multi-Region: also a replica in eu-west-1 with its own prefixed alias.
    private func makeKey(_ fixture: DaemonFixture, alias: String, multiRegion: Bool) throws -> String {
        let keyID = try fixture.createKey(
            aliases: [alias], account: DaemonFixture.account, region: Self.home, multiRegion: multiRegion)
        if multiRegion {
            try fixture.seed(
                ["create-replica", keyID, Self.replicaRegion, "--alias", replicaAlias(of: alias)],
                account: DaemonFixture.account, region: Self.home)
        }
        return keyID
    }

    private func replicaAlias(of alias: String) -> String { "\(alias)-replica" }

    // MARK: - Then, for a create killed before AWS made anything

    /// A `create` killed right after its intent never reached AWS: there is no key to clean up, so
    /// the daemon parks the row as `stuck` naming why (the documented outcome; `retry` refuses it),
    /// and makes no AWS call that changes anything.
    private func expectParkedWithoutKey(_ importID: String, fixture: DaemonFixture) async throws {
        let parked = try await fixture.eventually(timeout: 60) { try fixture.state(importID) == "stuck" }
        #expect(parked, "\(fixture.logs())")
        #expect(try await fixture.stop() == 0)
        let record = try fixture.transfer(importID)
        #expect(record.transfer["key_id"] == nil || record.transfer["key_id"] is NSNull, "\(record.transfer)")
        let lastError = record.transfer["last_error"] as? String ?? ""
        #expect(lastError.contains("no key was made"), "\(lastError)")
        #expect(try fixture.seed(["keys-tagged", "transferkeyd:import-id", importID]).isEmpty, "no key made")
        #expect(try fixture.prefixedAliases(region: Self.home).isEmpty)
        let counts = try await fixture.emulator.counts()
        for mutating in ["kms.CreateKey", "kms.CreateAlias", "kms.ScheduleKeyDeletion", "kms.DeleteAlias"] {
            // The set-up made the mark key (one CreateKey); the create made nothing.
            let expected = mutating == "kms.CreateKey" ? 1 : nil
            #expect(counts[mutating] == expected, "\(mutating) was never called by the create: \(counts)")
        }
        let verify = try fixture.cli(["audit", "verify"])
        #expect(verify.exitCode == 0, "\(verify)")
    }
}
