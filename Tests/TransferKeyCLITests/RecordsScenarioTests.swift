import Foundation
import Testing
import TransferKeyTestSupport

/// Issue #11's leaks and false records, each as a scenario with the real binary against the emulator.
/// Each test works in a region no other test uses, so its fault rules cannot hit anyone else's calls.
@Suite("No key left behind, no wrong record", .serialized)
struct RecordsScenarioTests {
    private static let account = DaemonFixture.account
    private static let grantee = "444455556666"

    /// Sets `[aws] request_timeout` (the fixture's config has no such line).
    private func setRequestTimeout(_ fixture: DaemonFixture, _ value: String) throws {
        let text = try String(contentsOfFile: fixture.configPath, encoding: .utf8)
        try text.replacingOccurrences(of: "[aws]\n", with: "[aws]\nrequest_timeout = \"\(value)\"\n")
            .write(toFile: fixture.configPath, atomically: true, encoding: .utf8)
    }

    private func events(_ fixture: DaemonFixture, _ importID: String) throws -> [(kind: String, detail: [String: Any])]
    {
        let show = try parseJSON(try fixture.cli(["show", importID, "--json"]).stdout)
        return (show["events"] as? [[String: Any]] ?? []).map {
            (
                $0["kind"] as? String ?? "",
                (try? parseJSON($0["detail"] as? String ?? "{}")) ?? [:]
            )
        }
    }

    private func tagged(_ fixture: DaemonFixture, _ importID: String, region: String) throws -> [String] {
        try fixture.seed(["--region", region, "keys-tagged", "transferkeyd:import-id", importID])
            .split(separator: "\n").map(String.init)
    }

    // MARK: - 5. cancel-deletion is idempotent

    @Test(
        "cancel-deletion whose first CancelKeyDeletion went through unheard: KMSInvalidStateException, key not pending → cancelled, exit 0"
    )
    func cancelDeletionTwice() async throws {
        let fixture = try await DaemonFixture()
        defer { fixture.remove() }
        let region = "ap-southeast-2"
        let importID = "cancel-\(fixture.tag)"
        let alias = fixture.alias("cancel")
        let keyID = try fixture.seed(["--region", region, "create-key", "--alias", alias])
        #expect(
            try fixture.cli([
                "track", "--import-id", importID, "--account", Self.account, "--region", region, "--key-id", keyID,
                "--alias", alias,
            ]).exitCode == 0)
        #expect(try fixture.cli(["complete", importID]).exitCode == 0)
        _ = try fixture.cli(["reconcile"])
        #expect(try fixture.state(importID) == "cleaned")

        // The first attempt's answer comes after the 1 s request timeout: AWS cancelled the deletion, the
        // client retries and AWS answers KMSInvalidStateException (the key is Disabled, not pending).
        try setRequestTimeout(fixture, "1s")
        try await fixture.emulator.addRule(
            Emulator.FaultRule.lateAnswer(milliseconds: 2500, on: "CancelKeyDeletion", count: 1).matching(
                region: region, account: Self.account))
        let result = try fixture.cli(["cancel-deletion", importID])
        #expect(result.exitCode == 0, "\(result)")
        #expect(try fixture.state(importID) == "cancelled")
        #expect(try fixture.seed(["--region", region, "key-state", keyID]).hasPrefix("Disabled"))
        let cancel = try events(fixture, importID).last {
            $0.kind == "aws_call" && $0.detail["operation"] as? String == "CancelKeyDeletion"
        }
        #expect(cancel?.detail["outcome"] as? String == "already_cancelled", "\(String(describing: cancel))")
        #expect(cancel?.detail["key_state"] as? String == "Disabled")
        #expect(cancel?.detail["aws_code"] as? String == "KMSInvalidStateException", "one key name for AWS's code")

