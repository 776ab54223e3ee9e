import Foundation
import Testing
import TransferKeyTestSupport

/// One bad command line: what must be named in the one-line error.
struct BadInput: CustomTestStringConvertible, Sendable {
    var arguments: [String]
    var fragment: String
    var testDescription: String { arguments.joined(separator: " ") }
}

private let good = [
    "--import-id", "imp-9", "--account", "111122223333", "--region", "eu-west-1", "--key-id",
    "1234abcd-12ab-34cd-56ef-1234567890ab",
]

/// `track` with one flag replaced (or added).
private func track(replacing flag: String, with value: String) -> [String] {
    var arguments = ["track"] + good
    if let index = arguments.firstIndex(of: flag) {
        arguments[index + 1] = value
    } else {
        arguments += [flag, value]
    }
    return arguments
}

private let badInputs: [BadInput] = [
    BadInput(arguments: track(replacing: "--account", with: "11112222333"), fragment: "--account"),
    BadInput(arguments: track(replacing: "--account", with: "1111222233334"), fragment: "--account"),
    BadInput(arguments: track(replacing: "--account", with: "abcdabcdabcd"), fragment: "--account"),
    BadInput(arguments: track(replacing: "--region", with: "eu-west"), fragment: "--region"),
    BadInput(arguments: track(replacing: "--region", with: "EU-WEST-1"), fragment: "--region"),
    BadInput(arguments: track(replacing: "--key-id", with: "not-a-key"), fragment: "--key-id"),
    BadInput(
        arguments: track(
            replacing: "--key-id", with: "arn:aws:kms:eu-west-1:999988887777:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
        fragment: "--key-id"),
    BadInput(
        arguments: track(
            replacing: "--key-id", with: "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
        fragment: "--key-id"),
    BadInput(arguments: track(replacing: "--alias", with: "alias/prod-db"), fragment: "--alias"),
    BadInput(arguments: track(replacing: "--alias", with: "alias/aws/ebs"), fragment: "--alias"),
    BadInput(arguments: track(replacing: "--alias", with: "alias/cadoresponse-kms-alias-1"), fragment: "--alias"),
    BadInput(arguments: track(replacing: "--alias", with: "alias/CadoResponse-KMS-Alias x"), fragment: "--alias"),
    BadInput(arguments: track(replacing: "--snapshot", with: "snap-XYZ"), fragment: "--snapshot"),
    BadInput(arguments: track(replacing: "--snapshot", with: "vol-0123456789abcdef0"), fragment: "--snapshot"),
    BadInput(arguments: track(replacing: "--snapshot-account", with: "12"), fragment: "--snapshot-account"),
    BadInput(arguments: track(replacing: "--snapshot-region", with: "mars-1"), fragment: "--snapshot-region"),
    BadInput(arguments: track(replacing: "--max-age", with: "10x"), fragment: "--max-age"),
    BadInput(arguments: track(replacing: "--max-age", with: "-5m"), fragment: "--max-age"),
    BadInput(arguments: track(replacing: "--import-id", with: ""), fragment: "--import-id"),
    BadInput(
        arguments: track(replacing: "--import-id", with: String(repeating: "x", count: 129)), fragment: "--import-id"),
    BadInput(arguments: track(replacing: "--import-id", with: "imp\u{7}bell"), fragment: "--import-id"),
    BadInput(arguments: ["track"] + good + ["--frobnicate"], fragment: "--frobnicate"),
    BadInput(arguments: ["track", "--import-id", "imp-9"], fragment: "--account"),
    BadInput(arguments: ["list", "--state", "pending"], fragment: "--state"),
    BadInput(arguments: ["list", "--account", "1"], fragment: "--account"),
    BadInput(arguments: ["show", "no-such-import"], fragment: "no-such-import"),
    BadInput(arguments: ["complete", "no-such-import"], fragment: "no-such-import"),
    BadInput(arguments: ["retry", "no-such-import"], fragment: "no-such-import"),
    BadInput(arguments: ["track"] + good.map { $0 == "imp-9" ? "imp-1" : $0 }, fragment: "imp-1"),
]

@Suite("CLI: bad input exits 2 with one line naming the field, and changes nothing")
struct BadInputTests {
    @Test("bad command lines", arguments: badInputs)
    func badCommandLine(input: BadInput) throws {
        let fixture = try CLIFixture()
        defer { fixture.remove() }
        #expect(try fixture.track().exitCode == 0)
        let before = fixture.databaseBytes()

        let result = try fixture.run(input.arguments)
        #expect(result.exitCode == 2, "\(result)")
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "one line expected: \(result.stderr)")
        #expect(result.stderr.contains(input.fragment), "\(result.stderr)")
        #expect(result.stdout.isEmpty)
        #expect(fixture.databaseBytes() == before)
    }

    @Test("an unknown subcommand exits 2 naming it")
    func unknownCommand() throws {
        let result = try CommandRunner.run(["frobnicate"])
        #expect(result.exitCode == 2, "\(result)")
        #expect(result.stderr.contains("frobnicate"))
        #expect(result.stderr.split(separator: "\n").count == 1)
    }

    @Test("a misspelt option names the subcommand's help and the option meant; a missing one, the subcommand's help")
    func subcommandHelpHints() throws {
        let misspelt = try CommandRunner.run(["status", "--jsno"])
        #expect(misspelt.exitCode == 2, "\(misspelt)")
        #expect(misspelt.stderr.contains("did you mean \"--json\"?"), "\(misspelt.stderr)")
        #expect(misspelt.stderr.contains("see `transferkeyd status --help`"), "\(misspelt.stderr)")
        let hlep = try CommandRunner.run(["list", "--hlep"])
        #expect(hlep.exitCode == 2 && hlep.stderr.contains("did you mean \"--help\"?"), "\(hlep.stderr)")
        let missing = try CommandRunner.run(["accept", "imp-1"])
        #expect(missing.exitCode == 2, "\(missing)")
        #expect(missing.stderr.contains("--reason") && missing.stderr.contains("see `transferkeyd accept --help`"))
        #expect(missing.stderr.split(separator: "\n").count == 1, "\(missing.stderr)")
    }

    @Test("a table or key in the wrong case gets a did-you-mean: [AWS] is [aws]")
    func wrongCaseKey() throws {
        let fixture = try CLIFixture(extraConfig: "Poll_Interval = \"30s\"")
        defer { fixture.remove() }
        let result = try fixture.track()
        #expect(result.exitCode == 2 && result.stderr.contains("did you mean \"poll_interval\"?"), "\(result.stderr)")
        let table = try CLIFixture()
        defer { table.remove() }
        let text = try String(contentsOfFile: table.configPath, encoding: .utf8)
        try CLIFixture.write(text + "\n[AWS]\nmax_attempts = 3\n", to: table.configPath)
        let upper = try table.track()
        #expect(upper.exitCode == 2 && upper.stderr.contains("did you mean \"aws\"?"), "\(upper.stderr)")
    }

    @Test(
        "bad config files",
        arguments: [
            ("poll_intervall = \"30s\"", "poll_intervall"),
            ("pending_window_days = \"7\"", "pending_window_days"),
            ("pending_window_days = 31", "pending_window_days"),
            ("alias_prefix = \"alias/aws/x\"", "alias_prefix"),
            ("alias_prefix = \"Cado\"", "alias_prefix"),
            ("poll_interval = \"30 s\"", "poll_interval"),
            ("dry_run = yes", "line"),
        ])
    func badConfig(line: String, fragment: String) throws {
        let fixture = try CLIFixture(extraConfig: line)
        defer { fixture.remove() }
        let result = try fixture.track()
        #expect(result.exitCode == 2, "\(result)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        #expect(result.stderr.contains(fragment), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: fixture.databasePath), "no database may be created")
    }

    @Test("a bad account in [[accounts]] is named with its index")
    func badAccount() throws {
        let fixture = try CLIFixture()
        defer { fixture.remove() }
        try CLIFixture.write(
            "database = \"\(fixture.databasePath)\"\n[[accounts]]\nid = \"1234\"\nregions = [\"eu-west-1\"]\n",
            to: fixture.configPath)
        let result = try fixture.run(["list"])
        #expect(result.exitCode == 2, "\(result)")
        #expect(result.stderr.contains("accounts[1].id"), "\(result.stderr)")
    }

    @Test("a missing or world-writable config is refused with exit 2")
    func unsafeConfig() throws {
        let fixture = try CLIFixture()
        defer { fixture.remove() }
        let missing = try CommandRunner.run(["list", "--config", fixture.folder.path("nope.toml")])
        #expect(missing.exitCode == 2, "\(missing)")
        #expect(missing.stderr.contains("nope.toml"))
        try FileManager.default.setAttributes([.posixPermissions: 0o666], ofItemAtPath: fixture.configPath)
        let writable = try fixture.run(["list"])
        #expect(writable.exitCode == 2, "\(writable)")
        #expect(writable.stderr.contains("world-writable"))
    }

    @Test("TRANSFERKEYD_CONFIG is used when --config is absent")
    func configFromEnvironment() throws {
        let fixture = try CLIFixture()
        defer { fixture.remove() }
        #expect(try fixture.track().exitCode == 0)
        let result = try CommandRunner.run(["list"], environment: ["TRANSFERKEYD_CONFIG": fixture.configPath])
        #expect(result.exitCode == 0, "\(result)")
        #expect(result.stdout.contains("imp-1"))
    }

    @Test("--config is global: before the subcommand as after it, as --config=F too")
    func configBeforeSubcommand() throws {
        let fixture = try CLIFixture()
        defer { fixture.remove() }
        #expect(try fixture.track().exitCode == 0)
        for arguments in [
            ["--config", fixture.configPath, "list"], ["--config=\(fixture.configPath)", "list", "--json"],
            ["list", "--config", fixture.configPath],
        ] {
            let result = try CommandRunner.run(arguments, environment: ["TRANSFERKEYD_CONFIG": ""])
            #expect(result.exitCode == 0, "\(arguments): \(result)")
            #expect(result.stdout.contains("imp-1"), "\(arguments): \(result)")
        }
        // Before the subcommand it still names a missing file.
        let missing = try CommandRunner.run(["--config", fixture.folder.path("nope.toml"), "list"])
        #expect(missing.exitCode == 2, "\(missing)")
        #expect(missing.stderr.contains("nope.toml"), "\(missing)")
    }

    @Test("a file that is not a database is refused with exit 2 naming the database, and left byte-identical")
    func notADatabase() throws {
        let fixture = try CLIFixture()
        defer { fixture.remove() }
        try FileManager.default.createDirectory(
            atPath: fixture.folder.path("state"), withIntermediateDirectories: true)
        let junk = Data("this is not a database, it is a grocery list\n".utf8)
        try junk.write(to: URL(fileURLWithPath: fixture.databasePath))
        for arguments in [["list"], ["status"], ["migrate"], ["track"] + good] {
            let result = try fixture.run(arguments)
            #expect(result.exitCode == 2, "\(arguments): \(result)")
            #expect(result.stderr.split(separator: "\n").count == 1)
            #expect(result.stderr.contains("invalid database"), "\(result.stderr)")
        }
        #expect(FileManager.default.contents(atPath: fixture.databasePath) == junk)
    }

    @Test("a database from a newer transferkeyd is refused with exit 2 naming the database, and left byte-identical")
    func newerSchema() throws {
        let fixture = try CLIFixture()
        defer { fixture.remove() }
        #expect(try fixture.track().exitCode == 0)
        _ = try fixture.sqlite("insert into grdb_migrations (identifier) values ('9999_from_the_future')")
        let before = fixture.databaseBytes()
        for arguments in [["list"], ["migrate"], ["track"] + good] {
            let result = try fixture.run(arguments)
            #expect(result.exitCode == 2, "\(arguments): \(result)")
            #expect(result.stderr.contains("newer"), "\(result.stderr)")
        }
        #expect(fixture.databaseBytes() == before)
    }

    @Test("read commands on a database that does not exist yet exit 3 and create nothing")
    func noDatabaseYet() throws {
        let fixture = try CLIFixture()
        defer { fixture.remove() }
        let result = try fixture.run(["list"])
        #expect(result.exitCode == 3, "\(result)")
        #expect(result.stderr.contains("migrate"), "says what to do: \(result.stderr)")
        let status = try fixture.run(["status"])
        #expect(status.exitCode == 1, "status reports the daemon down instead: \(status)")
        #expect(status.stdout.contains("NOT running"))
        #expect(!FileManager.default.fileExists(atPath: fixture.databasePath))
    }
}
