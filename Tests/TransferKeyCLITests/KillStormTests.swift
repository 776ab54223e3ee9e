import Foundation
import Testing
import TransferKeyTestSupport

/// 100 transfers of all three origins, five SIGKILLs at seeded random instants while their cleanup
/// runs, a restart after each: everything is cleaned exactly once (issue 6, kill storm).
///
/// The seed is printed; `TRANSFERKEYD_KILL_STORM_SEED=<seed>` replays a schedule.
@Suite("Kill storm: 100 transfers, five kill -9 during cleanup", .serialized)
struct KillStormTests {
    static let tracked = 60
    static let created = 20
    static let discovered = 20

    @Test("five kill -9 at random instants during the cleanup of 100 transfers; restarts finish all 100")
    func killStorm() async throws {
        let seed =
            ProcessInfo.processInfo.environment["TRANSFERKEYD_KILL_STORM_SEED"].flatMap { UInt64($0) }
            ?? UInt64.random(in: 1...UInt64.max)
        print("kill storm seed: \(seed) (replay with TRANSFERKEYD_KILL_STORM_SEED=\(seed))")
        var generator = SeededGenerator(seed: seed)

        // A small deletion budget spreads the cleanup over many cycles, so the kills fall inside it; the five keys
        // of a cycle are in flight together.
        let fixture = try await DaemonFixture.isolated(
            extraConfig: "orphan_grace = \"1m\"\nmax_deletions_per_cycle = 5", scanInterval: "10s")
        try fixture.setAWSOption("max_in_flight = 5")
        defer {
            fixture.remove()
            fixture.emulator.stop()
        }

        // Given 100 transfers whose imports are over: tracked, created by `create`, and orphans.
        var importIDs: [String] = []
        var keyIDs: [String] = []
        for line in try fixture.seed(["create-keys", "\(Self.tracked)", "--alias-prefix", fixture.alias("t")])
            .split(separator: "\n")
        {
            let parts = line.split(separator: " ").map(String.init)
            let importID = "storm-t\(importIDs.count)-\(fixture.tag)"
            let tracked = try fixture.track(importID, keyID: parts[0], alias: parts[1])
            #expect(tracked.exitCode == 0, "\(tracked)")
            importIDs.append(importID)
            keyIDs.append(parts[0])
        }
        for index in 0..<Self.created {
            let importID = "storm-c\(index)-\(fixture.tag)"
            let created = try fixture.cli([
                "create", "--import-id", importID, "--account", DaemonFixture.account, "--region", "us-east-1",
                "--grantee-account", "444455556666",
            ])
            #expect(created.exitCode == 0, "\(created)")
            importIDs.append(importID)
            keyIDs.append(try #require(try parseJSON(created.stdout)["key_id"] as? String))
        }
        for importID in importIDs {
            #expect(try fixture.cli(["complete", importID]).exitCode == 0)
        }
        var orphanDates: [String: Double] = [:]
        for line in try fixture.seed(["create-keys", "\(Self.discovered)", "--alias-prefix", fixture.alias("o")])
            .split(separator: "\n")
        {
            let parts = line.split(separator: " ").map(String.init)
            orphanDates[parts[1]] = Date().timeIntervalSince1970 - 7200
            importIDs.append(DaemonFixture.orphanImportID(keyID: parts[0]))
            keyIDs.append(parts[0])
        }
        try await fixture.emulator.setAliasCreationDates(orphanDates, keyLead: 60)
        #expect(Set(keyIDs).count == 100)
        // 300 ms on every KMS call stretches each cycle (5 keys in flight, 5 calls each) to 1.5 s of a 2.5 s turn,
        // so a random instant mostly lands between a call and its record rather than between cycles, and the pace is
        // the latency's, not the machine's: 100 keys take ~50 s of the daemon's life.
        try await fixture.emulator.addRule(.latency(milliseconds: 300, on: "*").matching(service: "kms"))

        // When the daemon is killed five times, each at a random instant after its cleanup made progress.
        for round in 1...5 {
            let before = try await mutatingCalls(fixture)
            try fixture.start()
            let moved = try await waitForProgress(fixture, beyond: before)
            #expect(moved, "round \(round): cleanup made progress before the kill (seed \(seed))")
            let delay = Int.random(in: 0...2000, using: &generator)
            try await Task.sleep(for: .milliseconds(delay))
            try await fixture.killNow()
            let cleaned = try fixture.cleanedCount()
            let calls = try await mutatingCalls(fixture)
            print(
                "kill storm round \(round): kill -9 \(delay) ms after progress; \(cleaned)/100 cleaned,"
                    + " \(calls) ScheduleKeyDeletion/DeleteAlias accepted so far")
            #expect(cleaned < 100, "round \(round): the kill fell during cleanup, not after it (seed \(seed))")
            // A machine so busy that rounds last long leaves the rest to the last start rather than kill a done daemon.
            if cleaned >= 60 { break }
        }
        try fixture.start()

        // Then all 100 are cleaned: every key pending deletion, scheduled exactly once, no prefixed alias left.
        let done = try await fixture.eventually(timeout: 240) { try fixture.cleanedCount() == 100 }
        #expect(done, "all 100 cleaned (seed \(seed)): \(fixture.logs().suffix(4000))")
        #expect(try await fixture.stop() == 0)

        let transfers = try fixture.transfers()
        #expect(transfers.count == 100, "no orphan adopted twice (seed \(seed))")
        #expect(Set(transfers.compactMap { $0["import_id"] as? String }) == Set(importIDs))
        let origins = Dictionary(grouping: transfers) { $0["origin"] as? String ?? "?" }.mapValues(\.count)
        #expect(origins == ["tracked": Self.tracked, "created": Self.created, "discovered": Self.discovered])
        let notCleaned = transfers.filter { $0["state"] as? String != "cleaned" }
        #expect(notCleaned.isEmpty, "nothing stuck or left behind (seed \(seed)): \(notCleaned)")
        #expect(try fixture.stuckTransfers().isEmpty)

        let states = try fixture.keyStates()
        for keyID in keyIDs where states[keyID] != "PendingDeletion" {
            Issue.record("key \(keyID) is \(states[keyID] ?? "gone"), not PendingDeletion (seed \(seed))")
        }
        let calls = try await fixture.scheduleCalls()
        let expected = Dictionary(uniqueKeysWithValues: keyIDs.map { ("\($0) us-east-1", 1) })
        let wrong = expected.filter { calls.accepted[$0.key] != 1 }.keys.sorted()
        #expect(wrong.isEmpty, "ScheduleKeyDeletion accepted exactly once per key (seed \(seed)): \(wrong)")
        #expect(calls.accepted.count == 100, "no other key scheduled: \(calls.accepted.count)")
        #expect(calls.refused.isEmpty, "no second call answered KMSInvalidState (seed \(seed)): \(calls.refused)")
        let left = try fixture.prefixedAliases()
        #expect(left.isEmpty, "no prefixed alias left (seed \(seed)): \(left.sorted())")
        let verify = try fixture.cli(["audit", "verify"])
        #expect(verify.exitCode == 0, "audit chain intact (seed \(seed)): \(verify)")
    }

    /// Accepted `ScheduleKeyDeletion` and `DeleteAlias` calls so far.
    private func mutatingCalls(_ fixture: DaemonFixture) async throws -> Int {
        try await fixture.emulator.requestLog().filter {
            ($0.operation == "ScheduleKeyDeletion" || $0.operation == "DeleteAlias") && $0.status == 200
        }.count
    }

    /// Polls the emulator until the daemon made a mutating call beyond `count` (up to 90 s).
    private func waitForProgress(_ fixture: DaemonFixture, beyond count: Int) async throws -> Bool {
        let deadline = Date().addingTimeInterval(90)
        while Date() < deadline {
            if try await mutatingCalls(fixture) > count { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }
}

extension DaemonFixture {
    /// How many transfers are `cleaned`.
    fileprivate func cleanedCount() throws -> Int {
        try transfers().filter { $0["state"] as? String == "cleaned" }.count
    }
}
