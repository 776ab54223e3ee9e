import Foundation
import Testing
import TransferKeyTestSupport

@Suite("CLI: track, list, show, complete, retry, audit verify")
struct TrackListShowTests {
    @Test("track records a transfer that list, show and audit verify then report")
    func happyPath() throws {
        let fixture = try CLIFixture()
        defer { fixture.remove() }

        let tracked = try fixture.track(extra: ["--alias", CLIFixture.alias, "--snapshot", "snap-0123456789abcdef0"])
        #expect(tracked.exitCode == 0, "\(tracked)")

        let list = try fixture.run(["list", "--json"])
        #expect(list.exitCode == 0, "\(list)")
        let document = try parseJSON(list.stdout)
        #expect(document["count"] as? Int == 1)
        let transfer = try #require((document["transfers"] as? [[String: Any]])?.first)
        #expect(transfer["import_id"] as? String == "imp-1")
        #expect(transfer["state"] as? String == "active")
        #expect(transfer["origin"] as? String == "tracked")
        #expect(transfer["key_id"] as? String == CLIFixture.keyID)
        #expect(transfer["alias_name"] as? String == CLIFixture.alias)

        let show = try fixture.run(["show", "imp-1"])
        #expect(show.exitCode == 0, "\(show)")
        #expect(show.stdout.contains("snap-0123456789abcdef0"))
        #expect(show.stdout.contains("recorded"))

        let byKey = try fixture.run(["show", CLIFixture.keyID, "--json"])
        #expect(byKey.exitCode == 0, "\(byKey)")
        let shown = try parseJSON(byKey.stdout)
        #expect((shown["transfer"] as? [String: Any])?["import_id"] as? String == "imp-1")
        #expect((shown["events"] as? [Any])?.count == 1)

        let verify = try fixture.run(["audit", "verify"])
        #expect(verify.exitCode == 0, "\(verify)")
        #expect(verify.stdout.contains("intact"))

        // Plain SQL sees the same thing (the README's audit recipes rely on it).
        #expect(try fixture.sqlite("select import_id, state, origin from transfers") == "imp-1|active|tracked")
        #expect(try fixture.sqlite("select kind from events order by at") == "recorded")
    }

    @Test("complete moves an active transfer to cleanup_due once; a second call changes nothing")
    func complete() throws {
        let fixture = try CLIFixture()
        defer { fixture.remove() }
        #expect(try fixture.track().exitCode == 0)

        let first = try fixture.run(["complete", "imp-1"])
        #expect(first.exitCode == 0, "\(first)")
        #expect(try fixture.sqlite("select state, completion from transfers") == "cleanup_due|succeeded")

        let before = fixture.databaseBytes()
        let second = try fixture.run(["complete", "imp-1", "--failed"])
        #expect(second.exitCode == 0, "\(second)")
        #expect(second.stdout.contains("nothing changed"))
        #expect(fixture.databaseBytes() == before)
    }

    @Test("complete --failed records the failure; the key is still cleaned up")
    func completeFailed() throws {
        let fixture = try CLIFixture()
        defer { fixture.remove() }
        #expect(try fixture.track().exitCode == 0)
        #expect(try fixture.run(["complete", CLIFixture.keyID, "--failed"]).exitCode == 0)
        #expect(try fixture.sqlite("select state, completion from transfers") == "cleanup_due|failed")
    }

    @Test("retry of a transfer that is not stuck is refused with exit 2 and changes nothing")
    func retryNotStuck() throws {
        let fixture = try CLIFixture()
        defer { fixture.remove() }
        #expect(try fixture.track().exitCode == 0)
        let before = fixture.databaseBytes()
        let retry = try fixture.run(["retry", "imp-1"])
        #expect(retry.exitCode == 2, "\(retry)")
        #expect(retry.stderr.contains("active"))
        #expect(fixture.databaseBytes() == before)
    }

