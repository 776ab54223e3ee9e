import Foundation
import Testing
import TransferKeyTestSupport

/// "Ownership nobody can forge": the adversarial cases of the issue against the real binary and an emulator of its
/// own, by an attacker who holds `kms:TagResource` and `kms:CreateAlias` on the prefix. Each ends with the production
/// key untouched, its aliases intact, and the row true to AWS.
@Suite("Ownership: marks only this daemon can make", .serialized)
struct OwnershipScenarioTests {
    static let account = DaemonFixture.account
    static let day: Double = 86400
    static let grantee = "444455556666"

    /// A fixture on its own emulator with an HMAC mark key made there and named in the config.
    private static func withMarkedFixture(
        _ body: (DaemonFixture, _ markKeyARN: String) async throws -> Void
    ) async throws {
        try await DaemonFixture.withIsolated(extraConfig: "orphan_grace = \"1h\"") { fixture in
            let markKey = try fixture.seed(["create-mark-key"])
            try fixture.writeConfig(
                extraConfig: "orphan_grace = \"1h\"\nownership_mark_key = \"\(markKey)\"",
                accounts: [.init(id: account, regions: ["us-east-1"])], maxAttempts: 3)
            try await body(fixture, markKey)
        }
    }

    private static func reconcile(_ fixture: DaemonFixture) throws -> CommandResult {
        try CommandRunner.run(["reconcile", "--config", fixture.configPath], environment: DaemonFixture.awsEnvironment)
    }

    /// A production key, made 400 days ago, with the given tags (anyone with kms:TagResource) and aliases.
    private static func productionKey(
        _ fixture: DaemonFixture, tags: [String], aliases: [String] = []
    ) async throws -> String {
        let key = try fixture.createKey(aliases: aliases)
        for tag in tags { try fixture.seed(["tag-key", key, tag]) }
        try await fixture.emulator.changeKey(
            .init(
                keyID: key, account: account, region: "us-east-1",
                creationDate: Date().timeIntervalSince1970 - 400 * day))
        return key
    }

