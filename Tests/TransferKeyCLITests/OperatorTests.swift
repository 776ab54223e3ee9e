import Foundation
import Testing
import TransferKeyCore
import TransferKeyTestSupport

/// A UTC timestamp `offset` seconds from now, as the database stores it.
private func stamp(_ offset: TimeInterval) -> String {
    Timestamp.string(Date().addingTimeInterval(offset))
}

extension CLIFixture {
    /// Makes the database say a daemon on this host (this test process, so the pid exists) beat
    /// `heartbeatAgo` seconds ago; `stoppedAgo` sets a clean stop.
    func fakeDaemon(heartbeatAgo: TimeInterval, stoppedAgo: TimeInterval? = nil) throws {
        let stopped = stoppedAgo.map { "'\(stamp(-$0))'" } ?? "NULL"
        _ = try sqlite(
            """
            insert or replace into daemon (id, pid, hostname, version, started_at, heartbeat_at, stopped_at)
            values (1, \(getpid()), '\(ProcessInfo.processInfo.hostName)', 'test', '\(stamp(-3600))',
                    '\(stamp(-heartbeatAgo))', \(stopped))
            """)
    }

    /// A config in its own file (for configs without the fixture's account).
    func writeConfig(_ text: String, name: String) throws -> String {
        let path = folder.path(name)
        try Self.write(text, to: path)
        return path
    }
}

@Suite("CLI: what an operator meets from install to 3 a.m.")
struct OperatorTests {
    static let arn = "arn:aws:kms:eu-west-1:\(CLIFixture.account):key/\(CLIFixture.keyID)"

    // MARK: 0 accounts

    @Test(
        "status shows the scans of configured account × regions only: one reconcile --config elsewhere leaves no stale rows"
    )
    func statusConfiguredPairsOnly() throws {
        let fixture = try CLIFixture()
        defer { fixture.remove() }
        #expect(try fixture.track().exitCode == 0)
        let stamp = "2026-12-01T00:00:00.000Z"
        _ = try fixture.sqlite(
            "insert into scans (account_id, region, started_at, finished_at, ok) values "
                + "('\(CLIFixture.account)', 'eu-west-1', '\(stamp)', '\(stamp)', 1), "
                + "('\(CLIFixture.account)', 'ap-south-1', '\(stamp)', '\(stamp)', 1), "
                + "('999999999999', 'us-east-1', '\(stamp)', '\(stamp)', 1)")
        let text = try fixture.run(["status"]).stdout
        #expect(text.contains("scan:      \(CLIFixture.account)/eu-west-1"), "\(text)")
        #expect(!text.contains("ap-south-1") && !text.contains("999999999999"), "\(text)")
        let json = try parseJSON(try fixture.run(["status", "--json"]).stdout)
        let pairs = (json["scans"] as? [[String: Any]] ?? []).map {
            "\($0["account_id"] as? String ?? "")/\($0["region"] as? String ?? "")"
        }
        #expect(pairs == ["\(CLIFixture.account)/eu-west-1"], "\(pairs)")
    }