    @Test("retry puts a stuck transfer back to cleanup_due")
    func retryStuck() throws {
        let fixture = try CLIFixture()
        defer { fixture.remove() }
        #expect(try fixture.track().exitCode == 0)
        #expect(try fixture.run(["complete", "imp-1"]).exitCode == 0)
        // The daemon would park it after a permanent error; do the same through the store's SQL shape.
        _ = try fixture.sqlite("update transfers set state = 'stuck', last_error = 'AccessDeniedException'")
        let status = try fixture.run(["status"])
        #expect(status.exitCode == 1)
        #expect(status.stdout.contains("AccessDeniedException"))
        let retry = try fixture.run(["retry", "imp-1"])
        #expect(retry.exitCode == 0, "\(retry)")
        #expect(try fixture.sqlite("select state, attempts from transfers") == "cleanup_due|0")
        #expect(try fixture.sqlite("select kind from events order by seq desc limit 1") == "retry_requested")
    }

    @Test("a tracked transfer shows up in status; with no daemon status exits 1")
    func statusWithoutDaemon() throws {
        let fixture = try CLIFixture()
        defer { fixture.remove() }
        #expect(try fixture.track().exitCode == 0)
        let status = try fixture.run(["status"])
        #expect(status.exitCode == 1, "\(status)")
        #expect(status.stdout.contains("NOT running"))
        #expect(status.stdout.contains("active=1"))
        let json = try fixture.run(["status", "--json"])
        #expect(json.exitCode == 1)
        let document = try parseJSON(json.stdout)
        #expect((document["daemon"] as? [String: Any])?["running"] as? Bool == false)
        #expect((document["counts"] as? [String: Any])?["active"] as? Int == 1)
        #expect(document["ok"] as? Bool == false)
    }

    @Test("audit verify names the first edited event and exits 1")
    func auditBroken() throws {
        let fixture = try CLIFixture()
        defer { fixture.remove() }
        #expect(try fixture.track(importID: "imp-1").exitCode == 0)
        #expect(try fixture.track(importID: "imp-2", keyID: "mrk-0123456789abcdef0123456789abcdef").exitCode == 0)
        #expect(try fixture.run(["complete", "imp-1"]).exitCode == 0)
        _ = try fixture.sqlite(
            "drop trigger events_refuse_update; update events set actor = 'someone-else' where seq = 2;")
        let verify = try fixture.run(["audit", "verify"])
        #expect(verify.exitCode == 1, "\(verify)")
        #expect(verify.stdout.contains("event 2"))
    }

    @Test("--help teaches every command and exits 0")
    func help() throws {
        let help = try CommandRunner.run(["--help"])
        #expect(help.exitCode == 0)
        for command in ["status", "track", "complete", "list", "show", "retry", "audit", "migrate"] {
            #expect(help.stdout.contains(command))
        }
        let trackHelp = try CommandRunner.run(["track", "--help"])
        #expect(trackHelp.exitCode == 0)
        #expect(trackHelp.stdout.contains("--snapshot"))
    }

    @Test("eight tracks started at once on a database that does not exist yet all record their transfer")
    func concurrentFirstOpen() throws {
        // 30 rounds × 8 processes: before the table of applied migrations was created first, in a transaction of
        // its own, about 1 process in 80 lost the race ("no such table: grdb_migrations", exit 3).
        let binary = try CommandRunner.binaryPath()
        for round in 1...30 {
            let fixture = try CLIFixture()
            defer { fixture.remove() }
            let script =
                (1...8).map { n in
                    "'\(binary)' track --config '\(fixture.configPath)' --import-id imp-\(n) --account \(CLIFixture.account)"
                        + " --region eu-west-1 --key-id 1234abcd-12ab-34cd-56ef-12345678900\(n) > out-\(n) 2>&1"
                        + " || echo \"#\(n) exit $?: $(cat out-\(n))\" &"
                }.joined(separator: "\n") + "\nwait\n"
            let result = try CommandRunner.runTool(
                "bash", ["-c", script], currentDirectory: fixture.folder.url, timeout: 120)
            #expect(result.exitCode == 0 && result.stdout.isEmpty && result.stderr.isEmpty, "round \(round): \(result)")
            #expect(try fixture.sqlite("select count(*) from transfers") == "8", "round \(round)")
            #expect(try fixture.sqlite("select count(*) from events where kind = 'recorded'") == "8", "round \(round)")
        }
    }
}