    private static func tags(_ fixture: DaemonFixture, _ key: String) throws -> [String: String] {
        var tags: [String: String] = [:]
        for line in try fixture.seed(["key-tags", key]).split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { tags[parts[0]] = parts[1] }
        }
        return tags
    }

    @Test(
        "a lost CreateKey answer: create takes its own key by the intent mark; tagged production keys are never adopted, scheduled or aliased"
    )
    func lostAnswerAndPlantedTags() async throws {
        try await Self.withMarkedFixture { fixture, _ in
            let importID = "imp-lost-\(fixture.tag)"
            // Production keys tagged with the import id before the create: an attacker's copies of a claim.
            let planted = try await Self.productionKey(fixture, tags: ["transferkeyd:import-id=\(importID)"])
            let foreign = try await Self.productionKey(
                fixture, tags: ["transferkeyd:import-id=\(importID)"], aliases: ["alias/prod-db-\(fixture.tag)"])
            // CreateKey acts, but its answer comes after the request timeout: the answer is lost.
            try fixture.setAWSOption("request_timeout = \"1s\"")
            try await fixture.emulator.addRule(.lateAnswer(milliseconds: 3000, on: "CreateKey", count: 1))

            let created = try fixture.cli([
                "create", "--import-id", importID, "--account", Self.account, "--region", "us-east-1",
                "--grantee-account", Self.grantee,
            ])
            #expect(created.exitCode == 0, "\(created)")
            let keyID = try #require(try parseJSON(created.stdout)["key_id"] as? String)
            #expect(keyID != planted && keyID != foreign)
            // Nothing made again: the planted keys and this create's one key are all that carry the tag.
            let tagged = Set(
                try fixture.seed(["keys-tagged", "transferkeyd:import-id", importID]).split(separator: "\n"))
            #expect(tagged == [Substring(keyID), Substring(planted), Substring(foreign)], "\(tagged)")
            let show = try fixture.cli(["show", importID, "--json"])
            #expect(show.stdout.contains("found_after_ambiguous_failure"), "\(show.stdout)")
            let tags = try Self.tags(fixture, keyID)
            #expect(tags["transferkeyd:import-id"] == importID)
            #expect(tags["transferkeyd:mark"]?.isEmpty == false && tags["transferkeyd:intent-mark"]?.isEmpty == false)

            // The import ends; a pass cleans the created key and nothing else.
            #expect(try fixture.cli(["complete", importID]).exitCode == 0)
            _ = try Self.reconcile(fixture)
            #expect(try fixture.state(importID) == "cleaned")
            #expect(try fixture.keyState(keyID) == "PendingDeletion")
            #expect(try fixture.keyState(planted) == "Enabled")
            #expect(try fixture.keyState(foreign) == "Enabled")
            #expect(try fixture.aliasNames().contains("alias/prod-db-\(fixture.tag)"))
            #expect(try await fixture.emulator.counts()["kms.ScheduleKeyDeletion"] == 1)
            #expect(try fixture.cli(["audit", "verify"]).exitCode == 0)
        }
    }

    @Test(
        "a discovered key: a mark made here is adopted by a host with an empty ledger, whatever its age; a copied tag or a copied mark is refused"
    )
    func marksOutliveTheLedger() async throws {
        try await Self.withMarkedFixture { fixture, _ in
            let importID = "imp-host-\(fixture.tag)"
            let created = try fixture.cli([
                "create", "--import-id", importID, "--account", Self.account, "--region", "us-east-1",
                "--grantee-account", Self.grantee,
            ])
            #expect(created.exitCode == 0, "\(created)")
            let marked = try #require(try parseJSON(created.stdout)["key_id"] as? String)
            let markedAlias = "\(DaemonFixture.prefix)-\(importID)"
            let markTags = try Self.tags(fixture, marked)
            let mark = try #require(markTags["transferkeyd:mark"])
            // The host is lost: its database with it.
            try FileManager.default.removeItem(atPath: fixture.databasePath)

            // An attacker's copies, on 400-day-old keys with prefixed aliases: the tag alone; the tag and the mark.
            let tagOnly = try await Self.productionKey(
                fixture, tags: ["transferkeyd:import-id=imp-never-existed"], aliases: [fixture.alias("tag-only")])
            let copied = try await Self.productionKey(
                fixture, tags: ["transferkeyd:import-id=\(importID)", "transferkeyd:mark=\(mark)"],
                aliases: [fixture.alias("copied")])
            // Every alias and the marked key itself are old: only the mark can prove the marked key a transfer key.
            let now = Date().timeIntervalSince1970
            for alias in [markedAlias, fixture.alias("tag-only"), fixture.alias("copied")] {
                try await fixture.emulator.setAliasDates(alias, created: now - 7 * 3600)
            }
            try await fixture.emulator.changeKey(
                .init(keyID: marked, account: Self.account, region: "us-east-1", creationDate: now - 400 * Self.day))

            _ = try Self.reconcile(fixture)
            let markedRow = DaemonFixture.orphanImportID(keyID: marked)
            #expect(try fixture.state(markedRow) == "cleaned")
            #expect(try fixture.keyState(marked) == "PendingDeletion")
            let provenance = try fixture.cli(["show", markedRow, "--json"]).stdout
            #expect(provenance.contains("ownership_mark"), "\(provenance)")

            let tagOnlyRow = DaemonFixture.orphanImportID(keyID: tagOnly)
            #expect(try fixture.state(tagOnlyRow) == "refused")
            let copiedRow = DaemonFixture.orphanImportID(keyID: copied)
            #expect(try fixture.state(copiedRow) == "refused")
            let reason = try fixture.transfer(copiedRow).transfer["last_error"] as? String ?? ""
            #expect(reason.contains("ownership mark is invalid"), "\(reason)")
            #expect(try fixture.keyState(tagOnly) == "Enabled")
            #expect(try fixture.keyState(copied) == "Enabled")
            #expect(try fixture.aliasNames().isSuperset(of: [fixture.alias("tag-only"), fixture.alias("copied")]))
        }
    }

    @Test("an unrecorded prefixed alias made seconds before track is young whatever the track date: the key lives")
    func aliasBeforeTrack() async throws {
        try await Self.withMarkedFixture { fixture, _ in
            let own = fixture.alias("a")
            let key = try fixture.createKey(aliases: [own])
            try await fixture.emulator.setAliasDates(own, created: Date().timeIntervalSince1970 - 7 * 3600)
            // Import B's alias on the same key, made just before A's track.
            let other = fixture.alias("b")
            try fixture.seed(["create-alias", other, key])
            #expect(try fixture.track("imp-a-\(fixture.tag)", keyID: key, alias: own).exitCode == 0)
            #expect(try fixture.cli(["complete", "imp-a-\(fixture.tag)"]).exitCode == 0)

            _ = try Self.reconcile(fixture)
            #expect(try fixture.state("imp-a-\(fixture.tag)") == "cleanup_due")
            let reason = try fixture.transfer("imp-a-\(fixture.tag)").transfer["last_error"] as? String ?? ""
            #expect(reason.contains("young_alias"), "\(reason)")
            #expect(try fixture.keyState(key) == "Enabled")
            #expect(try fixture.aliasNames().isSuperset(of: [own, other]))
        }
    }

    @Test(
        "one identity per thing: an import id shaped like a key ARN, key id or orphan row is refused; a key in another account than recorded is refused naming both"
    )
    func identities() async throws {
        try await Self.withMarkedFixture { fixture, _ in
            let victim = try fixture.createKey(aliases: [fixture.alias("victim")])
            let decoy = try fixture.createKey(aliases: [fixture.alias("decoy")])
            let arn = "arn:aws:kms:us-east-1:\(Self.account):key/\(victim)"
            for bad in [arn, victim, "orphan-\(Self.account)-us-east-1-\(victim)", fixture.alias("x")] {
                let result = try fixture.track(bad, keyID: decoy, alias: fixture.alias("decoy"))
                #expect(result.exitCode == 2 && result.stderr.contains("--import-id"), "\(bad): \(result)")
            }
            #expect(try fixture.cli(["list", "--json"]).stdout.contains(decoy) == false, "nothing recorded")

            // The key lives in 123456789012; the row says 999988887777.
            let wrong = try fixture.track(
                "imp-acct-\(fixture.tag)", keyID: victim, alias: fixture.alias("victim"), account: "999988887777")
            #expect(wrong.exitCode == 0, "\(wrong)")
            #expect(try fixture.cli(["complete", "imp-acct-\(fixture.tag)"]).exitCode == 0)
            try await fixture.emulator.setAliasDates(
                fixture.alias("victim"), created: Date().timeIntervalSince1970 - 7 * 3600)
            _ = try Self.reconcile(fixture)
            #expect(try fixture.state("imp-acct-\(fixture.tag)") == "refused")
            let reason = try fixture.transfer("imp-acct-\(fixture.tag)").transfer["last_error"] as? String ?? ""
            #expect(reason.hasPrefix("account_mismatch:") && reason.contains("999988887777"), "\(reason)")
            #expect(try fixture.keyState(victim) == "Enabled")
        }
    }
}

