import Foundation
import Testing
import TransferKeyTestSupport

/// The daemon as a real subprocess against moto and our fault layer.
@Suite("Daemon against the AWS emulator", .serialized)
struct DaemonEmulatorTests {
    @Test("a pending snapshot keeps the key alive; once completed the key is scheduled and its alias removed")
    func lifecycle() async throws {
        let fixture = try await DaemonFixture()
        defer { fixture.remove() }
        let alias = fixture.alias("imp")
        let keyID = try fixture.createKey(aliases: [alias])
        let snapshot = try fixture.seed(["create-snapshot"])
        try await fixture.emulator.setSnapshotStates([snapshot: "pending"])
        let tracked = try fixture.cli([
            "track", "--import-id", "imp-\(fixture.tag)", "--account", DaemonFixture.account, "--region", "us-east-1",
            "--key-id", keyID, "--alias", alias, "--snapshot", snapshot,
        ])
        #expect(tracked.exitCode == 0, "\(tracked)")

        try fixture.start()
        // Several poll intervals pass: the import is still running, so the key must live.
        try await Task.sleep(for: .seconds(3))
        #expect(try fixture.state("imp-\(fixture.tag)") == "active")
        #expect(try fixture.keyState(keyID) == "Enabled")

        try await fixture.emulator.setSnapshotStates([snapshot: "completed"])
        let cleaned = try await fixture.eventually { try fixture.state("imp-\(fixture.tag)") == "cleaned" }
        #expect(cleaned, "\(fixture.logs())")
        #expect(try fixture.keyState(keyID) == "PendingDeletion")
        #expect(!(try fixture.aliasNames().contains(alias)))

        let show = try fixture.cli(["show", "imp-\(fixture.tag)", "--json"])
        let transfer = try #require(try parseJSON(show.stdout)["transfer"] as? [String: Any])
        let deletion = try #require(transfer["key_deletion_date"] as? String)
        #expect(deletion > "2026", "a deletion date about 7 days out: \(deletion)")
        #expect(try await fixture.stop() == 0, "SIGTERM ends the daemon with exit 0")
        #expect(try fixture.cli(["audit", "verify"]).exitCode == 0)
    }

    @Test("decoys are never touched (a foreign alias, look-alike names); a stale orphan is adopted and cleaned")
    func decoys() async throws {
        let fixture = try await DaemonFixture(extraConfig: "orphan_grace = \"1h\"")
        defer { fixture.remove() }
        // Tracked, but the key also carries a production alias: refused.
        let mixedAlias = fixture.alias("mixed")
        let mixed = try fixture.createKey(aliases: [mixedAlias, "alias/prod-db-\(fixture.tag)"])
        // Never tracked, names that only look like ours.
        let lowerCase = try fixture.createKey(aliases: ["alias/cadoresponse-kms-alias-\(fixture.tag)"])
        let oneOff = try fixture.createKey(aliases: ["alias/CadoResponse-KMS-Alia-\(fixture.tag)"])
        // An orphan: prefixed, never tracked, older than the grace.
        let orphanAlias = fixture.alias("orphan")
        let orphan = try fixture.createKey(aliases: [orphanAlias])
        try await fixture.emulator.setAliasCreationDates(
            [orphanAlias: Date().timeIntervalSince1970 - 7200], keyLead: 60)

        #expect(
            try fixture.cli([
                "track", "--import-id", "mixed-\(fixture.tag)", "--account", DaemonFixture.account, "--region",
                "us-east-1", "--key-id", mixed, "--alias", mixedAlias,
            ]).exitCode == 0)
        #expect(try fixture.cli(["complete", "mixed-\(fixture.tag)"]).exitCode == 0)

        try fixture.start()
        let settled = try await fixture.eventually {
            try fixture.state("mixed-\(fixture.tag)") == "refused"
                && (try fixture.keyState(orphan)) == "PendingDeletion"
        }
        #expect(settled, "\(fixture.logs())")
        #expect(try await fixture.stop() == 0)

