import Foundation
import Testing
import TransferKeyTestSupport

/// The ledger as evidence against whoever can write the file: the keyed chain, and the rows decisions read.
@Suite("The ledger as evidence: a keyed chain and verified rows")
struct LedgerEvidenceTests {
    /// Recomputes the SHA-256 chain after an edit, as an attacker with the documented algorithm and write access
    /// to the file (but not the audit key) would: the triggers dropped, one event rewritten, every hash redone.
    static let forge = """
        import hashlib, sqlite3, sys
        db = sqlite3.connect(sys.argv[1])
        db.executescript("DROP TRIGGER IF EXISTS events_refuse_update; DROP TRIGGER IF EXISTS events_refuse_replace;")
        db.execute("UPDATE events SET detail = ? WHERE seq = ?", (sys.argv[3], int(sys.argv[2])))
        def field(v):
            if v is None: return b"~"
            d = str(v).encode(); return str(len(d)).encode() + b":" + d + b","
        prev = "0" * 64
        for seq, at, imp, kind, detail, actor in db.execute(
                "SELECT seq, at, import_id, kind, detail, actor FROM events ORDER BY seq").fetchall():
            h = hashlib.sha256(prev.encode() + b"".join(field(x) for x in (seq, at, imp, kind, detail, actor))).hexdigest()
            db.execute("UPDATE events SET prev_hash = ?, hash = ? WHERE seq = ?", (prev, h, seq))
            prev = h
        db.commit()
        """

    @Test(
        "with audit_key_file every event carries a MAC; a chain recomputed without the key fails audit verify at the forged event; a lost key is detected, not passed"
    )
    func keyedChain() throws {
        let scratch = try TemporaryDirectory(prefix: "transferkeyd-key")
        defer { scratch.remove() }
        let keyPath = scratch.path("audit.key")
        let fixture = try CLIFixture(extraConfig: "audit_key_file = \"\(keyPath)\"")
        defer { fixture.remove() }
        #expect(try fixture.track().exitCode == 0)
        #expect(try fixture.run(["complete", "imp-1"]).exitCode == 0)
        // The first writer made the key: 0440, keying from event 1; every event has a MAC.
        #expect(try FileManager.default.attributesOfItem(atPath: keyPath)[.posixPermissions] as? Int == 0o440)
        #expect(try fixture.sqlite("SELECT count(*) FROM events WHERE mac IS NULL") == "0")
        let intact = try fixture.run(["audit", "verify"])
        #expect(intact.exitCode == 0 && intact.stdout.contains("intact"), "\(intact)")

        // Rewritten and recomputed without the key: the SHA-256 links hold, the MACs do not.
        let forged = try CommandRunner.runTool(
            "python3", ["-c", Self.forge, fixture.databasePath, "1", #"{"forged":true}"#])
        #expect(forged.exitCode == 0, "\(forged)")
        let caught = try fixture.run(["audit", "verify"])
        #expect(caught.exitCode == 1, "\(caught)")
        #expect(
            caught.stdout.contains("BROKEN at event 1") && caught.stdout.contains("MAC does not verify"), "\(caught)")
        let check = try fixture.run(["check"])
        #expect(check.stdout.contains("✗ audit chain"), "\(check.stdout)")

        // The key lost: verify cannot vouch for the keyed events (exit 1), and a writer refuses to go on unkeyed.
        try FileManager.default.removeItem(atPath: keyPath)
        let unverified = try fixture.run(["audit", "verify", "--json"])
        #expect(unverified.exitCode == 1)
        #expect(
            unverified.stdout.contains("\"ok\":false") && unverified.stdout.contains("no audit key"), "\(unverified)")
        let writer = try fixture.track(importID: "imp-2")
        #expect(writer.exitCode == 3, "\(writer)")
        #expect(writer.stderr.contains("is missing, but the audit chain is keyed from event 1"), "\(writer)")
        #expect(!FileManager.default.fileExists(atPath: keyPath), "no new key replaces the lost one")
    }

    @Test("an unkeyed ledger is keyed from its next event by audit init-key; the old events stay as they were")
    func keyedLater() throws {
        let scratch = try TemporaryDirectory(prefix: "transferkeyd-key")
        defer { scratch.remove() }
        let fixture = try CLIFixture()
        defer { fixture.remove() }
        #expect(try fixture.track().exitCode == 0)
        let before = try fixture.sqlite("SELECT max(seq) FROM events")
        let keyPath = scratch.path("audit.key")
        try CLIFixture.write(
            (try String(contentsOfFile: fixture.configPath, encoding: .utf8))
                .replacingOccurrences(of: "poll_interval", with: "audit_key_file = \"\(keyPath)\"\npoll_interval"),
            to: fixture.configPath)
        let made = try fixture.run(["audit", "init-key"])
        #expect(made.exitCode == 0, "\(made)")
        #expect(made.stdout.contains("keying from event \(Int(before)! + 1)"), "\(made.stdout)")
        #expect(try fixture.run(["audit", "init-key"]).stdout.contains("kept"))
        #expect(try fixture.run(["complete", "imp-1"]).exitCode == 0)
        #expect(try fixture.sqlite("SELECT count(*) FROM events WHERE mac IS NULL") == before)
        #expect(try fixture.run(["audit", "verify"]).exitCode == 0)
    }