/// "Still in use?": what AWS records about a key's use decides, against the real binary and an emulator of its own
/// (the fault layer answers GetKeyLastUsage from the cryptographic calls it served, or from an injected use).
@Suite("Still in use: AWS's record of a key's use before deleting it", .serialized)
struct UsageScenarioTests {
    @Test(
        "a key used after its import ended is deferred (in_use), with the use in the audit; a key with a live grant to another principal is refused; a plain transfer key is cleaned"
    )
    func inUseAndGranted() async throws {
        try await DaemonFixture.withIsolated(
            extraConfig: """
                orphan_grace = "1h"
                usage_slack = "1m"
                in_use_deferrals = 1
                import_grantees = ["arn:aws:iam::444455556666:role/Importer"]
                """
        ) { fixture in
            let now = Date().timeIntervalSince1970
            var keys: [String: String] = [:]
            for name in ["used", "granted", "plain", "imported"] {
                if name == "imported" {
                    // The import's own grant, made while the import ran (before `complete`).
                    let key = try fixture.createKey(aliases: [fixture.alias(name)])
                    _ = try fixture.seed(["create-grant", key, "arn:aws:iam::444455556666:role/Importer"])
                    keys[name] = key
                    try await fixture.emulator.setAliasDates(fixture.alias(name), created: now - 7 * 3600)
                    #expect(
                        try fixture.track("imp-\(name)-\(fixture.tag)", keyID: key, alias: fixture.alias(name)).exitCode
                            == 0)
                    #expect(try fixture.cli(["complete", "imp-\(name)-\(fixture.tag)"]).exitCode == 0)
                    continue
                }
                let alias = fixture.alias(name)
                keys[name] = try fixture.createKey(aliases: [alias])
                try await fixture.emulator.setAliasDates(alias, created: now - 7 * 3600)
                #expect(try fixture.track("imp-\(name)-\(fixture.tag)", keyID: keys[name]!, alias: alias).exitCode == 0)
                #expect(try fixture.cli(["complete", "imp-\(name)-\(fixture.tag)"]).exitCode == 0)
            }
            // Somebody decrypts with the key ten minutes after the import ended (KMS's record of it, injected).
            try await fixture.emulator.recordKeyUse(keyID: keys["used"]!, operation: "Decrypt", at: now + 600)
            _ = try fixture.seed(["create-grant", keys["granted"]!, "arn:aws:iam::444455556666:role/Forensics"])

            _ = try CommandRunner.run(
                ["reconcile", "--config", fixture.configPath], environment: DaemonFixture.awsEnvironment)
            #expect(try fixture.state("imp-plain-\(fixture.tag)") == "cleaned")
            #expect(try fixture.keyState(keys["plain"]!) == "PendingDeletion")
            // The import's own grant passes the rule, and is retired once the key is scheduled.
            #expect(try fixture.state("imp-imported-\(fixture.tag)") == "cleaned")
            #expect(
                try fixture.seed(["grants", keys["imported"]!]).trimmingCharacters(in: .whitespacesAndNewlines).isEmpty)
            let audit = try fixture.cli(["show", "imp-imported-\(fixture.tag)", "--json"]).stdout
            #expect(audit.contains("RetireGrant"), "one aws_call event per retired grant")
            #expect(try fixture.state("imp-used-\(fixture.tag)") == "cleanup_due")
            let deferred = try fixture.transfer("imp-used-\(fixture.tag)").transfer["last_error"] as? String ?? ""
            #expect(deferred.contains("in_use") && deferred.contains("Decrypt"), "\(deferred)")
            #expect(try fixture.state("imp-granted-\(fixture.tag)") == "refused")
            let granted = try fixture.transfer("imp-granted-\(fixture.tag)").transfer["last_error"] as? String ?? ""
            #expect(granted.hasPrefix("granted_to_others:") && granted.contains("444455556666"), "\(granted)")

