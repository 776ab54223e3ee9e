import Foundation
import Testing
import TransferKeyTestSupport

/// `transferkeyd check` as a real subprocess against moto and our fault layer, each test on its own
/// emulator (fault rules must not reach other suites).
@Suite("check against the AWS emulator", .serialized)
struct CheckTests {
    private static let roleAccount = "111122223333"
    private static let role = "arn:aws:iam::111122223333:role/CadoResponseRole"

    /// An isolated fixture whose config has the base account (no role) and a second account reached
    /// through a role with an external id.
    private func makeFixture(withRole: Bool = true) async throws -> DaemonFixture {
        let fixture = try await DaemonFixture.isolated()
        var text = """
            database = "\(fixture.databasePath)"

            [aws]
            endpoint_url = "\(fixture.emulator.endpoint)"
            max_attempts = 2

            [[accounts]]
            id = "\(DaemonFixture.account)"
            regions = ["us-east-1"]
            """
        if withRole {
            text += """


                [[accounts]]
                id = "\(Self.roleAccount)"
                role_arn = "\(Self.role)"
                external_id = "ext-42"
                regions = ["eu-west-1"]
                """
        }
        try CLIFixture.write(text, to: fixture.configPath)
        return fixture
    }

    private func checks(_ result: CommandResult) throws -> [[String: Any]] {
        try parseJSON(result.stdout)["checks"] as? [[String: Any]] ?? []
    }

    private func row(_ rows: [[String: Any]], _ scope: String, _ name: String) -> [String: Any]? {
        rows.first { $0["scope"] as? String == scope && $0["name"] as? String == name }
    }

    private func databaseBytes(_ fixture: DaemonFixture) -> [String: Data] {
        var bytes: [String: Data] = [:]
        for suffix in ["", "-wal", "-journal"] {
            if let data = FileManager.default.contents(atPath: fixture.databasePath + suffix), !data.isEmpty {
                bytes[suffix] = data
            }
        }
        return bytes
    }

    @Test("all prerequisites hold: every row ✓, exit 0, and nothing is created or changed")
    func allPass() async throws {
        let fixture = try await makeFixture()
        defer {
            fixture.remove()
            fixture.emulator.stop()
        }
        // No database yet: a ✓ that says who creates it, and check creates nothing.
        let fresh = try fixture.cli(["check"])
        #expect(fresh.exitCode == 0, "\(fresh)")
        #expect(fresh.stdout.contains("does not exist yet"), "\(fresh)")
        #expect(!FileManager.default.fileExists(atPath: fixture.databasePath))
        for line in [
            "✓ credentials", "✓ caller identity", "✓ assume role", "✓ kms:ListAliases", "✓ ec2:DescribeSnapshots",
            "✓ kms:ListGrants, kms:GetKeyLastUsage, kms:RetireGrant", "✓ cloudtrail:LookupEvents",
        ] {
            #expect(fresh.stdout.contains(line), "\(line) in \(fresh.stdout)")
        }
        #expect(!fresh.stdout.contains("✗"))
        // No platform_principals: a warning per account with its fix, which does not fail the check.
        #expect(fresh.stdout.contains("! platform_principals"), "\(fresh.stdout)")
        #expect(fresh.stdout.contains("fix: set platform_principals = [\"arn:aws:iam::\(Self.roleAccount):role/…\"]"))
        #expect(fresh.stdout.contains("2 warnings"), "\(fresh.stdout)")

        // A database with events: schema, writable, mode, audit chain all ✓, byte for byte unchanged.
        #expect(try fixture.cli(["migrate"]).exitCode == 0)
        let keyID = try fixture.createKey(aliases: [fixture.alias("check")])
        #expect(try fixture.track("check-1", keyID: keyID, alias: fixture.alias("check")).exitCode == 0)
        let before = databaseBytes(fixture)
        let result = try fixture.cli(["check", "--json"])
        #expect(result.exitCode == 0, "\(result)")
        #expect(databaseBytes(fixture) == before)
        let document = try parseJSON(result.stdout)
        #expect(document["ok"] as? Bool == true)
        let rows = try checks(result)
        #expect(
            rows.allSatisfy {
                $0["outcome"] as? String == ($0["name"] as? String == "platform_principals" ? "warning" : "passed")
            },
            "\(rows)")
        #expect(row(rows, "account \(Self.roleAccount)", "platform_principals")?["ok"] as? Bool == true)
        #expect((row(rows, "database", "audit chain")?["detail"] as? String)?.contains(" intact") == true)
        #expect(row(rows, "\(DaemonFixture.account)/us-east-1", "credentials")?["detail"] as? String == "environment")
        let assumed = row(rows, "\(Self.roleAccount)/eu-west-1", "assume role")?["detail"] as? String ?? ""
        #expect(assumed.contains("arn:aws:sts::\(Self.roleAccount):assumed-role/CadoResponseRole"), "\(assumed)")
        #expect(assumed.contains("external id"))