    @Test(
        "an edited decision row (a refused 400-day-old orphan turned into a tracked transfer due for cleanup) is refused (ledger_mismatch): the key is untouched and audit verify names the row"
    )
    func editedRow() async throws {
        try await DaemonFixture.withIsolated(extraConfig: "orphan_grace = \"1h\"") { fixture in
            let alias = fixture.alias("prod")
            let production = try fixture.createKey(aliases: [alias])
            let now = Date().timeIntervalSince1970
            try await fixture.emulator.changeKey(
                .init(
                    keyID: production, account: DaemonFixture.account, region: "us-east-1",
                    creationDate: now - 400 * 86_400))
            try await fixture.emulator.setAliasDates(alias, created: now - 30 * 86_400)
            let reconcile = ["reconcile", "--config", fixture.configPath]
            _ = try CommandRunner.run(reconcile, environment: DaemonFixture.awsEnvironment)
            let orphan = DaemonFixture.orphanImportID(keyID: production)
            #expect(try fixture.state(orphan) == "refused")

            // Whoever can write the file turns it into a tracked transfer due now.
            let edited = try DaemonFixture.runTool(
                "sqlite3",
                [
                    fixture.databasePath,
                    "UPDATE transfers SET origin = 'tracked', state = 'cleanup_due', last_error = NULL, "
                        + "next_attempt_at = '2000-01-01T00:00:00.000Z' WHERE import_id = '\(orphan)'",
                ])
            #expect(edited.exitCode == 0, "\(edited)")
            let verify = try fixture.cli(["audit", "verify"])
            #expect(verify.exitCode == 1, "\(verify)")
            #expect(
                verify.stdout.contains("row \(orphan) disagrees with its audit trail: its origin is tracked"),
                "\(verify)")

            _ = try CommandRunner.run(reconcile, environment: DaemonFixture.awsEnvironment)
            #expect(try fixture.keyState(production) == "Enabled", "the daemon touched nothing")
            #expect(try fixture.aliasNames().contains(alias))
            #expect(try fixture.state(orphan) == "refused")
            let shown = try fixture.cli(["show", orphan, "--json"]).stdout
            #expect(shown.contains("ledger_mismatch"), "\(shown)")
        }
    }
}