    @Test(
        "a user who may not read the database folder gets 'permission denied' (exit 3), not 'no database yet'; one who may not read the config gets 'permission denied' (exit 2)"
    )
    func permissionDenied() throws {
        guard getuid() == 0 else { return }  // dropping to nobody needs root; CI runs as root
        let fixture = try CLIFixture()
        defer { fixture.remove() }
        #expect(try fixture.track().exitCode == 0)
        let folder = (fixture.configPath as NSString).deletingLastPathComponent
        let state = (fixture.databasePath as NSString).deletingLastPathComponent
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: folder)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: fixture.configPath)
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: state)
        func asNobody(_ arguments: [String]) throws -> CommandResult {
            try CommandRunner.runProgram(
                URL(fileURLWithPath: "/usr/bin/setpriv"),
                ["--reuid=65534", "--regid=65534", "--clear-groups", try CommandRunner.binaryPath()] + arguments
                    + ["--config", fixture.configPath], environment: ProcessInfo.processInfo.environment)
        }
        for command in [["status"], ["list"], ["status", "--json"]] {
            let result = try asNobody(command)
            #expect(result.exitCode == 3, "\(command): \(result)")
            #expect(result.stderr.contains("permission denied: \(fixture.databasePath)"), "\(command): \(result)")
            #expect(!result.stdout.contains("no database"), "\(command): \(result)")
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: fixture.configPath)
        let unreadable = try asNobody(["status"])
        #expect(unreadable.exitCode == 2, "\(unreadable)")
        #expect(
            unreadable.stderr.contains("permission denied: \(fixture.configPath)")
                && !unreadable.stderr.contains("UTF-8"), "\(unreadable)")
    }

    @Test("check on a config without [[accounts]] (the installed example) is a ✗ with its fix, exit 1")
    func checkWithoutAccounts() throws {
        let fixture = try CLIFixture()
        defer { fixture.remove() }
        let config = try fixture.writeConfig(
            "database = \"\(fixture.folder.path("none.db"))\"\n", name: "empty.toml")
        let text = try CommandRunner.run(
            ["check", "--config", config], environment: ["AWS_EC2_METADATA_DISABLED": "true"])
        #expect(text.exitCode == 1, "\(text)")
        #expect(text.stdout.contains("✗ accounts"), "\(text.stdout)")
        #expect(text.stdout.contains("fix: add an [[accounts]] table"), "\(text.stdout)")
        #expect(text.stdout.contains("0 accounts, 0 account × region pairs"), "\(text.stdout)")
        #expect(text.stdout.contains("checks passed; 1 failed"), "never 'all N checks passed': \(text.stdout)")
        let json = try parseJSON(
            try CommandRunner.run(["check", "--json", "--config", config]).stdout)
        #expect(json["ok"] as? Bool == false)
        #expect(json["exit_code"] as? Int == 1)
    }

    @Test("run on a config without [[accounts]] says loudly that nothing is scanned, and still runs")
    func runWithoutAccounts() throws {
        let fixture = try CLIFixture()
        defer { fixture.remove() }
        let config = try fixture.writeConfig(
            "database = \"\(fixture.folder.path("run.db"))\"\n", name: "empty.toml")
        var environment = ProcessInfo.processInfo.environment
        environment["AWS_EC2_METADATA_DISABLED"] = "true"
        environment.removeValue(forKey: "TRANSFERKEYD_CONFIG")
        let run = try CommandRunner.runProgram(
            URL(fileURLWithPath: try CommandRunner.binaryPath()), ["run", "--config", config],
            environment: environment, timeout: 4)
        #expect(run.exitCode == 0, "SIGINT after 4 s stops it cleanly: \(run)")
        #expect(run.stderr.contains("no [[accounts]] configured"), "\(run.stderr)")
        #expect(run.stderr.contains("no account × region is scanned for orphans"), "\(run.stderr)")
    }

    // MARK: status

    @Test("status exits 1 for a refused transfer and names it, although the daemon runs")
    func statusRefused() throws {
        let fixture = try CLIFixture()
        defer { fixture.remove() }
        #expect(try fixture.track().exitCode == 0)
        try fixture.fakeDaemon(heartbeatAgo: 1)
        let healthy = try fixture.run(["status"])
        #expect(healthy.exitCode == 0, "a running daemon and an active transfer are fine: \(healthy)")

        _ = try fixture.sqlite(
            "update transfers set state = 'refused', last_error = 'key also carries alias/prod-db'")
        let text = try fixture.run(["status"])
        #expect(text.exitCode == 1, "\(text)")
        #expect(text.stdout.contains("health:    1 transfer refused (imp-1)"), "\(text.stdout)")
        #expect(text.stdout.contains("`transferkeyd show imp-1`"), "\(text.stdout)")
        let json = try parseJSON(try fixture.run(["status", "--json"]).stdout)
        #expect(json["ok"] as? Bool == false)
        let problems = json["problems"] as? [String] ?? []
        #expect(problems.contains { $0.hasPrefix("1 transfer refused") }, "\(problems)")
        #expect((json["refused"] as? [Any])?.count == 1, "the field is still there: \(json)")
    }

    @Test("a daemon that is down is told as stopped cleanly or as silent (crashed?), with how long")
    func statusStoppedOrCrashed() throws {
        let fixture = try CLIFixture()
        defer { fixture.remove() }
        #expect(try fixture.track().exitCode == 0)

        try fixture.fakeDaemon(heartbeatAgo: 250, stoppedAgo: 250)
        let stopped = try fixture.run(["status"])
        #expect(stopped.exitCode == 1)
        #expect(stopped.stdout.contains("NOT running: stopped cleanly 4 min ago"), "\(stopped.stdout)")
        let stoppedJSON = try parseJSON(try fixture.run(["status", "--json"]).stdout)
        let daemon = stoppedJSON["daemon"] as? [String: Any] ?? [:]
        #expect(daemon["stopped_cleanly"] as? Bool == true)
        #expect(daemon["running"] as? Bool == false, "the old fields stay")
        #expect(daemon["stopped_at"] is String)

        try fixture.fakeDaemon(heartbeatAgo: 250)
        let crashed = try fixture.run(["status"])
        #expect(crashed.exitCode == 1)
        #expect(
            crashed.stdout.contains("no heartbeat for 4 min (crashed?) — systemctl status transferkeyd"),
            "\(crashed.stdout)")
        #expect(crashed.stdout.contains("ago) from pid"), "the heartbeat's time has its distance: \(crashed.stdout)")
        let crashedJSON = try parseJSON(try fixture.run(["status", "--json"]).stdout)
        #expect((crashedJSON["daemon"] as? [String: Any])?["stopped_cleanly"] as? Bool == false)
    }

    // MARK: ARNs

    @Test("show and complete find a transfer by its key ARN, also a row whose key_arn was never filled")
    func showByARN() throws {
        let fixture = try CLIFixture()
        defer { fixture.remove() }
        #expect(try fixture.track().exitCode == 0)
        #expect(try fixture.sqlite("select key_arn from transfers") == Self.arn, "track fills the ARN AWS would give")

        let shown = try fixture.run(["show", Self.arn, "--json"])
        #expect(shown.exitCode == 0, "\(shown)")
        #expect((try parseJSON(shown.stdout)["transfer"] as? [String: Any])?["import_id"] as? String == "imp-1")

        // A row from before track filled key_arn (or a discovered key the worker has not described yet).
        _ = try fixture.sqlite("update transfers set key_arn = NULL")
        let legacy = try fixture.run(["show", Self.arn])
        #expect(legacy.exitCode == 0, "\(legacy)")
        #expect(legacy.stdout.hasPrefix("imp-1: "), "\(legacy.stdout)")
        #expect(try fixture.run(["complete", Self.arn]).exitCode == 0)

        let otherRegion = Self.arn.replacingOccurrences(of: "eu-west-1", with: "us-east-1")
        let miss = try fixture.run(["show", otherRegion])
        #expect(miss.exitCode == 2, "the same key id in another region is another key: \(miss)")
    }

    @Test("show and complete word a transfer that does not exist the same way")
    func notFoundWording() throws {
        let fixture = try CLIFixture()
        defer { fixture.remove() }
        #expect(try fixture.track().exitCode == 0)
        let show = try fixture.run(["show", "imp-nope"])
        let complete = try fixture.run(["complete", "imp-nope"])
        #expect(show.exitCode == 2 && complete.exitCode == 2)
        #expect(show.stderr == complete.stderr, "\(show.stderr) vs \(complete.stderr)")
        #expect(show.stderr.contains("no transfer has import id, key id or key ARN imp-nope"))
    }

    // MARK: show

    @Test("show of a cleaned transfer opens with a plain summary and the rescue, and says what the next check is")
    func showCleaned() throws {
        let fixture = try CLIFixture()
        defer { fixture.remove() }
        #expect(try fixture.track(extra: ["--alias", CLIFixture.alias]).exitCode == 0)
        let deletion = stamp(6 * 86_400 + 3_600)
        _ = try fixture.sqlite(
            """
            update transfers set state = 'cleaned', key_deletion_date = '\(deletion)', attempts = 0,
              next_attempt_at = '\(deletion)', completed_at = '\(stamp(-60))', completion = 'succeeded'
            """)
        let show = try fixture.run(["show", "imp-1"])
        #expect(show.exitCode == 0, "\(show)")
        let first = show.stdout.split(separator: "\n").first.map(String.init) ?? ""
        #expect(
            first
                == "imp-1: alias removed; key pending deletion until \(deletion) (in 6 d); rescue with `transferkeyd cancel-deletion imp-1` before then",
            "\(first)")
        #expect(show.stdout.contains("next check that AWS deleted it"), "\(show.stdout)")
        #expect(!show.stdout.contains("next attempt"), "\(show.stdout)")
        #expect(!show.stdout.contains("attempts "), "no attempts 0 for a state with no step to try: \(show.stdout)")
        #expect(show.stdout.contains("min ago)"), "times carry their distance: \(show.stdout)")
        // The detail column is key=value, not raw JSON.
        #expect(show.stdout.contains("origin=tracked"), "\(show.stdout)")
        #expect(!show.stdout.contains("{\"account_id\""), "\(show.stdout)")

        // JSON keeps the stored detail text and the raw fields.
        let json = try parseJSON(try fixture.run(["show", "imp-1", "--json"]).stdout)
        let event = try #require((json["events"] as? [[String: Any]])?.first)
        #expect((event["detail"] as? String)?.hasPrefix("{") == true)
        let transfer = try #require(json["transfer"] as? [String: Any])
        #expect(transfer["next_attempt_at"] as? String == deletion)
        #expect(transfer["attempts"] as? Int == 0)
    }

    @Test("show of a refused transfer says why and what an operator can do")
    func showRefused() throws {
        let fixture = try CLIFixture()
        defer { fixture.remove() }
        #expect(try fixture.track().exitCode == 0)
        _ = try fixture.sqlite(
            "update transfers set state = 'refused', last_error = 'key also carries alias/prod-db'")
        let show = try fixture.run(["show", "imp-1"])
        let first = show.stdout.split(separator: "\n").first.map(String.init) ?? ""
        #expect(first.hasPrefix("imp-1: REFUSED, key left untouched: key also carries alias/prod-db"), "\(first)")
        #expect(first.contains("`transferkeyd retry imp-1`"), "\(first)")
    }

    @Test("show wraps a long detail under its column instead of one line hundreds of characters wide")
    func showWrapsDetail() throws {
        let fixture = try CLIFixture()
        defer { fixture.remove() }
        let snapshots = (0..<12).flatMap { ["--snapshot", "snap-0123456789abcde\(String($0, radix: 16))0"] }
        #expect(try fixture.track(extra: snapshots).exitCode == 0)
        let show = try fixture.run(["show", "imp-1"], environment: ["COLUMNS": "100"])
        let timeline = show.stdout.components(separatedBy: "\n\n").last ?? ""
        for line in timeline.split(separator: "\n") {
            #expect(line.count <= 100, "wrapped at 100: \(line)")
        }
        #expect(timeline.split(separator: "\n").count > 2, "the recorded event's detail takes several lines")
    }

    // MARK: migrate

    @Test(
        "a damaged ledger (content, no tables) is refused by track and migrate, exit 2 naming the fix; migrate --reinitialise moves it aside and starts a new chain that names it"
    )
    func damagedLedger() throws {
        let fixture = try CLIFixture()
        defer { fixture.remove() }
        #expect(try fixture.track().exitCode == 0)
        // What a lost WAL leaves: an SQLite file with no tables.
        for suffix in ["", "-wal", "-shm"] {
            try? FileManager.default.removeItem(atPath: fixture.databasePath + suffix)
        }
        _ = try fixture.sqlite("PRAGMA user_version = 1")
        let before = fixture.databaseBytes()
        for track in [true, false] {
            let refused = try track ? fixture.track(importID: "imp-2") : fixture.run(["migrate"])
            let command = track ? "track" : "migrate"
            #expect(refused.exitCode == 2, "\(command): \(refused)")
            #expect(refused.stderr.contains("is damaged: the file has content but no tables"), "\(refused)")
            #expect(refused.stderr.contains("migrate --reinitialise"))
        }
        #expect(fixture.databaseBytes() == before, "left byte for byte")

        let fresh = try fixture.run(["migrate", "--reinitialise"])
        #expect(fresh.exitCode == 0, "\(fresh)")
        let aside = try #require(
            try FileManager.default.contentsOfDirectory(atPath: fixture.folder.path("state")).first {
                $0.hasPrefix("transferkeyd.db.damaged-")
            })
        #expect(FileManager.default.contents(atPath: fixture.folder.path("state/\(aside)")) == before[""])
        #expect(
            try fixture.sqlite("SELECT kind || ' ' || json_extract(detail, '$.moved_aside') FROM events")
                == "ledger_reinitialised \(fixture.folder.path("state/\(aside)"))")
        #expect(try fixture.run(["audit", "verify"]).exitCode == 0)
    }

    @Test("migrate refuses a database whose folder is missing (exit 2, naming it) and creates nothing")
    func migrateMissingFolder() throws {
        let fixture = try CLIFixture()
        defer { fixture.remove() }
        let missing = fixture.folder.path("nonexistent/dir")
        let config = try fixture.writeConfig("database = \"\(missing)/x.db\"\n", name: "typo.toml")
        let refused = try CommandRunner.run(["migrate", "--config", config])
        #expect(refused.exitCode == 2, "\(refused)")
        #expect(refused.stderr.contains("the folder \(missing) of \(missing)/x.db does not exist"), "\(refused)")
        #expect(refused.stderr.split(separator: "\n").count == 1)
        #expect(!FileManager.default.fileExists(atPath: fixture.folder.path("nonexistent")))
        // One rule for every command: a writer refuses the same way, and check fails on it.
        let tracked = try CommandRunner.run(
            [
                "track", "--config", config, "--import-id", "imp-1", "--account", CLIFixture.account, "--region",
                "eu-west-1", "--key-id", CLIFixture.keyID,
            ])
        #expect(tracked.exitCode == 2 && tracked.stderr.contains("does not exist"), "\(tracked)")
        let checked = try CommandRunner.run(["check", "--config", config, "--json"])
        #expect(checked.stdout.contains("the folder \(missing) of \(missing)/x.db does not exist"), "\(checked)")
        #expect(!FileManager.default.fileExists(atPath: fixture.folder.path("nonexistent")))

        try FileManager.default.createDirectory(atPath: missing, withIntermediateDirectories: true)
        let made = try CommandRunner.run(["migrate", "--config", config])
        #expect(made.exitCode == 0, "\(made)")
        // Every file in migrations/ (the binary embeds them all).
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appending(path: "migrations")
        let count = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".sql") }
            .count
        #expect(count >= 5)
        #expect(made.stdout.contains("(\(count) migrations applied)"), "\(made.stdout)")
    }

    // MARK: small things

    @Test("retry of a transfer that is not stuck says so in plain words, without internal event names")
    func retryWording() throws {
        let fixture = try CLIFixture()
        defer { fixture.remove() }
        #expect(try fixture.track().exitCode == 0)
        let retry = try fixture.run(["retry", "imp-1"])
        #expect(retry.exitCode == 2)
        #expect(!retry.stderr.contains("retry_requested"), "\(retry.stderr)")
        #expect(retry.stderr.contains("imp-1 is active; only a stuck or refused transfer can be retried"))
    }

    @Test("a mistyped command gets a suggestion; no command at all is bad usage with the help")
    func commandLine() throws {
        let typo = try CommandRunner.run(["stauts"])
        #expect(typo.exitCode == 2, "\(typo)")
        #expect(typo.stderr.contains("unknown command \"stauts\" (did you mean \"status\"?)"), "\(typo.stderr)")
        let far = try CommandRunner.run(["frobnicate"])
        #expect(far.exitCode == 2)
        #expect(!far.stderr.contains("did you mean"), "\(far.stderr)")

        let bare = try CommandRunner.run([])
        #expect(bare.exitCode == 2, "\(bare)")
        #expect(bare.stderr.contains("SUBCOMMANDS"), "the help, on stderr: \(bare)")
        #expect(bare.stdout.isEmpty)
        #expect(try CommandRunner.run(["--help"]).exitCode == 0, "asking for help is still fine")
    }

    @Test("track warns about a region the config does not watch, and accepts a combined --max-age")
    func trackRegionAndDuration() throws {
        let fixture = try CLIFixture()
        defer { fixture.remove() }
        let before = Date()
        let tracked = try fixture.run(
            [
                "track", "--import-id", "imp-1", "--account", CLIFixture.account, "--region", "ap-south-1",
                "--key-id", CLIFixture.keyID, "--max-age", "2h30m", "--json",
            ])
        #expect(tracked.exitCode == 0, "\(tracked)")
        #expect(
            tracked.stderr.contains(
                "warning: region ap-south-1 is not in the regions of account \(CLIFixture.account)"),
            "\(tracked.stderr)")
        let deadline = try #require(
            (try parseJSON(tracked.stdout)["deadline_at"] as? String).flatMap(Timestamp.date))
        #expect(abs(deadline.timeIntervalSince(before) - 9_000) < 60, "\(deadline)")

        let configured = try fixture.track(importID: "imp-2", keyID: "1234abcd-12ab-34cd-56ef-1234567890ac")
        #expect(!configured.stderr.contains("warning"), "\(configured.stderr)")
    }

    @Test("list shows a long import id whole in the table (pasteable into show), as --json does")
    func listShowsLongIDsWhole() throws {
        let fixture = try CLIFixture()
        defer { fixture.remove() }
        // Long, and in the import-id syntax (the `orphan-` form is the daemon's own).
        let long = "import-\(CLIFixture.account)-eu-west-1-\(CLIFixture.keyID)"
        #expect(try fixture.track(importID: long).exitCode == 0)
        let list = try fixture.run(["list"])
        #expect(list.exitCode == 0)
        #expect(list.stdout.contains(long + " "), "\(list.stdout)")
        #expect(!list.stdout.contains("…"), "\(list.stdout)")
        #expect(list.stdout.contains("(in 23 h)"), "the deadline has its distance: \(list.stdout)")
        let json = try fixture.run(["list", "--json"])
        #expect(json.stdout.contains("\"\(long)\""))
    }

    @Test("track --help's example copies whole from an 80-column terminal")
    func trackHelpExample() throws {
        let examples = [
            (
                "track",
                "transferkeyd track --import-id imp-42 --account 111122223333 --region eu-west-1 --key-id 1234abcd-12ab-34cd-56ef-1234567890ab --alias alias/CadoResponse-KMS-Alias-imp-42 --snapshot snap-0123456789abcdef0"
            ),
            (
                "create",
                "transferkeyd create --import-id imp-42 --account 111122223333 --region eu-west-1 --grantee-account 444455556666 --snapshot snap-0123456789abcdef0"
            ),
        ]
        for (name, expected) in examples {
            let help = try CommandRunner.run([name, "--help"], environment: ["COLUMNS": "80"])
            let lines = help.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            let start = try #require(lines.firstIndex { $0.contains("transferkeyd \(name) --import-id") })
            var command = ""
            for line in lines[start...] {
                #expect(line.count <= 80, "\(line)")
                command += line.trimmingCharacters(in: .whitespaces)
                guard command.hasSuffix("\\") else { break }
                command = String(command.dropLast()).trimmingCharacters(in: .whitespaces) + " "
            }
            #expect(command == expected, "\(command)")
        }
        // create's usage line shows --grantee-account as required.
        let usage = try CommandRunner.run(["create", "--help"]).stdout
        #expect(usage.contains("--grantee-account <acct> ...") && !usage.contains("[--grantee-account"), "\(usage)")
    }

    @Test("counts of one read in the singular: 1 event, 1 audit event")
    func singular() throws {
        let fixture = try CLIFixture()
        defer { fixture.remove() }
        #expect(try fixture.track().exitCode == 0)
        let verify = try fixture.run(["audit", "verify"])
        #expect(verify.stdout.contains("audit chain intact: 1 event\n"), "\(verify.stdout)")
        let status = try fixture.run(["status"])
        #expect(status.stdout.contains("(1 audit event)"), "\(status.stdout)")
    }
}