        #expect(try fixture.keyState(mixed) == "Enabled")
        #expect(try fixture.keyState(lowerCase) == "Enabled")
        #expect(try fixture.keyState(oneOff) == "Enabled")
        let aliases = try fixture.aliasNames()
        for kept in [
            mixedAlias, "alias/prod-db-\(fixture.tag)", "alias/cadoresponse-kms-alias-\(fixture.tag)",
            "alias/CadoResponse-KMS-Alia-\(fixture.tag)",
        ] {
            #expect(aliases.contains(kept), "\(kept) must survive")
        }
        #expect(!aliases.contains(orphanAlias))
        let list = try parseJSON(try fixture.cli(["list", "--json"]).stdout)
        let origins = (list["transfers"] as? [[String: Any]] ?? []).filter { ($0["key_id"] as? String) == orphan }
            .compactMap { $0["origin"] as? String }
        #expect(origins == ["discovered"])
    }

    @Test(
        "a kill -9 right after each cleanup step is finished by the next start, without scheduling twice",
        arguments: [
            "after_schedule_key_deletion", "after_key_scheduled", "after_delete_alias", "after_aliases_removed",
        ])
    func killAtStep(failpoint: String) async throws {
        let fixture = try await DaemonFixture()
        defer { fixture.remove() }
        let alias = fixture.alias("kill")
        let keyID = try fixture.createKey(aliases: [alias])
        let importID = "kill-\(fixture.tag)"
        #expect(
            try fixture.cli([
                "track", "--import-id", importID, "--account", DaemonFixture.account, "--region", "us-east-1",
                "--key-id", keyID, "--alias", alias,
            ]).exitCode == 0)
        #expect(try fixture.cli(["complete", importID]).exitCode == 0)

        try fixture.start(environment: ["TRANSFERKEYD_FAILPOINT": failpoint])
        let died = try await fixture.waitForExit()
        #expect(died.reason == .uncaughtSignal && died.status == SIGKILL, "the failpoint killed the daemon")

        try fixture.start()
        let finished = try await fixture.eventually { try fixture.state(importID) == "cleaned" }
        #expect(finished, "\(fixture.logs())")
        #expect(try await fixture.stop() == 0)
        #expect(try fixture.keyState(keyID) == "PendingDeletion")
        #expect(!(try fixture.aliasNames().contains(alias)))
        let events = try parseJSON(try fixture.cli(["show", importID, "--json"]).stdout)["events"] as? [[String: Any]]
        let kinds = (events ?? []).compactMap { $0["kind"] as? String }
        #expect(!kinds.contains("step_failed"), "no ScheduleKeyDeletion repeated into an error: \(kinds)")
        let details = (events ?? []).map { ($0["kind"] as? String ?? "", $0["detail"] as? String ?? "") }
        let scheduleCalls = details.filter { $0.0 == "aws_call" && $0.1.contains("\"ScheduleKeyDeletion\"") }
        if failpoint == "after_schedule_key_deletion" {
            // The call's record died with the process; its intent did not: the restart found the key pending and
            // recorded the call as ours (its answer lost), not as somebody else's.
            #expect(
                scheduleCalls.count == 1 && scheduleCalls[0].1.contains("\"outcome\":\"answer_lost\""), "\(details)")
            #expect(details.contains { $0.0 == "key_scheduled" && $0.1.contains("\"settled\":true") }, "\(details)")
            #expect(details.contains { $0.0 == "key_scheduled" && $0.1.contains("transferkeyd (answer lost)") })
        } else {
            #expect(scheduleCalls.count == 1, "scheduled exactly once: \(details)")
        }
        #expect(!kinds.contains("key_refused"))
        #expect(try fixture.cli(["audit", "verify"]).exitCode == 0)
    }
}

@Suite("Daemon and systemd")
struct DaemonNotifyTests {
    @Test("sd_notify: READY, STATUS with counts and WATCHDOG while running; STOPPING and exit 0 on SIGTERM")
    func notify() async throws {
        let fixture = try await DaemonFixture()
        defer { fixture.remove() }
        let listener = try DatagramListener(path: fixture.folder.path("notify.sock"))
        try fixture.start(environment: ["NOTIFY_SOCKET": listener.notifySocket, "WATCHDOG_USEC": "2000000"])
        var messages: [String] = []
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if let message = listener.receive(timeout: 1) { messages.append(message) }
            if messages.contains("READY=1"), messages.contains(where: { $0.hasPrefix("STATUS=") }),
                messages.contains("WATCHDOG=1")
            {
                break
            }
        }
        #expect(messages.contains("READY=1"), "\(messages)")
        #expect(messages.contains { $0.hasPrefix("STATUS=") && $0.contains("active=") }, "\(messages)")
        #expect(messages.contains("WATCHDOG=1"), "\(messages)")
        let live = try fixture.cli(["status", "--json"])
        let liveDaemon = try parseJSON(live.stdout)["daemon"] as? [String: Any]
        #expect(liveDaemon?["running"] as? Bool == true, "\(live)")
        #expect((liveDaemon?["uptime_seconds"] as? Int).map { $0 >= 0 } == true, "uptime while running: \(live)")
        let liveText = try fixture.cli(["status"]).stdout
        #expect(liveText.contains("running (pid") && liveText.contains(", up "), "\(liveText)")
        let pid = try #require(fixture.pid)
        kill(pid, SIGTERM)
        var stopping = false
        let stopDeadline = Date().addingTimeInterval(10)
        while Date() < stopDeadline, !stopping {
            if let message = listener.receive(timeout: 1) { stopping = message == "STOPPING=1" }
        }
        #expect(stopping)
        let exit = try await fixture.waitForExit(timeout: 15)
        #expect(exit.reason == .exit && exit.status == 0, "SIGTERM ends the daemon with exit 0: \(fixture.logs())")
        let status = try fixture.cli(["status", "--json"])
        let daemon = try parseJSON(status.stdout)["daemon"] as? [String: Any]
        #expect(daemon?["running"] as? Bool == false, "a clean stop is visible at once")
        #expect(daemon?["stopped_at"] as? String != nil)
        #expect(daemon?["uptime_seconds"] is NSNull, "no uptime once stopped")
    }
}