/// AWS's odd answers: a 200 that cannot be decoded never parks a transfer nor makes a false record.
@Suite("No false record, no parked key: garbled answers", .serialized)
struct GarbledAnswerScenarioTests {
    @Test(
        "garbled 200s to DescribeKey, to a performed ScheduleKeyDeletion and to an unperformed DeleteAlias: none stuck, no false `cleaned`, every key cleaned once AWS answers"
    )
    func garbledAnswers() async throws {
        try await DaemonFixture.withIsolated(extraConfig: "orphan_grace = \"1h\"") { fixture in
            let alias = fixture.alias("garbled")
            let key = try fixture.createKey(aliases: [alias])
            try await fixture.emulator.setAliasDates(alias, created: Date().timeIntervalSince1970 - 7200)
            let importID = "imp-garbled-\(fixture.tag)"
            #expect(try fixture.track(importID, keyID: key, alias: alias).exitCode == 0)
            #expect(try fixture.cli(["complete", importID]).exitCode == 0)
            _ = try await fixture.emulator.addRule(.garbled("html", on: "DescribeKey", count: 1))
            _ = try await fixture.emulator.addRule(
                .garbled("truncated", perform: true, on: "ScheduleKeyDeletion", count: 1))
            _ = try await fixture.emulator.addRule(.garbled("json", on: "DeleteAlias", count: 1))
            let offset = fixture.folder.path("clock-offset")
            var environment = DaemonFixture.awsEnvironment
            environment["TRANSFERKEYD_CLOCK_OFFSET_FILE"] = offset
            var states: [String] = []
            // Each pass an hour later than the last (past any backoff), by the host's clock.
            for hour in 0..<6 {
                try "\(hour * 3600)\n".write(toFile: offset, atomically: true, encoding: .utf8)
                _ = try CommandRunner.run(["reconcile", "--config", fixture.configPath], environment: environment)
                let state = try fixture.state(importID)
                states.append(state)
                #expect(state != "stuck", "a garbled answer never parks the transfer: \(states)")
                if state == "cleaned" {
                    #expect(!(try fixture.aliasNames().contains(alias)), "`cleaned` only once AWS shows no alias")
                    break
                }
            }
            #expect(states.last == "cleaned", "\(states)")
            #expect(try fixture.keyState(key) == "PendingDeletion")
            let contradicted = try fixture.rowsContradictedByAWS()
            #expect(contradicted.isEmpty, "every row true to AWS: \(contradicted)")
            let shown = try fixture.cli(["show", importID, "--json"]).stdout
            #expect(shown.contains("InvalidResponse") && shown.contains("AliasStillListed"), "\(shown)")
            #expect(
                shown.contains("answer_lost") && shown.contains("transferkeyd (answer lost)"),
                "the performed call whose answer was garbage is recorded as ours: \(shown)")
        }
    }

    @Test(
        "KMS answers 500 to every DescribeKey for hours of the host's clock: the transfer is retried, never stuck, and cleaned at the first pass after AWS answers"
    )
    func longOutage() async throws {
        try await DaemonFixture.withIsolated(extraConfig: "orphan_grace = \"1h\"") { fixture in
            let alias = fixture.alias("outage")
            let key = try fixture.createKey(aliases: [alias])
            try await fixture.emulator.setAliasDates(alias, created: Date().timeIntervalSince1970 - 7200)
            let importID = "imp-outage-\(fixture.tag)"
            #expect(try fixture.track(importID, keyID: key, alias: alias).exitCode == 0)
            #expect(try fixture.cli(["complete", importID]).exitCode == 0)
            try await fixture.emulator.addRule(.error("KMSInternalException", status: 500, on: "DescribeKey"))
            let offset = fixture.folder.path("clock-offset")
            var environment = DaemonFixture.awsEnvironment
            environment["TRANSFERKEYD_CLOCK_OFFSET_FILE"] = offset
            // 15 failed looks, 15 minutes apart (past the capped backoff): more than any attempt budget (the old one
            // parked the transfer at 12).
            for step in 0...14 {
                try "\(step * 900)\n".write(toFile: offset, atomically: true, encoding: .utf8)
                _ = try CommandRunner.run(["reconcile", "--config", fixture.configPath], environment: environment)
                #expect(try fixture.state(importID) == "cleanup_due", "minute \(step * 15): retried, not parked")
            }
            let attempts = try fixture.transfer(importID).transfer["attempts"] as? Int ?? 0
            #expect(attempts >= 13, "the outage outlasted the old budget: \(attempts) attempts")
            let during = try fixture.cli(["status", "--json"])
            let retrying = try parseJSON(during.stdout)["retrying"] as? [[String: Any]] ?? []
            #expect(retrying.first?["transfers"] as? Int == 1, "\(during.stdout)")
            try await fixture.emulator.clearRules()
            try "\(16 * 900)\n".write(toFile: offset, atomically: true, encoding: .utf8)
            _ = try CommandRunner.run(["reconcile", "--config", fixture.configPath], environment: environment)
            #expect(try fixture.state(importID) == "cleaned")
            #expect(try fixture.keyState(key) == "PendingDeletion")
            let contradicted = try fixture.rowsContradictedByAWS()
            #expect(contradicted.isEmpty, "every row true to AWS: \(contradicted)")
        }
    }

    @Test(
        "a replica's deletion cancelled outside transferkeyd: the primary waits in PendingReplicaDeletion, and the row is recorded cancelled, not left cleaned"
    )
    func replicaCancelledOutside() async throws {
        try await DaemonFixture.withIsolated(extraConfig: "orphan_grace = \"1h\"") { fixture in
            let alias = fixture.alias("mrk")
            let key = try fixture.createKey(
                aliases: [alias], account: DaemonFixture.account, region: "us-east-1", multiRegion: true)
            _ = try fixture.seed(["create-replica", key, "us-west-2"])
            try await fixture.emulator.setAliasDates(alias, created: Date().timeIntervalSince1970 - 7200)
            let importID = "imp-mrk-\(fixture.tag)"
            #expect(try fixture.track(importID, keyID: key, alias: alias).exitCode == 0)
            #expect(try fixture.cli(["complete", importID]).exitCode == 0)
            _ = try CommandRunner.run(
                ["reconcile", "--config", fixture.configPath], environment: DaemonFixture.awsEnvironment)
            #expect(try fixture.state(importID) == "cleaned")
            #expect(try fixture.keyState(key, account: DaemonFixture.account, region: "us-west-2") == "PendingDeletion")

            // Somebody cancels the replica's deletion; days later the daemon confirms the deletion.
            _ = try fixture.seed(["cancel-deletion", key], account: DaemonFixture.account, region: "us-west-2")
            let offset = fixture.folder.path("clock-offset")
            try "\(8 * 86_400)\n".write(toFile: offset, atomically: true, encoding: .utf8)
            var environment = DaemonFixture.awsEnvironment
            environment["TRANSFERKEYD_CLOCK_OFFSET_FILE"] = offset
            _ = try CommandRunner.run(["reconcile", "--config", fixture.configPath], environment: environment)
            #expect(try fixture.state(importID) == "cancelled")
            let shown = try fixture.cli(["show", importID, "--json"]).stdout
            #expect(shown.contains("cancelled outside transferkeyd in us-west-2"), "\(shown)")
        }
    }
}
