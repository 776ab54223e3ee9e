import Foundation
import Testing
import TransferKeyTestSupport

/// "No other key ever dies": the adversarial cases of the provenance issue, each against the real binary and its own
/// emulator. An attacker with `kms:CreateAlias`, a moved alias, a host clock hours off, an alias added while
/// `ScheduleKeyDeletion` is in flight, two imports on one key, keys that are not plain KMS keys, replicas being
/// made, a blast radius over time, a prefix too short, a key somebody disabled.
@Suite("Provenance before deletion: a prefixed alias is a claim, not proof", .serialized)
struct ProvenanceScenarioTests {
    static let account = DaemonFixture.account
    static let day: Double = 86400

    private static func fixture(_ extraConfig: String = "orphan_grace = \"1h\"", regions: [String] = ["us-east-1"])
        async throws -> DaemonFixture
    {
        try await DaemonFixture.isolated(
            extraConfig: extraConfig, accounts: [.init(id: account, regions: regions)])
    }

    /// Runs `body` with a fresh fixture (its own emulator and folder), then removes both, also when `body` throws.
    private static func withFixture(
        _ extraConfig: String = "orphan_grace = \"1h\"", regions: [String] = ["us-east-1"],
        _ body: (DaemonFixture) async throws -> Void
    ) async throws {
        let fixture = try await fixture(extraConfig, regions: regions)
        defer {
            fixture.remove()
            fixture.emulator.stop()
        }
        try await body(fixture)
    }

    /// `transferkeyd reconcile` (one scan, one poll, one pass over due work) with the fixture's config.
    @discardableResult
    private static func reconcile(_ fixture: DaemonFixture, environment: [String: String] = [:]) throws -> CommandResult
    {
        try CommandRunner.run(
            ["reconcile", "--config", fixture.configPath],
            environment: DaemonFixture.awsEnvironment.merging(environment) { $1 })
    }