        // The AWS calls made were reads only (RetireGrant names a key that exists nowhere).
        let operations = Set(try await fixture.emulator.requestLog().map(\.operation))
        #expect(
            operations.isSubset(of: [
                "GetCallerIdentity", "AssumeRole", "ListAliases", "DescribeSnapshots", "CreateKey", "CreateAlias",
                "ListGrants", "GetKeyLastUsage", "LookupEvents", "RetireGrant",
            ]), "\(operations)")

        // A group-writable database is a finding with its fix.
        try FileManager.default.setAttributes([.posixPermissions: 0o660], ofItemAtPath: fixture.databasePath)
        let loose = try fixture.cli(["check"])
        #expect(loose.exitCode == 1, "\(loose)")
        #expect(loose.stdout.contains("✗ file mode"), "\(loose)")
        #expect(loose.stdout.contains("fix: chmod go-w \(fixture.databasePath)"), "\(loose)")
    }

    @Test(
        "ownership_mark_key: an HMAC key is verified by a GenerateMac/VerifyMac round trip (✓); an encryption key or a denied GenerateMac is ✗ with the fix"
    )
    func markKey() async throws {
        let fixture = try await makeFixture(withRole: false)
        defer {
            fixture.remove()
            fixture.emulator.stop()
        }
        let markKey = try fixture.seed(["create-mark-key"])
        let base = try String(contentsOfFile: fixture.configPath, encoding: .utf8)
        try CLIFixture.write("ownership_mark_key = \"\(markKey)\"\n" + base, to: fixture.configPath)
        let good = try fixture.cli(["check", "--json"])
        #expect(good.exitCode == 0, "\(good)")
        let passed = row(try checks(good), "ownership_mark_key", "mark key")
        #expect(passed?["outcome"] as? String == "passed", "\(good.stdout)")
        let operations = try await fixture.emulator.requestLog().map(\.operation)
        #expect(operations.contains("GenerateMac") && operations.contains("VerifyMac"), "\(operations)")

        // A plain encryption key is no mark key.
        let plain = try fixture.createKey(aliases: [])
        let plainARN = "arn:aws:kms:us-east-1:\(DaemonFixture.account):key/\(plain)"
        try CLIFixture.write("ownership_mark_key = \"\(plainARN)\"\n" + base, to: fixture.configPath)
        let wrong = try fixture.cli(["check"])
        #expect(wrong.exitCode == 1, "\(wrong)")
        #expect(wrong.stdout.contains("✗ mark key") && wrong.stdout.contains("HMAC_256"), "\(wrong)")

        // GenerateMac denied: ✗ naming the permission.
        try CLIFixture.write("ownership_mark_key = \"\(markKey)\"\n" + base, to: fixture.configPath)
        try await fixture.emulator.addRule(.error("AccessDeniedException", on: "GenerateMac"))
        let denied = try fixture.cli(["check"])
        #expect(denied.exitCode == 1, "\(denied)")
        #expect(denied.stdout.contains("kms:GenerateMac"), "\(denied)")

        // Not a key ARN: bad config, exit 2, naming the key.
        try CLIFixture.write("ownership_mark_key = \"alias/marks\"\n" + base, to: fixture.configPath)
        let invalid = try fixture.cli(["check"])
        #expect(invalid.exitCode == 2 && invalid.stderr.contains("ownership_mark_key"), "\(invalid)")
    }

    @Test("AccessDenied on ListAliases: ✗ with the policy fix naming the principal, exit 1")
    func listAliasesDenied() async throws {
        let fixture = try await makeFixture(withRole: false)
        defer {
            fixture.remove()
            fixture.emulator.stop()
        }
        try await fixture.emulator.addRule(.error("AccessDeniedException", on: "ListAliases"))
        let result = try fixture.cli(["check"])
        #expect(result.exitCode == 1, "\(result)")
        #expect(result.stdout.contains("✗ kms:ListAliases"), "\(result)")
        #expect(
            result.stdout.contains(
                "fix: allow kms:ListAliases on * for arn:aws:sts::\(DaemonFixture.account):user/moto"), "\(result)")
        #expect(result.stdout.contains("✓ ec2:DescribeSnapshots"), "\(result)")

        let rows = try checks(try fixture.cli(["check", "--json"]))
        let failed = row(rows, "\(DaemonFixture.account)/us-east-1", "kms:ListAliases")
        #expect(failed?["outcome"] as? String == "failed")
        #expect((failed?["detail"] as? String)?.hasPrefix("AccessDeniedException") == true)
    }

    @Test("the evidence of use and CloudTrail denied: ✗ naming the permissions, exit 1")
    func useEvidenceDenied() async throws {
        let fixture = try await makeFixture(withRole: false)
        defer {
            fixture.remove()
            fixture.emulator.stop()
        }
        try await fixture.emulator.addRule(.error("AccessDeniedException", on: "GetKeyLastUsage"))
        try await fixture.emulator.addRule(.error("AccessDeniedException", on: "LookupEvents"))
        let result = try fixture.cli(["check"])
        #expect(result.exitCode == 1, "\(result)")
        #expect(result.stdout.contains("✗ kms:ListGrants, kms:GetKeyLastUsage, kms:RetireGrant"), "\(result.stdout)")
        #expect(result.stdout.contains("allow kms:ListGrants and kms:GetKeyLastUsage"), "\(result.stdout)")
        #expect(result.stdout.contains("✗ cloudtrail:LookupEvents"), "\(result.stdout)")
        #expect(result.stdout.contains("allow cloudtrail:LookupEvents"), "\(result.stdout)")

        // RetireGrant alone denied: the row fails and names it.
        try await fixture.emulator.clearRules()
        try await fixture.emulator.addRule(.error("AccessDeniedException", on: "RetireGrant"))
        let retire = try fixture.cli(["check"])
        #expect(retire.exitCode == 1, "\(retire)")
        #expect(retire.stdout.contains("✗ kms:ListGrants, kms:GetKeyLastUsage, kms:RetireGrant"), "\(retire.stdout)")
        #expect(retire.stdout.contains("kms:RetireGrant on its transfer keys"), "\(retire.stdout)")
        #expect(retire.stdout.contains("✓ cloudtrail:LookupEvents"), "\(retire.stdout)")
    }

    @Test("UnauthorizedOperation on DescribeSnapshots with DryRun: ✗ with the fix, exit 1")
    func describeSnapshotsDenied() async throws {
        let fixture = try await makeFixture(withRole: false)
        defer {
            fixture.remove()
            fixture.emulator.stop()
        }
        try await fixture.emulator.addRule(.error("UnauthorizedOperation", status: 403, on: "DescribeSnapshots"))
        let result = try fixture.cli(["check"])
        #expect(result.exitCode == 1, "\(result)")
        #expect(result.stdout.contains("✗ ec2:DescribeSnapshots"), "\(result)")
        #expect(result.stdout.contains("fix: allow ec2:DescribeSnapshots on * for"), "\(result)")
        #expect(result.stdout.contains("✓ kms:ListAliases"), "\(result)")
    }

    @Test("AssumeRole denied: ✗ naming the role, its trust policy and the external id; later rows skipped")
    func assumeRoleDenied() async throws {
        let fixture = try await makeFixture()
        defer {
            fixture.remove()
            fixture.emulator.stop()
        }
        try await fixture.emulator.addRule(
            .error("AccessDenied", status: 403, message: "not authorized to perform sts:AssumeRole", on: "AssumeRole"))
        let result = try fixture.cli(["check", "--json"])
        #expect(result.exitCode == 1, "\(result)")
        let rows = try checks(result)
        let scope = "\(Self.roleAccount)/eu-west-1"
        let denied = try #require(row(rows, scope, "assume role"))
        #expect(denied["outcome"] as? String == "failed")
        let fix = denied["fix"] as? String ?? ""
        #expect(fix.contains("trust policy of \(Self.role)"), "\(fix)")
        #expect(fix.contains("sts:ExternalId = \"ext-42\""), "\(fix)")
        #expect(row(rows, scope, "kms:ListAliases")?["outcome"] as? String == "skipped")
        // The account without a role is unaffected.
        #expect(row(rows, "\(DaemonFixture.account)/us-east-1", "kms:ListAliases")?["outcome"] as? String == "passed")
    }

    @Test("no credentials anywhere in the chain: ✗ naming the chain, exit 1")
    func noCredentials() async throws {
        let fixture = try await makeFixture(withRole: false)
        defer {
            fixture.remove()
            fixture.emulator.stop()
        }
        let home = fixture.folder.path("home")
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        let result = try CommandRunner.run(
            ["check", "--config", fixture.configPath],
            environment: [
                "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "",
                "HOME": home, "AWS_SHARED_CREDENTIALS_FILE": home + "/none", "AWS_CONFIG_FILE": home + "/none",
                "AWS_WEB_IDENTITY_TOKEN_FILE": "", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "",
                "AWS_CONTAINER_CREDENTIALS_FULL_URI": "", "AWS_EC2_METADATA_DISABLED": "true",
            ])
        #expect(result.exitCode == 1, "\(result)")
        #expect(result.stdout.contains("✗ credentials"), "\(result)")
        #expect(
            result.stdout.contains("the credential chain (environment, web identity, shared-file profile"), "\(result)")
        #expect(result.stdout.contains("fix: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"), "\(result)")
        #expect(result.stdout.contains("– kms:ListAliases"), "\(result)")
    }

    /// The environment of a check whose only credential source is the profile `ops` of `config`.
    private func profileEnvironment(_ fixture: DaemonFixture, config: String) throws -> [String: String] {
        let home = fixture.folder.path("home")
        try FileManager.default.createDirectory(atPath: home + "/.aws", withIntermediateDirectories: true)
        try config.write(toFile: home + "/.aws/config", atomically: true, encoding: .utf8)
        return [
            "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "ops",
            "HOME": home, "AWS_SHARED_CREDENTIALS_FILE": home + "/none", "AWS_CONFIG_FILE": home + "/.aws/config",
            "AWS_WEB_IDENTITY_TOKEN_FILE": "", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": "", "AWS_EC2_METADATA_DISABLED": "false",
            // Instance metadata would answer here if the chain fell through (it must not): nothing listens.
            "AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:1", "AWS_REGION": "us-east-1",
        ]
    }

    @Test("AWS_PROFILE with credential_process: check names that source and passes")
    func credentialProcessProfile() async throws {
        let fixture = try await makeFixture(withRole: false)
        defer {
            fixture.remove()
            fixture.emulator.stop()
        }
        let keys = DaemonFixture.awsEnvironment
        let json =
            #"{"Version":1,"AccessKeyId":"\#(keys["AWS_ACCESS_KEY_ID"]!)","SecretAccessKey":"\#(keys["AWS_SECRET_ACCESS_KEY"]!)"}"#
        let environment = try profileEnvironment(
            fixture, config: "[profile ops]\ncredential_process = echo '\(json)'\n")
        let result = try CommandRunner.run(
            ["check", "--json", "--config", fixture.configPath], environment: environment)
        #expect(result.exitCode == 0, "\(result)")
        let credentials = row(try checks(result), "\(DaemonFixture.account)/us-east-1", "credentials")
        #expect(
            credentials?["detail"] as? String == "shared-file profile ops (credential_process of profile ops)",
            "\(result)")
    }

    @Test("an IAM Identity Center profile is refused in one line naming profile and key; no fallback, exit 1")
    func ssoProfileRefused() async throws {
        let fixture = try await makeFixture(withRole: false)
        defer {
            fixture.remove()
            fixture.emulator.stop()
        }
        let environment = try profileEnvironment(
            fixture, config: "[profile ops]\nsso_start_url = https://corp.awsapps.com/start\nsso_role_name = Ops\n")
        let result = try CommandRunner.run(
            ["check", "--json", "--config", fixture.configPath], environment: environment)
        #expect(result.exitCode == 1, "\(result)")
        let rows = try checks(result)
        let credentials = row(rows, "\(DaemonFixture.account)/us-east-1", "credentials")
        #expect(credentials?["outcome"] as? String == "failed")
        let detail = credentials?["detail"] as? String ?? ""
        #expect(detail.hasPrefix("shared-file profile ops: sso_start_url is set"), "\(result)")
        #expect(!detail.contains("instance metadata") && !detail.contains("\n"), "\(result)")
        #expect(row(rows, "\(DaemonFixture.account)/us-east-1", "kms:ListAliases")?["outcome"] as? String == "skipped")
    }

    @Test("AWS_ENDPOINT_URL_KMS with user info or plain http to another host: exit 2, one line naming it")
    func endpointEnvironmentRefused() throws {
        let fixture = try CLIFixture()
        defer { fixture.remove() }
        for value in ["http://127.0.0.1@192.0.2.2:80", "http://kms.example.com"] {
            let result = try fixture.run(
                ["check"], environment: DaemonFixture.awsEnvironment.merging(["AWS_ENDPOINT_URL_KMS": value]) { $1 })
            #expect(result.exitCode == 2, "\(result)")
            #expect(result.stderr.contains("AWS_ENDPOINT_URL_KMS"), "\(result)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(result)")
        }
    }

    @Test("the AWS endpoint does not answer: exit 3, each AWS row unreachable with the endpoint named")
    func endpointDown() throws {
        // Port 1 on loopback: nothing listens there, so every call is refused.
        let fixture = try CLIFixture(extraConfig: "[aws]\nendpoint_url = \"http://127.0.0.1:1\"\nmax_attempts = 2")
        defer { fixture.remove() }
        let result = try fixture.run(["check", "--json"], environment: DaemonFixture.awsEnvironment)
        #expect(result.exitCode == 3, "\(result)")
        let rows = try checks(result)
        let identity = try #require(row(rows, "\(CLIFixture.account)/eu-west-1", "caller identity"))
        #expect(identity["outcome"] as? String == "unreachable", "\(identity)")
        #expect((identity["fix"] as? String)?.contains("http://127.0.0.1:1") == true, "\(identity)")
        #expect(row(rows, "config", "file")?["outcome"] as? String == "passed")
    }

    @Test("a file that is not a database: ✗ naming it, exit 1, and the file is left byte for byte")
    func notADatabase() async throws {
        let fixture = try await makeFixture(withRole: false)
        defer {
            fixture.remove()
            fixture.emulator.stop()
        }
        let garbage = Data("this is not SQLite, but someone's notes\n".utf8)
        try garbage.write(to: URL(fileURLWithPath: fixture.databasePath))
        let result = try fixture.cli(["check", "--json"])
        #expect(result.exitCode == 1, "\(result)")
        let rows = try checks(result)
        let schema = try #require(row(rows, "database", "schema"))
        #expect(schema["outcome"] as? String == "failed")
        #expect((schema["detail"] as? String)?.contains("not an SQLite database") == true, "\(schema)")
        #expect(row(rows, "\(DaemonFixture.account)/us-east-1", "kms:ListAliases")?["outcome"] as? String == "passed")
        #expect(FileManager.default.contents(atPath: fixture.databasePath) == garbage)
        #expect(!FileManager.default.fileExists(atPath: fixture.databasePath + "-wal"))
    }

    @Test("a bad config is still exit 2 with the one-line error")
    func badConfig() throws {
        let fixture = try CLIFixture(extraConfig: "colour = \"red\"")
        defer { fixture.remove() }
        let result = try fixture.run(["check"])
        #expect(result.exitCode == 2, "\(result)")
        #expect(result.stderr.contains("colour"), "\(result)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result)")
    }
}