        // Once more, by hand: idempotent (exit 0, nothing called, nothing recorded).
        let eventsBefore = try events(fixture, importID).count
        let again = try fixture.cli(["cancel-deletion", importID, "--json"])
        #expect(again.exitCode == 0, "\(again)")
        let document = try parseJSON(again.stdout)
        #expect(document["cancelled"] as? Bool == false && document["state"] as? String == "cancelled", "\(again)")
        #expect(try events(fixture, importID).count == eventsBefore)
    }

    @Test(
        "a wrong --region ends stuck; show names close; close --reason makes it cancelled with who and why, asks AWS nothing, and is idempotent; list filters repeat"
    )
    func closeWrongRecord() async throws {
        let fixture = try await DaemonFixture()
        defer { fixture.remove() }
        let importID = "wrong-region-\(fixture.tag)"
        let alias = fixture.alias("wrong")
        let keyID = try fixture.seed(["--region", "us-east-1", "create-key", "--alias", alias])
        // The key is in us-east-1; the platform said eu-west-1.
        #expect(
            try fixture.cli([
                "track", "--import-id", importID, "--account", Self.account, "--region", "eu-west-1", "--key-id", keyID,
                "--alias", alias,
            ]).exitCode == 0)
        let completed = try fixture.cli(["complete", importID, "--json"])
        #expect(try parseJSON(completed.stdout)["changed"] as? Bool == true, "\(completed)")
        let completedAgain = try fixture.cli(["complete", importID, "--json"])
        #expect(try parseJSON(completedAgain.stdout)["changed"] as? Bool == false, "\(completedAgain)")
        let pass = try fixture.cli(["reconcile", "--json"])
        #expect(pass.exitCode == 1, "a transfer needs an operator: \(pass)")
        let report = try parseJSON(pass.stdout)
        let attention = report["attention"] as? [[String: Any]] ?? []
        #expect(attention.contains { $0["import_id"] as? String == importID && $0["state"] as? String == "stuck" })
        #expect(
            (report["changes"] as? [[String: Any]] ?? []).contains {
                $0["import_id"] as? String == importID && $0["to"] as? String == "stuck"
            }, "\(report)")
        #expect(try fixture.state(importID) == "stuck")
        let shown = try fixture.cli(["show", importID])
        #expect(shown.stdout.contains("transferkeyd close \(importID) --reason"), "\(shown.stdout)")

        let noReason = try fixture.cli(["close", importID])
        #expect(noReason.exitCode == 2, "\(noReason)")
        let blank = try fixture.cli(["close", importID, "--reason", "  "])
        #expect(blank.exitCode == 2 && blank.stderr.contains("--reason"), "\(blank)")
        // The emulator is shared with other suites: count the calls about this key or its alias only.
        func callsAboutKey() async throws -> Int {
            try await fixture.emulator.requestLog().filter { $0.keyID == keyID || $0.aliasName == alias }.count
        }
        let callsBefore = try await callsAboutKey()
        let closed = try fixture.cli([
            "close", importID, "--reason", "tracked in eu-west-1, key is in us-east-1", "--json",
        ])
        #expect(closed.exitCode == 0, "\(closed)")
        #expect(try parseJSON(closed.stdout)["closed"] as? Bool == true)
        #expect(try fixture.state(importID) == "cancelled")
        #expect(try await callsAboutKey() == callsBefore, "close asks AWS nothing")
        let event = try events(fixture, importID).last { $0.kind == "record_closed" }
        #expect(event?.detail["reason"] as? String == "tracked in eu-west-1, key is in us-east-1")
        #expect(event?.detail["was"] as? String == "stuck")
        #expect((event?.detail["by"] as? String)?.isEmpty == false)
        #expect(try fixture.seed(["--region", "us-east-1", "key-state", keyID]).hasPrefix("Enabled"), "key untouched")

        let again = try fixture.cli(["close", importID, "--reason", "again"])
        #expect(again.exitCode == 0 && again.stdout.contains("already cancelled"), "\(again)")
        #expect(try events(fixture, importID).filter { $0.kind == "record_closed" }.count == 1)
        #expect(try fixture.cli(["audit", "verify"]).exitCode == 0)

        // list: repeatable --state, --origin, whole import ids.
        let listed = try parseJSON(
            try fixture.cli(["list", "--state", "stuck", "--state", "cancelled", "--origin", "tracked", "--json"])
                .stdout)
        let ids = (listed["transfers"] as? [[String: Any]] ?? []).compactMap { $0["import_id"] as? String }
        #expect(ids.contains(importID), "\(ids)")
        let discovered = try parseJSON(try fixture.cli(["list", "--origin", "discovered", "--json"]).stdout)
        #expect(
            !((discovered["transfers"] as? [[String: Any]] ?? []).contains { $0["import_id"] as? String == importID }))
        #expect(try fixture.cli(["list", "--origin", "nope"]).exitCode == 2)
        #expect(
            try fixture.cli(["list", "--state", "cancelled"]).stdout.contains(importID), "the whole id in the table")
        // Only stuck and refused records close.
        let live = "live-\(fixture.tag)"
        let liveKey = try fixture.seed(["--region", "us-east-1", "create-key", "--alias", fixture.alias("live")])
        #expect(
            try fixture.cli([
                "track", "--import-id", live, "--account", Self.account, "--region", "us-east-1", "--key-id", liveKey,
            ]).exitCode == 0)
        let refusedClose = try fixture.cli(["close", live, "--reason", "not yet"])
        #expect(
            refusedClose.exitCode == 2 && refusedClose.stderr.contains("only a stuck or refused"), "\(refusedClose)")
    }

    // MARK: - 6. create when the alias exists

    @Test("create when <prefix>-<id> already exists: exit 2 naming --import-id, no key made, nothing recorded")
    func createAliasTaken() async throws {
        let fixture = try await DaemonFixture()
        defer { fixture.remove() }
        let region = "sa-east-1"
        let importID = "taken-\(fixture.tag)"
        let alias = "\(DaemonFixture.prefix)-\(importID)"
        let holder = try fixture.seed(["--region", region, "create-key", "--alias", alias])

        let result = try fixture.cli([
            "create", "--import-id", importID, "--account", Self.account, "--region", region,
            "--grantee-account", Self.grantee,
        ])
        #expect(result.exitCode == 2, "\(result)")
        #expect(result.stderr.contains("--import-id") && result.stderr.contains(holder), "\(result)")
        #expect(try tagged(fixture, importID, region: region).isEmpty)
        #expect(try fixture.cli(["show", importID]).exitCode == 2, "no transfer recorded")
    }

    @Test(
        "CreateAlias answers AlreadyExists (the name was taken meanwhile): exit 1; the transfer gives up the alias and the cleanup loop retires the key through the gate"
    )
    func createAliasRace() async throws {
        let fixture = try await DaemonFixture()
        defer { fixture.remove() }
        let region = "sa-east-1"
        let importID = "race-\(fixture.tag)"
        try await fixture.emulator.addRule(
            Emulator.FaultRule.error("AlreadyExistsException", on: "CreateAlias", count: 1).matching(
                region: region, account: Self.account))

        let result = try fixture.cli([
            "create", "--import-id", importID, "--account", Self.account, "--region", region,
            "--grantee-account", Self.grantee,
        ])
        #expect(result.exitCode == 1, "\(result)")
        #expect(result.stderr.contains("already exists"), "\(result)")
        let keys = try tagged(fixture, importID, region: region)
        #expect(keys.count == 1)
        let keyID = try #require(keys.first)
        // create itself schedules nothing: the key waits for the cleanup loop, visible in status and show.
        #expect(try fixture.seed(["--region", region, "key-state", keyID]).hasPrefix("Enabled"))
        let show = try parseJSON(try fixture.cli(["show", importID, "--json"]).stdout)
        let transfer = try #require(show["transfer"] as? [String: Any])
        #expect(transfer["state"] as? String == "cleanup_due")
        #expect(transfer["key_id"] as? String == keyID)
        #expect(transfer["alias_name"] is NSNull || transfer["alias_name"] == nil, "\(transfer)")
        #expect(result.stderr.contains("retired by the daemon"), "\(result)")
        // One pass of the cleanup loop: every rule, the budget, then ScheduleKeyDeletion.
        _ = try CommandRunner.run(
            ["reconcile", "--config", fixture.configPath], environment: DaemonFixture.awsEnvironment)
        #expect(try fixture.seed(["--region", region, "key-state", keyID]).hasPrefix("PendingDeletion"))
        #expect(try fixture.state(importID) == "cleaned")
    }

    // MARK: - 7. CreateKey answered after the timeout

    @Test(
        "CreateKey succeeds but answers after the request timeout, and no mark key is configured: the tag proves nothing, so the create parks naming the key; no second key"
    )
    func createKeyLateAnswer() async throws {
        let fixture = try await DaemonFixture()
        defer { fixture.remove() }
        let region = "ap-northeast-2"
        let importID = "late-\(fixture.tag)"
        try setRequestTimeout(fixture, "1s")
        try await fixture.emulator.addRule(
            Emulator.FaultRule.lateAnswer(milliseconds: 2500, on: "CreateKey", count: 1).matching(
                region: region, account: Self.account))

        let result = try fixture.cli([
            "create", "--import-id", importID, "--account", Self.account, "--region", region,
            "--grantee-account", Self.grantee,
        ])
        #expect(result.exitCode == 1, "\(result)")
        let keys = try tagged(fixture, importID, region: region)
        #expect(keys.count == 1, "exactly one key carries the import's tag: nothing made again")
        let keyID = try #require(keys.first)
        #expect(result.stderr.contains(keyID) && result.stderr.contains("ownership_mark_key"), "\(result)")
        #expect(try fixture.state(importID) == "stuck")
        #expect(try fixture.seed(["--region", region, "key-state", keyID]).hasPrefix("Enabled"))
    }

    // MARK: - 8. create outliving create_timeout

    @Test("a create slower than create_timeout is not parked by the running daemon: its row has a heartbeat")
    func createHeartbeat() async throws {
        let fixture = try await DaemonFixture(extraConfig: "create_timeout = \"2s\"")
        defer { fixture.remove() }
        let region = "eu-north-1"
        let importID = "slow-\(fixture.tag)"
        _ = try fixture.cli(["migrate"])
        try fixture.start()
        try await fixture.waitUntilRunning()
        try await fixture.emulator.addRule(
            Emulator.FaultRule.latency(milliseconds: 6000, on: "CreateKey", count: 1).matching(
                region: region, account: Self.account))

        let result = try fixture.cli([
            "create", "--import-id", importID, "--account", Self.account, "--region", region,
            "--grantee-account", Self.grantee,
        ])
        #expect(result.exitCode == 0, "\(result)\n\(fixture.logs())")
        #expect(try fixture.state(importID) == "active")
        #expect(try await fixture.stop() == 0)
        #expect(!(try events(fixture, importID).contains { $0.kind == "step_failed" }), "never parked")
    }

    // MARK: - 10. smaller

    @Test("a reused import id refused by track: complete no longer says all is well (exit 1 naming the new key)")
    func reusedImportID() async throws {
        let fixture = try await DaemonFixture()
        defer { fixture.remove() }
        let importID = "reuse-\(fixture.tag)"
        let first = try fixture.createKey(aliases: [fixture.alias("reuse-a")])
        let second = try fixture.createKey(aliases: [fixture.alias("reuse-b")])
        #expect(try fixture.track(importID, keyID: first, alias: fixture.alias("reuse-a")).exitCode == 0)
        #expect(try fixture.cli(["complete", importID]).exitCode == 0)

        let refused = try fixture.track(importID, keyID: second, alias: fixture.alias("reuse-b"))
        #expect(refused.exitCode == 2, "\(refused)")
        let again = try fixture.cli(["complete", importID])
        #expect(again.exitCode == 1, "\(again)")
        #expect(again.stderr.contains(second) && again.stderr.contains("reused"), "\(again)")
        #expect(try fixture.state(importID) == "cleanup_due", "the first key's cleanup is unchanged")
    }

    @Test("--max-age beyond max_transfer_age is refused: exit 2 naming --max-age and max_transfer_age")
    func maxAgeBounded() async throws {
        let fixture = try await DaemonFixture()
        defer { fixture.remove() }
        let importID = "age-\(fixture.tag)"
        let result = try fixture.track(
            importID, keyID: "1234abcd-12ab-34cd-56ef-1234567890ab", alias: nil, extra: ["--max-age", "3650d"])
        #expect(result.exitCode == 2, "\(result)")
        #expect(result.stderr.contains("--max-age") && result.stderr.contains("max_transfer_age"), "\(result)")
        #expect(result.stderr.split(separator: "\n").count == 1)
        #expect(!FileManager.default.fileExists(atPath: fixture.databasePath), "nothing written")
        #expect(
            try fixture.track(
                importID, keyID: "1234abcd-12ab-34cd-56ef-1234567890ab", alias: nil, extra: ["--max-age", "24h"]
            )
            .exitCode == 0)
    }

    // MARK: - 11. reconcile --dry-run prints the plan

    /// A completed transfer key, and a completed decoy that also carries `alias/prod-db-<tag>`.
    private func planFixture(_ fixture: DaemonFixture, name: String) throws -> (
        key: String, alias: String, decoy: String
    ) {
        let alias = fixture.alias(name)
        let key = try fixture.createKey(aliases: [alias])
        let decoyAlias = fixture.alias("\(name)-decoy")
        let decoy = try fixture.createKey(aliases: [decoyAlias, "alias/prod-db-\(fixture.tag)-\(name)"])
        for (id, keyID, aliasName) in [
            ("\(name)-\(fixture.tag)", key, alias), ("\(name)-decoy-\(fixture.tag)", decoy, decoyAlias),
        ] {
            #expect(try fixture.track(id, keyID: keyID, alias: aliasName).exitCode == 0)
            #expect(try fixture.cli(["complete", id]).exitCode == 0)
        }
        return (key, alias, decoy)
    }

    @Test(
        "reconcile --dry-run lists each key it would schedule, each alias it would delete, each refusal with its reason"
    )
    func dryRunPlanText() async throws {
        let fixture = try await DaemonFixture()
        defer { fixture.remove() }
        let (key, alias, decoy) = try planFixture(fixture, name: "plan")

        let result = try fixture.cli(["reconcile", "--dry-run"])
        #expect(result.exitCode == 1, "the decoy is refused: \(result)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(
            lines.contains { $0.hasPrefix("plan (dry run): 1 key(s) to schedule for deletion, 1 alias(es) to delete") },
            "\(result)")
        #expect(
            lines.contains {
                $0.hasPrefix("schedule-key-deletion") && $0.contains("plan-\(fixture.tag)") && $0.contains(key)
            }, "\(result)")
        #expect(lines.contains { $0.hasPrefix("delete-alias") && $0.contains(alias) }, "\(result)")
        #expect(
            lines.contains { $0.hasPrefix("refuse") && $0.contains(decoy) && $0.contains("alias/prod-db") }, "\(result)"
        )
        #expect(try fixture.keyState(key) == "Enabled", "a dry run changes nothing in AWS")
        #expect(try fixture.aliasNames().contains(alias))

        // A dry run changes no schedule: a second one shows the same plan, and the real run right after cleans.
        let again = try fixture.cli(["reconcile", "--dry-run"])
        #expect(again.stdout.contains("1 key(s) to schedule for deletion"), "\(again)")
        _ = try fixture.cli(["reconcile"])
        #expect(try fixture.state("plan-\(fixture.tag)") == "cleaned")
        #expect(try fixture.keyState(key) == "PendingDeletion")
    }

    @Test("reconcile --dry-run --json prints the plan as one JSON document and nothing else")
    func dryRunPlanJSON() async throws {
        let fixture = try await DaemonFixture()
        defer { fixture.remove() }
        let (key, alias, decoy) = try planFixture(fixture, name: "json")

        let result = try fixture.cli(["reconcile", "--dry-run", "--json"])
        #expect(result.exitCode == 1, "the decoy is refused: \(result)")
        let plan = try parseJSON(result.stdout)
        #expect(plan["dry_run"] as? Bool == true)
        let schedule = plan["schedule_key_deletion"] as? [[String: Any]] ?? []
        #expect(schedule.map { $0["key_id"] as? String } == [key], "\(plan)")
        #expect(schedule.first?["import_id"] as? String == "json-\(fixture.tag)")
        #expect(schedule.first?["account_id"] as? String == Self.account)
        let deletions = plan["delete_alias"] as? [[String: Any]] ?? []
        #expect(deletions.map { $0["alias_name"] as? String } == [alias], "\(plan)")
        let refused = plan["refused"] as? [[String: Any]] ?? []
        #expect(refused.map { $0["key_id"] as? String } == [decoy], "\(plan)")
        #expect((refused.first?["reason"] as? String)?.contains("alias/prod-db") == true, "\(plan)")
        #expect(!(plan["scans"] as? [Any] ?? []).isEmpty)

        // Without --dry-run, --json reports the real pass instead (one document, nothing else on stdout).
        let real = try fixture.cli(["reconcile", "--json"])
        let report = try parseJSON(real.stdout)
        #expect(report["scan"] is [Any] && report["changes"] is [Any] && report["attention"] is [Any], "\(real)")
    }
}