    private static func sql(_ fixture: DaemonFixture, _ query: String) throws -> String {
        try DaemonFixture.runTool("sqlite3", [fixture.databasePath, query]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private static func lastError(_ fixture: DaemonFixture, _ importID: String) throws -> String {
        try fixture.transfer(importID).transfer["last_error"] as? String ?? ""
    }

    // MARK: 1. A planted alias

    @Test(
        "1. a prefixed alias planted on a 400-day-old key: refused (no provenance), untouched; accepted only on an operator's word"
    )
    func plantedAlias() async throws {
        try await Self.withFixture { fixture in
            let planted = fixture.alias("planted")
            let production = try fixture.createKey(aliases: [planted])
            let now = Date().timeIntervalSince1970
            try await fixture.emulator.changeKey(
                .init(keyID: production, account: Self.account, region: "us-east-1", creationDate: now - 400 * Self.day)
            )
            try await fixture.emulator.setAliasDates(planted, created: now - 7 * 3600)

            let result = try Self.reconcile(fixture)
            #expect(result.exitCode == 1, "a refused transfer needs an operator: \(result)")
            let importID = DaemonFixture.orphanImportID(keyID: production)
            #expect(try fixture.state(importID) == "refused")
            let reason = try Self.lastError(fixture, importID)
            #expect(
                reason.hasPrefix("no_provenance:") && reason.contains("before its first prefixed alias"), "\(reason)")
            #expect(try fixture.keyState(production) == "Enabled")
            #expect(try fixture.aliasNames().contains(planted))
            #expect(try await fixture.emulator.counts()["kms.ScheduleKeyDeletion"] == nil)
            // The evidence is in the audit event: the key's age, the alias's date, AWS's clock.
            let evidence = try Self.sql(
                fixture, "SELECT detail FROM events WHERE import_id = '\(importID)' AND kind = 'orphan_adopted'")
            #expect(evidence.contains("\"provenance\"") && evidence.contains("\"aws_time\""), "\(evidence)")
            let status = try fixture.cli(["status"])
            #expect(status.stdout.contains("refused"), "\(status)")

            // An operator who reviewed it may accept it: who and why are recorded, every other rule still applies.
            let bad = try fixture.cli(["accept", importID, "--reason", ""])
            #expect(bad.exitCode == 2 && bad.stderr.contains("--reason"), "\(bad)")
            let accepted = try fixture.cli(["accept", importID, "--reason", "leftover of imp-41, ticket 812"])
            #expect(accepted.exitCode == 0, "\(accepted)")
            #expect(try fixture.state(importID) == "cleanup_due")
            #expect(try Self.reconcile(fixture).exitCode == 0)
            #expect(try fixture.state(importID) == "cleaned")
            #expect(try fixture.keyState(production) == "PendingDeletion")
            let acceptance = try Self.sql(
                fixture, "SELECT detail FROM events WHERE import_id = '\(importID)' AND kind = 'provenance_accepted'")
            #expect(acceptance.contains("ticket 812") && acceptance.contains("accepted_by"), "\(acceptance)")
        }
    }

    // MARK: 2. A retargeted alias

    @Test("2. a tracked alias moved to another key: the tracked key is refused, the new target is not adopted")
    func retargetedAlias() async throws {
        try await Self.withFixture { fixture in
            let alias = fixture.alias("moved")
            let transferKey = try fixture.createKey(aliases: [alias])
            let production = try fixture.createKey(aliases: [])
            let now = Date().timeIntervalSince1970
            try await fixture.emulator.changeKey(
                .init(keyID: production, account: Self.account, region: "us-east-1", creationDate: now - 400 * Self.day)
            )
            #expect(try fixture.track("imp-moved-\(fixture.tag)", keyID: transferKey, alias: alias).exitCode == 0)
            try fixture.seed(["update-alias", alias, production])
            #expect(try fixture.cli(["complete", "imp-moved-\(fixture.tag)"]).exitCode == 0)

            #expect(try Self.reconcile(fixture).exitCode == 1)
            #expect(try fixture.state("imp-moved-\(fixture.tag)") == "refused")
            let moved = try Self.lastError(fixture, "imp-moved-\(fixture.tag)")
            #expect(moved.hasPrefix("alias_retargeted:"), "\(moved)")
            // The alias is old, but it moved seconds ago (LastUpdatedDate): left alone.
            try await fixture.emulator.setAliasDates(alias, created: now - 40 * Self.day)
            #expect(try Self.reconcile(fixture).exitCode == 1)
            #expect(try fixture.cli(["show", DaemonFixture.orphanImportID(keyID: production)]).exitCode == 2)
            // Hours later the move is past the grace: the key is judged, and it has no provenance.
            try await fixture.emulator.setAliasDates(alias, created: now - 40 * Self.day, updated: now - 3 * 3600)
            #expect(try Self.reconcile(fixture).exitCode == 1)
            #expect(try fixture.state(DaemonFixture.orphanImportID(keyID: production)) == "refused")
            #expect(try fixture.keyState(production) == "Enabled")
            #expect(try fixture.keyState(transferKey) == "Enabled")
            #expect(try fixture.aliasNames().contains(alias))
        }
    }

    // MARK: 3. The host's clock is hours fast

    @Test("3. a host clock 7 h fast adopts nothing: ages come from AWS's Date header")
    func hostClockFast() async throws {
        try await Self.withFixture { fixture in
            let fresh = fixture.alias("fresh")
            let key = try fixture.createKey(aliases: [fresh])
            let offset = fixture.folder.path("clock-offset")
            try "25200\n".write(toFile: offset, atomically: true, encoding: .utf8)
            let result = try Self.reconcile(fixture, environment: ["TRANSFERKEYD_CLOCK_OFFSET_FILE": offset])
            #expect(result.exitCode == 0, "\(result)")
            #expect(
                try fixture.cli(["show", DaemonFixture.orphanImportID(keyID: key)]).exitCode == 2, "nothing recorded")
            #expect(try fixture.keyState(key) == "Enabled")
            #expect(try fixture.aliasNames().contains(fresh))
        }
    }

