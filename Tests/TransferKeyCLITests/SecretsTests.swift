import Foundation
import Testing
import TransferKeyTestSupport

/// PRODUCT.md §2: credentials, session tokens and signatures never reach logs, SQLite or `status`.
@Suite("Secrets never leak", .serialized)
struct SecretsTests {
    static let accessKeyID = "AKIASCANSCANSCAN4242"
    static let secretKey = "scanSecret/Zq8vX3+k7Lw2Rb9Tn4Yc6Hd1Mf5Pg0Js8Ue3Wa"
    static let sessionToken = "scanToken//IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD"
    static let otherAccount = "222233334444"

    /// Text that may only appear in a signed request, never in anything transferkeyd writes. (Header
    /// names such as `X-Amz-Security-Token` may appear in trace logs, with `<redacted>` values.)
    static let forbidden = [
        accessKeyID, secretKey, sessionToken, "Signature=", "Credential=", "aws4_request", "SecretAccessKey",
        "scanSecret", "scanToken",
    ]

    @Test(
        "with distinctive credentials (base and assumed role), no secret reaches trace logs, the database, status, show, list or create's output; files are 0600"
    )
    func noSecretAnywhere() async throws {
        let fixture = try await DaemonFixture.isolated(accounts: [
            .init(id: DaemonFixture.account, regions: ["us-east-1"]),
            .init(
                id: Self.otherAccount, roleARN: "arn:aws:iam::222233334444:role/CadoResponseRole",
                regions: ["us-east-1"]),
        ])
        defer {
            fixture.remove()
            fixture.emulator.stop()
        }
        let credentials = [
            "AWS_ACCESS_KEY_ID": Self.accessKeyID, "AWS_SECRET_ACCESS_KEY": Self.secretKey,
            "AWS_SESSION_TOKEN": Self.sessionToken, "TRANSFERKEYD_LOG_LEVEL": "trace",
        ]
        // Error paths log too: transient failures on both cleanup calls, and a proxy's HTML page.
        _ = try await fixture.emulator.addRule(
            .error("KMSInternalException", status: 500, on: "ScheduleKeyDeletion", count: 2))
        _ = try await fixture.emulator.addRule(.htmlPage(status: 502, on: "DeleteAlias", count: 1))

        let homeAlias = fixture.alias("home")
        let otherAlias = fixture.alias("other")
        let homeKey = try fixture.createKey(aliases: [homeAlias], account: DaemonFixture.account, region: "us-east-1")
        let otherKey = try fixture.createKey(aliases: [otherAlias], account: Self.otherAccount, region: "us-east-1")
        #expect(try fixture.track("home-\(fixture.tag)", keyID: homeKey, alias: homeAlias).exitCode == 0)
        #expect(
            try fixture.track("other-\(fixture.tag)", keyID: otherKey, alias: otherAlias, account: Self.otherAccount)
                .exitCode == 0)
        let created = try CommandRunner.run(
            [
                "create", "--import-id", "made-\(fixture.tag)", "--account", DaemonFixture.account, "--region",
                "us-east-1", "--grantee-account", "444455556666", "--config", fixture.configPath,
            ], environment: credentials)
        #expect(created.exitCode == 0, "\(created)")
        for importID in ["home", "other", "made"] {
            #expect(try fixture.cli(["complete", "\(importID)-\(fixture.tag)"]).exitCode == 0)
        }

        try fixture.start(environment: credentials)
        let cleaned = try await fixture.eventually(timeout: 90) {
            try ["home", "other", "made"].allSatisfy { try fixture.state("\($0)-\(fixture.tag)") == "cleaned" }
        }
        #expect(cleaned, "\(fixture.logs())")
        #expect(try await fixture.stop() == 0)
        let log = try await fixture.emulator.requestLog()
        #expect(log.contains { $0.key == "sts.AssumeRole" }, "the role's temporary credentials were used too")

        var outputs: [(name: String, text: String)] = [("daemon log (trace)", fixture.logs())]
        outputs.append(("create", created.stdout + created.stderr))
        outputs.append(("database dump", try fixture.sqliteDump()))
        for arguments in [["status", "--json"], ["status"], ["list", "--json"], ["audit", "verify"]] {
            let result = try fixture.cli(arguments)
            outputs.append((arguments.joined(separator: " "), result.stdout + result.stderr))
        }
        for importID in ["home", "other", "made"] {
            for format in [[], ["--json"]] {
                let result = try fixture.cli(["show", "\(importID)-\(fixture.tag)"] + format)
                outputs.append(("show \(importID) \(format)", result.stdout + result.stderr))
            }
        }
        let traceLines = outputs[0].text.split(separator: "\n")
        #expect(traceLines.count > 20 && outputs[0].text.contains("ScheduleKeyDeletion"), "the log has content")
        #expect(outputs[2].text.contains("aws_call"), "the dump has the audit trail")
        for (name, text) in outputs {
            for secret in Self.forbidden {
                let lines = text.split(separator: "\n").filter { $0.contains(secret) }.prefix(3)
                #expect(lines.isEmpty, "\(name) contains \(secret): \(lines.joined(separator: " | "))")
            }
        }

        for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: fixture.databasePath + suffix) {
            let attributes = try FileManager.default.attributesOfItem(atPath: fixture.databasePath + suffix)
            #expect(
                (attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600,
                "the database file\(suffix) is readable by its owner only")
        }
    }
}

extension DaemonFixture {
    /// `sqlite3 DB .dump`: every row of every table, as an auditor (or an attacker with the file) sees it.
    func sqliteDump() throws -> String {
        try CommandRunner.runTool("sqlite3", [databasePath, ".dump"]).stdout
    }
}