            // The next look (in_use_deferrals = 1): still used, so refused for an operator.
            #expect(try fixture.cli(["retry", "imp-used-\(fixture.tag)"]).exitCode == 2, "not stuck or refused yet")
            let shown = try fixture.cli(["show", "imp-used-\(fixture.tag)", "--json"]).stdout
            #expect(shown.contains("kms_request_id") && shown.contains("cloudtrail_event_id"), "evidence in the audit")
            for name in ["used", "granted"] {
                #expect(try fixture.keyState(keys[name]!) == "Enabled")
                #expect(try fixture.aliasNames().contains(fixture.alias(name)))
            }
        }
    }

    @Test(
        "disable_first: approved keys are disabled and watched; after the watch a quiet key is scheduled, one something tried to use is enabled again and refused (in_use)"
    )
    func disableFirst() async throws {
        try await DaemonFixture.withIsolated(extraConfig: "orphan_grace = \"1h\"\ndisable_first = \"1h\"") { fixture in
            var keys: [String: String] = [:]
            for name in ["quiet", "used"] {
                let alias = fixture.alias(name)
                keys[name] = try fixture.createKey(aliases: [alias])
                try await fixture.emulator.setAliasDates(alias, created: Date().timeIntervalSince1970 - 7 * 3600)
                #expect(try fixture.track("imp-\(name)-\(fixture.tag)", keyID: keys[name]!, alias: alias).exitCode == 0)
                #expect(try fixture.cli(["complete", "imp-\(name)-\(fixture.tag)"]).exitCode == 0)
            }
            let reconcile = ["reconcile", "--config", fixture.configPath]
            _ = try CommandRunner.run(reconcile, environment: DaemonFixture.awsEnvironment)
            for name in ["quiet", "used"] {
                #expect(try fixture.keyState(keys[name]!) == "Disabled")
                #expect(try fixture.state("imp-\(name)-\(fixture.tag)") == "cleanup_due")
                #expect(try fixture.aliasNames().contains(fixture.alias(name)), "the alias stays while watched")
            }
            // Somebody still needs one: AWS refuses the call (DisabledException), CloudTrail records it.
            #expect(try fixture.seed(["try-encrypt", keys["used"]!]).contains("DisabledException"))

            // An hour later (the host's clock moved on; AWS's Date header keeps the real time).
            let offset = fixture.folder.path("clock-offset")
            try "3700\n".write(toFile: offset, atomically: true, encoding: .utf8)
            var environment = DaemonFixture.awsEnvironment
            environment["TRANSFERKEYD_CLOCK_OFFSET_FILE"] = offset
            _ = try CommandRunner.run(reconcile, environment: environment)
            #expect(try fixture.state("imp-quiet-\(fixture.tag)") == "cleaned")
            #expect(try fixture.keyState(keys["quiet"]!) == "PendingDeletion")
            #expect(try fixture.state("imp-used-\(fixture.tag)") == "refused")
            #expect(try fixture.keyState(keys["used"]!) == "Enabled", "enabled again for whoever needs it")
            let shown = try fixture.cli(["show", "imp-used-\(fixture.tag)", "--json"]).stdout
            #expect(shown.contains("in_use") && shown.contains("DisabledException"), "\(shown)")
            #expect(shown.contains("EnableKey") && shown.contains("DisableKey"), "one aws_call event per call")
        }
    }

    @Test(
        "a key we scheduled that something tries to use inside the window: its deletion is cancelled in one pass, the transfer cancelled with the CloudTrail event"
    )
    func rescueOnUse() async throws {
        try await DaemonFixture.withIsolated(extraConfig: "orphan_grace = \"1h\"") { fixture in
            let alias = fixture.alias("rescued")
            let key = try fixture.createKey(aliases: [alias])
            try await fixture.emulator.setAliasDates(alias, created: Date().timeIntervalSince1970 - 7 * 3600)
            let importID = "imp-rescued-\(fixture.tag)"
            #expect(try fixture.track(importID, keyID: key, alias: alias).exitCode == 0)
            #expect(try fixture.cli(["complete", importID]).exitCode == 0)
            let reconcile = ["reconcile", "--config", fixture.configPath]
            _ = try CommandRunner.run(reconcile, environment: DaemonFixture.awsEnvironment)
            #expect(try fixture.state(importID) == "cleaned")
            #expect(try fixture.keyState(key) == "PendingDeletion")
            // A pass with nothing trying to use the key changes nothing.
            _ = try CommandRunner.run(reconcile, environment: DaemonFixture.awsEnvironment)
            #expect(try fixture.state(importID) == "cleaned")

            // Another account's role tries to decrypt with it: AWS refuses (pending deletion), CloudTrail records it.
            try await fixture.emulator.recordTrailEvent(
                account: DaemonFixture.account, region: "us-east-1", keyID: key, eventName: "Decrypt",
                principal: "arn:aws:iam::444455556666:role/Forensics", errorCode: "KMSInvalidStateException",
                errorMessage: "arn:aws:kms:us-east-1:\(DaemonFixture.account):key/\(key) is pending deletion.")
            let rescued = try CommandRunner.run(reconcile, environment: DaemonFixture.awsEnvironment)
            #expect(rescued.stdout.contains("deletion cancelled"), "\(rescued)")
            #expect(try fixture.state(importID) == "cancelled")
            #expect(try fixture.keyState(key) == "Disabled", "AWS leaves a cancelled key Disabled")
            let shown = try fixture.cli(["show", importID, "--json"]).stdout
            #expect(shown.contains("in_use_during_window") && shown.contains("444455556666"), "\(shown)")
            // status pages on it for a day.
            let status = try fixture.cli(["status", "--json"])
            #expect(status.exitCode == 1)
            let problems = (try parseJSON(status.stdout)["problems"] as? [String] ?? []).joined(separator: "\n")
            #expect(problems.contains("rescued from deletion") && problems.contains(importID), "\(problems)")
            #expect(try fixture.cli(["audit", "verify"]).exitCode == 0)
        }
    }

    @Test(
        "with platform_principals, a young unrecorded key somebody else made is refused (made_by_other); one the platform made is adopted and cleaned"
    )
    func madeByOther() async throws {
        try await DaemonFixture.withIsolated(extraConfig: "orphan_grace = \"1h\"") { fixture in
            try CLIFixture.write(
                """
                database = "\(fixture.databasePath)"
                poll_interval = "1s"
                scan_interval = "10m"
                orphan_grace = "1h"

                [aws]
                endpoint_url = "\(fixture.emulator.endpoint)"
                max_attempts = 3

                [[accounts]]
                id = "\(DaemonFixture.account)"
                regions = ["us-east-1"]
                platform_principals = ["arn:aws:iam::\(DaemonFixture.account):user/AKIAFIXTURE*"]
                """, to: fixture.configPath)
            // An engineer's key (aws_seed.py calls as user "testing") with a prefixed alias: young, but not the platform's.
            let foreignAlias = fixture.alias("engineer")
            let foreign = try fixture.createKey(aliases: [foreignAlias])
            // The platform's key: made by `transferkeyd create` with the daemon's credentials, its ledger then lost.
            let importID = "imp-platform-\(fixture.tag)"
            let created = try fixture.cli([
                "create", "--import-id", importID, "--account", DaemonFixture.account, "--region", "us-east-1",
                "--grantee-account", "444455556666",
            ])
            #expect(created.exitCode == 0, "\(created)")
            let platform = try #require(try parseJSON(created.stdout)["key_id"] as? String)
            try FileManager.default.removeItem(atPath: fixture.databasePath)
            // Both made a minute before their aliases, two hours ago: the young-key evidence holds for both.
            let now = Date().timeIntervalSince1970
            for (key, alias) in [(foreign, foreignAlias), (platform, "\(DaemonFixture.prefix)-\(importID)")] {
                try await fixture.emulator.changeKey(
                    .init(keyID: key, account: DaemonFixture.account, region: "us-east-1", creationDate: now - 7260))
                try await fixture.emulator.setAliasDates(alias, created: now - 7200)
            }

            _ = try CommandRunner.run(
                ["reconcile", "--config", fixture.configPath], environment: DaemonFixture.awsEnvironment)
            let foreignRow = DaemonFixture.orphanImportID(keyID: foreign)
            #expect(try fixture.state(foreignRow) == "refused")
            let reason = try fixture.transfer(foreignRow).transfer["last_error"] as? String ?? ""
            #expect(reason.hasPrefix("made_by_other:") && reason.contains("user/testing"), "\(reason)")
            #expect(try fixture.keyState(foreign) == "Enabled")
            #expect(try fixture.aliasNames().contains(foreignAlias))
            #expect(try fixture.state(DaemonFixture.orphanImportID(keyID: platform)) == "cleaned")
            #expect(try fixture.keyState(platform) == "PendingDeletion")
        }
    }
}