    // MARK: 4. A foreign alias added while ScheduleKeyDeletion is in flight

    @Test("4. alias/prod-db added during ScheduleKeyDeletion: cancelled at once, refused, both aliases kept")
    func changeDuringTheCall() async throws {
        try await Self.withFixture { fixture in
            let alias = fixture.alias("race")
            let production = "alias/prod-db-\(fixture.tag)"
            let key = try fixture.createKey(aliases: [alias])
            #expect(try fixture.track("imp-race-\(fixture.tag)", keyID: key, alias: alias).exitCode == 0)
            #expect(try fixture.cli(["complete", "imp-race-\(fixture.tag)"]).exitCode == 0)
            // Long enough for the alias to be added (a Python process on a busy machine) while the call is in flight.
            try await fixture.emulator.addRule(
                .latency(milliseconds: 10_000, on: "ScheduleKeyDeletion").matching(service: "kms"))

            try fixture.start()
            let inFlight = try await fixture.eventuallyAsync(timeout: 30) {
                try await fixture.emulator.inFlightCounts()["kms.ScheduleKeyDeletion", default: 0] > 0
            }
            #expect(inFlight, "\(fixture.logs())")
            try fixture.seed(["create-alias", production, key])
            let refused = try await fixture.eventually(timeout: 60) {
                try fixture.state("imp-race-\(fixture.tag)") == "refused"
            }
            #expect(refused, "\(fixture.logs())")
            #expect(try await fixture.stop() == 0)

            #expect(try fixture.keyState(key) == "Disabled", "cancelled: AWS leaves a cancelled key Disabled")
            let aliases = try fixture.aliasNames()
            #expect(aliases.contains(alias) && aliases.contains(production), "\(aliases)")
            #expect(try Self.lastError(fixture, "imp-race-\(fixture.tag)").hasPrefix("changed_during_deletion:"))
            let cancel = try Self.sql(
                fixture,
                """
                SELECT json_extract(detail, '$.request_id') FROM events WHERE import_id = 'imp-race-\(fixture.tag)'
                  AND kind = 'aws_call' AND json_extract(detail, '$.operation') = 'CancelKeyDeletion'
                """)
            #expect(!cancel.isEmpty, "CancelKeyDeletion recorded with AWS's request id")
            #expect(try await fixture.emulator.counts()["kms.DeleteAlias"] == nil, "no alias deleted")
        }
    }

    // MARK: 5. Two imports on one key

