import Foundation
import Testing
import TransferKeyTestSupport

/// `transferkeyd create` as a real subprocess against moto and our fault layer.
@Suite("Create against the AWS emulator", .serialized)
struct CreateEmulatorTests {
    private static let grantee = "444455556666"

    private func createArguments(_ importID: String, extra: [String] = []) -> [String] {
        [
            "create", "--import-id", importID, "--account", DaemonFixture.account, "--region", "us-east-1",
            "--grantee-account", Self.grantee,
        ] + extra
    }

    @Test("create on a terminal says why it waits: a 'retrying … (attempt N of M)' line per retry while AWS fails")
    func createShowsRetriesOnATerminal() async throws {
        let fixture = try await DaemonFixture.isolated(maxAttempts: 4)
        defer {
            fixture.remove()
            fixture.emulator.stop()
        }
        _ = try await fixture.emulator.addRule(
            Emulator.FaultRule.error("KMSInternalException", status: 500, on: "ListAliases", count: 2))
        let importID = "tty-\(fixture.tag)"
        let command =
            ([try CommandRunner.binaryPath()] + createArguments(importID) + ["--config", fixture.configPath])
            .map { "'\($0)'" }.joined(separator: " ")
        // `script` gives the command a terminal (its stdout and stderr).
        var environment = ProcessInfo.processInfo.environment
        for (key, value) in DaemonFixture.awsEnvironment { environment[key] = value }
        let onTerminal = try CommandRunner.runProgram(
            URL(fileURLWithPath: "/usr/bin/script"), ["-qec", command, "/dev/null"], environment: environment,
            timeout: 120)
        #expect(onTerminal.exitCode == 0, "\(onTerminal)")
        #expect(
            onTerminal.stdout.contains("retrying ListAliases in us-east-1 after KMSInternalException (attempt 2 of 4"),
            "\(onTerminal.stdout)")
        // Off a terminal (a script's pipe) nothing but the result.
        _ = try await fixture.emulator.addRule(
            Emulator.FaultRule.error("KMSInternalException", status: 500, on: "ListAliases", count: 1))
        let piped = try fixture.cli(createArguments("pipe-\(fixture.tag)"))
        #expect(piped.exitCode == 0 && !piped.stderr.contains("retrying"), "\(piped)")
    }

    @Test("create makes a tagged key with its alias and records it active; complete + the daemon clean it up")
    func createThenCleanup() async throws {
        let fixture = try await DaemonFixture()
        defer { fixture.remove() }
        let importID = "create-\(fixture.tag)"
        let alias = "\(DaemonFixture.prefix)-\(importID)"

        let created = try fixture.cli(createArguments(importID))
        #expect(created.exitCode == 0, "\(created)")
        let output = try parseJSON(created.stdout)
        #expect(output["import_id"] as? String == importID)
        #expect(output["alias_name"] as? String == alias)
        let keyID = try #require(output["key_id"] as? String)
        #expect(output["key_arn"] as? String == "arn:aws:kms:us-east-1:\(DaemonFixture.account):key/\(keyID)")

        // In the emulator: the key exists, carries the import-id tag and the least-privilege policy, the alias targets it.
        #expect(try fixture.keyState(keyID) == "Enabled")
        #expect(try fixture.seed(["key-tags", keyID]) == "transferkeyd:import-id=\(importID)")
        let aliases = try fixture.seed(["aliases"]).split(separator: "\n").map(String.init)
        #expect(aliases.contains("\(alias) \(keyID)"))
        let policy = try parseJSON(try fixture.seed(["key-policy", keyID]))
        let statements = policy["Statement"] as? [[String: Any]] ?? []
        let grant = statements.first { $0["Sid"] as? String == "GranteesGrantOnlyToAWSServices" }
        #expect(
            (grant?["Condition"] as? [String: [String: String]]) == ["Bool": ["kms:GrantIsForAWSResource": "true"]])

        // In the database: active, origin created, each call in the audit trail.
        let show = try parseJSON(try fixture.cli(["show", importID, "--json"]).stdout)
        let transfer = try #require(show["transfer"] as? [String: Any])
        #expect(transfer["state"] as? String == "active")
        #expect(transfer["origin"] as? String == "created")
        #expect(transfer["key_id"] as? String == keyID)
        #expect(transfer["alias_name"] as? String == alias)
        let events = (show["events"] as? [[String: Any]] ?? []).map {
            ($0["kind"] as? String ?? "", $0["detail"] as? String ?? "")
        }
        #expect(events.map(\.0) == ["recorded", "aws_call", "aws_call", "key_created"], "\(events)")
        #expect(events.contains { $0.0 == "aws_call" && $0.1.contains("\"CreateKey\"") })
        #expect(events.contains { $0.0 == "aws_call" && $0.1.contains("\"CreateAlias\"") })

        // The same import id again: exit 2, no second key.
        let again = try fixture.cli(createArguments(importID))
        #expect(again.exitCode == 2, "\(again)")

        // The import ends; the running daemon schedules the key and removes the alias.
        #expect(try fixture.cli(["complete", importID]).exitCode == 0)
        try fixture.start()
        let cleaned = try await fixture.eventually { try fixture.state(importID) == "cleaned" }
        #expect(cleaned, "\(fixture.logs())")
        #expect(try await fixture.stop() == 0)
        #expect(try fixture.keyState(keyID) == "PendingDeletion")
        #expect(!(try fixture.aliasNames().contains(alias)))
        #expect(try fixture.cli(["audit", "verify"]).exitCode == 0)
    }

    @Test(
        "bad input exits 2 naming the field, and creates nothing: no key, no alias, no database",
        arguments: [
            (["--grantee-account", "12345"], "--grantee-account"),
            (["--grantee-account", "abcdabcdabcd"], "--grantee-account"),
            (["--snapshot", "snap-xyz"], "--snapshot"),
            (["--max-age", "forever"], "--max-age"),
            (["--region", "mars-1"], "--region"),
            (["--account", "1234"], "--account"),
            (["--import-id", "has space"], "--import-id"),
        ])
    func badInput(extra: [String], field: String) async throws {
        let fixture = try await DaemonFixture()
        defer { fixture.remove() }
        let importID = "bad-\(fixture.tag)"
        var arguments = createArguments(importID)
        // Replace a flag that is already there, else add it.
        if let index = arguments.firstIndex(of: extra[0]), extra[0] != "--grantee-account" {
            arguments[index + 1] = extra[1]
        } else {
            arguments += extra
        }
        let result = try fixture.cli(arguments)
        #expect(result.exitCode == 2, "\(result)")
        #expect(result.stderr.contains(field), "\(result)")
        #expect(result.stderr.split(separator: "\n").count == 1, "one line: \(result.stderr)")
        try expectNothingCreated(fixture, importID: importID)
    }

    @Test("no --grantee-account at all: exit 2, nothing created")
    func noGrantee() async throws {
        let fixture = try await DaemonFixture()
        defer { fixture.remove() }
        let importID = "nogrant-\(fixture.tag)"
        let result = try fixture.cli([
            "create", "--import-id", importID, "--account", DaemonFixture.account, "--region", "us-east-1",
        ])
        #expect(result.exitCode == 2, "\(result)")
        #expect(result.stderr.contains("--grantee-account"), "\(result)")
        try expectNothingCreated(fixture, importID: importID)
    }

    @Test(
        "an AWS failure (CreateAlias denied): exit 3 naming the call, account/region and code; the row stays creating")
    func awsFailure() async throws {
        let fixture = try await DaemonFixture()
        defer { fixture.remove() }
        let importID = "denied-\(fixture.tag)"
        // A region no other test uses in this account, so the rule cannot hit anyone else's CreateAlias.
        let region = "ca-central-1"
        try await fixture.emulator.addRule(
            Emulator.FaultRule.error("AccessDeniedException", on: "CreateAlias", count: 1).matching(
                region: region, account: DaemonFixture.account))
        let result = try fixture.cli([
            "create", "--import-id", importID, "--account", DaemonFixture.account, "--region", region,
            "--grantee-account", Self.grantee,
        ])
        #expect(result.exitCode == 3, "\(result)")
        #expect(result.stdout.isEmpty, "\(result)")
        let line = result.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(!line.contains("\n"), "one line: \(line)")
        for fragment in ["CreateAlias", "\(DaemonFixture.account)/\(region)", "AccessDeniedException", "creating"] {
            #expect(line.contains(fragment), "\(fragment) in: \(line)")
        }
        let transfer = try #require(
            try parseJSON(try fixture.cli(["show", importID, "--json"]).stdout)["transfer"] as? [String: Any])
        #expect(transfer["state"] as? String == "creating")
        #expect((transfer["last_error"] as? String)?.contains("AccessDeniedException") == true, "\(transfer)")
        let keyID = try #require(transfer["key_id"] as? String, "the key AWS made is recorded")
        #expect(try fixture.seed(["--region", region, "key-tags", keyID]) == "transferkeyd:import-id=\(importID)")
    }

    /// No database was even created, no alias exists, and no key in the emulator carries the import's tag.
    private func expectNothingCreated(_ fixture: DaemonFixture, importID: String) throws {
        #expect(!FileManager.default.fileExists(atPath: fixture.databasePath))
        #expect(!(try fixture.aliasNames().contains("\(DaemonFixture.prefix)-\(importID)")))
        #expect(try fixture.seed(["keys-tagged", "transferkeyd:import-id", importID]).isEmpty)
    }
}