    @Test("5. two imports on one key: the first to finish waits for the second instead of killing its key")
    func twoImportsOneKey() async throws {
        try await Self.withFixture { fixture in
            let first = fixture.alias("first")
            let second = fixture.alias("second")
            let key = try fixture.createKey(aliases: [first])
            #expect(try fixture.track("imp-a-\(fixture.tag)", keyID: key, alias: first).exitCode == 0)
            // A second import puts its alias on the same key after the first was recorded.
            try await Task.sleep(for: .milliseconds(20))
            try fixture.seed(["create-alias", second, key])
            #expect(
                try fixture.track("imp-b-\(fixture.tag)", keyID: key, alias: second).exitCode == 2,
                "the store refuses a key tracked twice: the second import cannot record itself")
            #expect(try fixture.cli(["complete", "imp-a-\(fixture.tag)"]).exitCode == 0)
            #expect(try Self.reconcile(fixture).exitCode == 0)
            #expect(try fixture.state("imp-a-\(fixture.tag)") == "cleanup_due")
            #expect(try Self.lastError(fixture, "imp-a-\(fixture.tag)").contains("young_alias"))
            #expect(try fixture.keyState(key) == "Enabled")
            #expect(try fixture.aliasNames().isSuperset(of: [first, second]))
        }
    }

    @Test("5b. another recorded transfer's alias on the key defers the deletion (shared_key)")
    func sharedWithRecordedTransfer() async throws {
        try await Self.withFixture { fixture in
            let first = fixture.alias("first")
            let second = fixture.alias("second")
            let key = try fixture.createKey(aliases: [first])
            let other = try fixture.createKey(aliases: [second])
            #expect(try fixture.track("imp-a-\(fixture.tag)", keyID: key, alias: first).exitCode == 0)
            #expect(try fixture.track("imp-b-\(fixture.tag)", keyID: other, alias: second).exitCode == 0)
            // The platform moves import b's alias onto import a's key (a bug, or an attacker).
            try fixture.seed(["update-alias", second, key])
            #expect(try fixture.cli(["complete", "imp-a-\(fixture.tag)"]).exitCode == 0)
            #expect(try Self.reconcile(fixture).exitCode == 0)
            #expect(try fixture.state("imp-a-\(fixture.tag)") == "cleanup_due")
            #expect(try Self.lastError(fixture, "imp-a-\(fixture.tag)").contains("shared_key"))
            #expect(try fixture.keyState(key) == "Enabled")
            #expect(try await fixture.emulator.counts()["kms.ScheduleKeyDeletion"] == nil)
            // status points at it, with the rule and when it is looked at again.
            let status = try fixture.cli(["status"])
            #expect(
                status.stdout.contains("deferred:  imp-a-\(fixture.tag)") && status.stdout.contains("shared_key"),
                "\(status)")
        }
    }

    // MARK: 6. Origin and key store

    @Test("6. imported key material and an external key store are refused, never scheduled")
    func originUnchecked() async throws {
        try await Self.withFixture { fixture in
            let cases: [(name: String, change: (String) -> Emulator.KeyChange, rule: String)] = [
                (
                    "imported",
                    {
                        .init(
                            keyID: $0, account: Self.account, region: "us-east-1", state: "PendingImport",
                            origin: "EXTERNAL")
                    }, "origin_not_aws_kms"
                ),
                (
                    "xks",
                    {
                        .init(
                            keyID: $0, account: Self.account, region: "us-east-1", state: "Unavailable",
                            origin: "EXTERNAL_KEY_STORE", customKeyStoreID: "cks-1234567890abcdef0")
                    }, "origin_not_aws_kms"
                ),
                (
                    "cloudhsm",
                    {
                        .init(
                            keyID: $0, account: Self.account, region: "us-east-1",
                            customKeyStoreID: "cks-0fedcba0987654321"
                        )
                    }, "custom_key_store"
                ),
            ]
            var keys: [String: String] = [:]
            for entry in cases {
                let alias = fixture.alias(entry.name)
                let key = try fixture.createKey(aliases: [alias])
                keys[entry.name] = key
                try await fixture.emulator.changeKey(entry.change(key))
                #expect(try fixture.track("imp-\(entry.name)-\(fixture.tag)", keyID: key, alias: alias).exitCode == 0)
                #expect(try fixture.cli(["complete", "imp-\(entry.name)-\(fixture.tag)"]).exitCode == 0)
            }
            #expect(try Self.reconcile(fixture).exitCode == 1)
            for entry in cases {
                let importID = "imp-\(entry.name)-\(fixture.tag)"
                #expect(try fixture.state(importID) == "refused")
                let reason = try Self.lastError(fixture, importID)
                #expect(reason.hasPrefix("\(entry.rule):"), "\(entry.name): \(reason)")
            }
            #expect(try fixture.keyState(keys["imported"]!) == "PendingImport")
            #expect(try fixture.keyState(keys["xks"]!) == "Unavailable")
            #expect(try fixture.keyState(keys["cloudhsm"]!) == "Enabled")
            #expect(try await fixture.emulator.counts()["kms.ScheduleKeyDeletion"] == nil)
        }
    }

    // MARK: 7. A replica being made

    @Test("7. a replica still Creating: the transfer waits (not stuck, primary untouched), then is cleaned")
    func replicaCreating() async throws {
        try await Self.withFixture(regions: ["us-east-1", "eu-west-1"]) { fixture in
            let alias = fixture.alias("mrk")
            let key = try fixture.createKey(
                aliases: [alias], account: Self.account, region: "us-east-1", multiRegion: true)
            try fixture.seed(["create-replica", key, "eu-west-1"], account: Self.account, region: "us-east-1")
            try await fixture.emulator.changeKey(
                .init(keyID: key, account: Self.account, region: "eu-west-1", state: "Creating"))
            #expect(try fixture.track("imp-mrk-\(fixture.tag)", keyID: key, alias: alias).exitCode == 0)
            #expect(try fixture.cli(["complete", "imp-mrk-\(fixture.tag)"]).exitCode == 0)

            #expect(try Self.reconcile(fixture).exitCode == 0)
            #expect(try fixture.state("imp-mrk-\(fixture.tag)") == "cleanup_due")
            #expect(try Self.lastError(fixture, "imp-mrk-\(fixture.tag)").contains("key_state_transitional"))
            #expect(try fixture.keyState(key, account: Self.account, region: "us-east-1") == "Enabled")
            #expect(try await fixture.emulator.counts()["kms.ScheduleKeyDeletion"] == nil)

            // The replica is made; a minute later (the daemon's wall clock stepped past the deferral) it goes.
            try await fixture.emulator.changeKey(
                .init(keyID: key, account: Self.account, region: "eu-west-1", state: "Enabled"))
            let offset = fixture.folder.path("clock-offset")
            try "120\n".write(toFile: offset, atomically: true, encoding: .utf8)
            #expect(try Self.reconcile(fixture, environment: ["TRANSFERKEYD_CLOCK_OFFSET_FILE": offset]).exitCode == 0)
            #expect(try fixture.state("imp-mrk-\(fixture.tag)") == "cleaned")
            #expect(try fixture.keyState(key, account: Self.account, region: "eu-west-1") == "PendingDeletion")
        }
    }

    // MARK: 8. Blast radius over time

    @Test(
        "8. max_deletions_per_hour holds across cycles and runs; a multi-Region key over the per-cycle cap is not starved"
    )
    func rollingBudget() async throws {
        try await Self.withFixture(
            "max_deletions_per_cycle = 3\nmax_deletions_per_hour = 7", regions: ["us-east-1", "eu-west-1"]
        ) { fixture in
            for index in 0..<10 {
                let alias = fixture.alias("b\(index)")
                let key = try fixture.createKey(aliases: [alias])
                #expect(try fixture.track("imp-b\(index)-\(fixture.tag)", keyID: key, alias: alias).exitCode == 0)
                #expect(try fixture.cli(["complete", "imp-b\(index)-\(fixture.tag)"]).exitCode == 0)
            }
            for _ in 0..<4 { try Self.reconcile(fixture) }
            let scheduled = try await fixture.emulator.counts()["kms.ScheduleKeyDeletion", default: 0]
            #expect(scheduled == 7, "7 per rolling hour, whatever the cycles: \(scheduled)")
            #expect(try Self.sql(fixture, "SELECT count(*) FROM transfers WHERE state = 'cleanup_due'") == "3")
        }
    }

    @Test("8b. a multi-Region key needing more calls than max_deletions_per_cycle is scheduled, not deferred for ever")
    func multiRegionOverCap() async throws {
        try await Self.withFixture("max_deletions_per_cycle = 1", regions: ["us-east-1", "eu-west-1"]) { fixture in
            let alias = fixture.alias("mrk")
            let key = try fixture.createKey(
                aliases: [alias], account: Self.account, region: "us-east-1", multiRegion: true)
            try fixture.seed(["create-replica", key, "eu-west-1"], account: Self.account, region: "us-east-1")
            #expect(try fixture.track("imp-mrk-\(fixture.tag)", keyID: key, alias: alias).exitCode == 0)
            #expect(try fixture.cli(["complete", "imp-mrk-\(fixture.tag)"]).exitCode == 0)
            #expect(try Self.reconcile(fixture).exitCode == 0)
            #expect(try fixture.state("imp-mrk-\(fixture.tag)") == "cleaned")
            #expect(try await fixture.emulator.counts()["kms.ScheduleKeyDeletion"] == 2)
        }
    }

    @Test("8c. the orphan alarm counts over a rolling window: orphans arriving a few per scan still trip it")
    func orphanAlarmWindow() async throws {
        try await Self.withFixture("orphan_grace = \"1h\"\norphan_alarm_threshold = 3") { fixture in
            let now = Date().timeIntervalSince1970
            func orphans(_ names: [String]) async throws {
                for name in names {
                    let alias = fixture.alias(name)
                    _ = try fixture.createKey(aliases: [alias])
                    try await fixture.emulator.setAliasCreationDates([alias: now - 7200], keyLead: 60)
                }
            }
            try await orphans(["o1", "o2"])
            #expect(try Self.reconcile(fixture).exitCode == 0)
            #expect(try fixture.cli(["status"]).stdout.contains("paused") == false)
            try await orphans(["o3", "o4"])
            let tripped = try Self.reconcile(fixture)
            #expect(tripped.stdout.contains("orphan alarm"), "\(tripped)")
            let status = try fixture.cli(["status"])
            #expect(status.exitCode == 1 && status.stdout.contains("paused"), "\(status)")
        }
    }

    // MARK: 9. A prefix too short

    @Test("9. alias_prefix shorter than alias/ + 8 characters is refused by check and run (exit 2, naming the key)")
    func prefixTooShort() async throws {
        let folder = try TemporaryDirectory(prefix: "transferkeyd-prefix")
        defer { folder.remove() }
        let config = folder.path("config.toml")
        try CLIFixture.write("alias_prefix = \"alias/C\"\ndatabase = \"\(folder.path("t.db"))\"\n", to: config)
        for command in [["check"], ["run"], ["reconcile", "--dry-run"]] {
            let result = try CommandRunner.run(command + ["--config", config])
            #expect(result.exitCode == 2, "\(command): \(result)")
            #expect(result.stderr.contains("alias_prefix") && result.stderr.contains("14"), "\(result)")
        }
    }

    // MARK: 10. Disabled keys, and the paths that still clean real orphans

    @Test(
        "10. a discovered key somebody disabled is refused, and so is one with only the import-id tag; young orphans are still cleaned (marked ones: OwnershipScenarioTests)"
    )
    func disabledAndRealOrphans() async throws {
        try await Self.withFixture { fixture in
            let now = Date().timeIntervalSince1970
            let disabledAlias = fixture.alias("disabled")
            let disabled = try fixture.createKey(aliases: [disabledAlias])
            try fixture.seed(["disable-key", disabled])
            let youngAlias = fixture.alias("young-key")
            let young = try fixture.createKey(aliases: [youngAlias])
            let taggedAlias = fixture.alias("tagged")
            let tagged = try fixture.createKey(aliases: [taggedAlias])
            try fixture.seed(["tag-key", tagged, "transferkeyd:import-id=imp-lost"])
            try await fixture.emulator.setAliasCreationDates(
                [disabledAlias: now - 7200, youngAlias: now - 7200], keyLead: 60)
            // The tagged key is old and was aliased long after it was made: the tag alone is a claim anyone with
            // kms:TagResource can make, no provenance.
            try await fixture.emulator.changeKey(
                .init(keyID: tagged, account: Self.account, region: "us-east-1", creationDate: now - 20 * Self.day))
            try await fixture.emulator.setAliasDates(taggedAlias, created: now - 7200)

            #expect(try Self.reconcile(fixture).exitCode == 1)
            #expect(try fixture.state(DaemonFixture.orphanImportID(keyID: disabled)) == "refused")
            #expect(
                try Self.lastError(fixture, DaemonFixture.orphanImportID(keyID: disabled)).hasPrefix(
                    "discovered_disabled:")
            )
            #expect(try fixture.keyState(disabled) == "Disabled")
            #expect(try fixture.aliasNames().contains(disabledAlias))
            #expect(try fixture.state(DaemonFixture.orphanImportID(keyID: young)) == "cleaned")
            #expect(try fixture.keyState(young) == "PendingDeletion")
            #expect(try fixture.state(DaemonFixture.orphanImportID(keyID: tagged)) == "refused")
            #expect(
                try Self.lastError(fixture, DaemonFixture.orphanImportID(keyID: tagged)).hasPrefix("no_provenance:"))
            #expect(try fixture.keyState(tagged) == "Enabled")
            #expect(try fixture.aliasNames().contains(taggedAlias))
            // Every mutating call is in the audit trail with AWS's request id.
            let missing = try Self.sql(
                fixture,
                """
                SELECT count(*) FROM events WHERE kind = 'aws_call'
                  AND json_extract(detail, '$.operation') IN ('ScheduleKeyDeletion', 'DeleteAlias', 'CancelKeyDeletion')
                  AND json_extract(detail, '$.request_id') IS NULL
                """)
            #expect(missing == "0")
            #expect(try Self.sql(fixture, "SELECT count(*) FROM events WHERE kind = 'aws_call'") == "2")
        }
    }

    // MARK: Wrong records (issue "no key left behind")

    @Test("a key tracked with the wrong --region: stuck, naming the region its alias is in; never recorded deleted")
    func wrongRegion() async throws {
        try await Self.withFixture(regions: ["us-east-1", "eu-west-1"]) { fixture in
            let alias = fixture.alias("west")
            let key = try fixture.createKey(aliases: [alias], account: Self.account, region: "eu-west-1")
            #expect(
                try fixture.track("imp-west-\(fixture.tag)", keyID: key, alias: alias, region: "us-east-1").exitCode
                    == 0)
            #expect(try fixture.cli(["complete", "imp-west-\(fixture.tag)"]).exitCode == 0)
            #expect(try Self.reconcile(fixture).exitCode == 1)
            #expect(try fixture.state("imp-west-\(fixture.tag)") == "stuck")
            let reason = try Self.lastError(fixture, "imp-west-\(fixture.tag)")
            #expect(reason.contains("never found") && reason.contains("exists in eu-west-1"), "\(reason)")
            #expect(try fixture.keyState(key, account: Self.account, region: "eu-west-1") == "Enabled")
        }
    }

    @Test("a snapshot never seen (another account, or not visible yet) does not end the import")
    func snapshotNeverSeen() async throws {
        try await Self.withFixture { fixture in
            let alias = fixture.alias("copy")
            let key = try fixture.createKey(aliases: [alias])
            let result = try fixture.track(
                "imp-copy-\(fixture.tag)", keyID: key, alias: alias, extra: ["--snapshot", "snap-0123456789abcdef0"])
            #expect(result.exitCode == 0, "\(result)")
            for _ in 0..<2 { #expect(try Self.reconcile(fixture).exitCode == 0) }
            #expect(try fixture.state("imp-copy-\(fixture.tag)") == "active")
            #expect(try Self.sql(fixture, "SELECT state FROM transfer_snapshots") == "unknown")
            #expect(!(try Self.sql(fixture, "SELECT first_missing_at FROM transfer_snapshots")).isEmpty)
            #expect(try fixture.keyState(key) == "Enabled")
        }
    }
}
