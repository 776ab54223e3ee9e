import Foundation
import Testing
import TransferKeyTestSupport

/// The package root, found from this file (Tests/TransferKeyCLITests/…).
private let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

private func readText(_ relativePath: String) throws -> String {
    try String(contentsOf: packageRoot.appending(path: relativePath), encoding: .utf8)
}

/// Runs `bash -c script` in the package root with `environment` added, for at most `timeout` seconds.
private func bash(_ script: String, environment: [String: String] = [:], timeout: TimeInterval) throws
    -> CommandResult
{
    try CommandRunner.runTool(
        "bash", ["-c", script], environment: environment, currentDirectory: packageRoot, timeout: timeout)
}

/// One README SQL recipe: its `# title` line and the shell text under it.
private struct Recipe {
    var title: String
    var script: String
}

/// The block after `<!-- sql-recipes` in the README: its `DB=`/`KEY=` set-up lines are dropped (a test
/// sets them), and each `# title` line starts a recipe.
private func readmeRecipes(_ readme: String) throws -> [Recipe] {
    let marker = try #require(readme.range(of: "<!-- sql-recipes"))
    let afterMarker = readme[marker.upperBound...]
    let open = try #require(afterMarker.range(of: "```sh\n"))
    let close = try #require(afterMarker[open.upperBound...].range(of: "\n```"))
    var recipes: [Recipe] = []
    for line in afterMarker[open.upperBound..<close.lowerBound].split(separator: "\n", omittingEmptySubsequences: false)
    {
        if line.hasPrefix("# ") {
            recipes.append(Recipe(title: String(line.dropFirst(2)), script: ""))
        } else if var last = recipes.popLast() {
            last.script += line + "\n"
            recipes.append(last)
        } else {
            #expect(line.hasPrefix("DB=") || line.hasPrefix("KEY=") || line.isEmpty, "unexpected set-up line: \(line)")
        }
    }
    return recipes
}

@Suite("Documentation")
struct DocumentationTests {
    @Test("docs/ARCHITECTURE.md names only paths and Type.member symbols that exist, so the map follows the code")
    func architectureMapIsTrue() throws {
        let map = try readText("docs/ARCHITECTURE.md")
        let quoted = map.split(separator: "`", omittingEmptySubsequences: false).enumerated()
            .filter { $0.offset % 2 == 1 }.map { String($0.element) }
        let modules = [
            "TransferKeyCore/", "TransferKeyStore/", "TransferKeyAWS/", "TransferKeyDaemon/", "transferkeyd/",
        ]
        var paths = 0
        for path in quoted where modules.contains(where: path.hasPrefix) || path.hasPrefix("Tests/") {
            // `TransferKeyStore/Transfers/NewTransfer` names a type by its file, without the extension.
            let relative = (path.hasPrefix("Tests/") ? "" : "Sources/") + path
            let exists = [relative, relative + ".swift"].contains {
                FileManager.default.fileExists(atPath: packageRoot.appending(path: $0).path)
            }
            #expect(exists, "docs/ARCHITECTURE.md names \(path), which is not in the tree")
            paths += 1
        }
        #expect(paths >= 15)

        let sources = try FileManager.default.subpathsOfDirectory(atPath: packageRoot.appending(path: "Sources").path)
            .filter { $0.hasSuffix(".swift") }
            .map { try readText("Sources/" + $0) }
        let symbol = /^([A-Z][A-Za-z0-9]*)\.([a-z][A-Za-z0-9]*)/
        var symbols = 0
        for text in quoted where !text.hasSuffix(".swift") {
            guard let match = text.firstMatch(of: symbol) else { continue }
            let (type, member) = (String(match.output.1), String(match.output.2))
            let declaration = try Regex("(struct|class|enum|actor|protocol|extension) \(type)\\b")
            let memberDeclaration = try Regex("(func|var|let|case) \(member)\\b")
            let declares = sources.contains {
                $0.contains(type) && $0.contains(member) && $0.contains(declaration) && $0.contains(memberDeclaration)
            }
            #expect(declares, "docs/ARCHITECTURE.md names \(text): no file declares \(type) with a member \(member)")
            symbols += 1
        }
        #expect(symbols >= 20)
    }

    @Test(
        "make demo's story finishes, its progress is line-oriented off a terminal, and the README's SQL recipes run as written against its database"
    )
    func demoAndReadmeRecipes() throws {
        let keep = try TemporaryDirectory(prefix: "transferkeyd-demo-keep")
        defer { keep.remove() }
        let demo = try bash(
            "scripts/demo.sh",
            environment: [
                "TRANSFERKEYD_BIN": try CommandRunner.binaryPath(), "TRANSFERKEYD_DEMO_KEEP": keep.url.path,
                "TRANSFERKEYD_CONFIG": "",
            ], timeout: 300)
        #expect(demo.exitCode == 0, "\(demo)")
        #expect(demo.stdout.contains("== done: keys pending deletion, aliases gone"), "\(demo.stdout)")
        #expect(!demo.stdout.contains("\r") && !demo.stdout.contains("\u{1B}["), "no terminal control off a terminal")
        #expect(demo.stdout.contains("imp-1=cleaned"), "the progress lines show the states: \(demo.stdout)")
        #expect(
            demo.stdout.contains("keeping the database: \(keep.url.path)/transferkeyd.db"),
            "the demo says where its database went, for the SQL recipes: \(demo.stdout)")
        // It left nothing running: the emulator's port is closed and the daemon's pid is gone.
        let port = try #require(demo.stdout.firstMatch(of: /emulator at http:\/\/127\.0\.0\.1:(\d+)/)?.1)
        let probe = try bash("curl -s -m 5 http://127.0.0.1:\(port)/moto-api/ >/dev/null", timeout: 30)
        #expect(probe.exitCode != 0, "the demo's emulator still answers on \(port)")
        let pid = try #require(demo.stdout.firstMatch(of: /daemon pid (\d+)/).flatMap { Int32($0.1) })
        #expect(kill(pid, 0) == -1 && errno == ESRCH, "the demo's daemon (pid \(pid)) is gone")

        let database = keep.path("transferkeyd.db")
        func sql(_ query: String) throws -> String {
            try bash("sqlite3 \"$DB\" \"$Q\"", environment: ["DB": database, "Q": query], timeout: 30).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let key = { (importID: String) in try sql("select key_id from transfers where import_id = '\(importID)'") }
        let (key1, key2, decoy) = (try key("imp-1"), try key("imp-2"), try key("imp-3"))
        let orphan = try sql("select key_id from transfers where origin = 'discovered'")
        #expect(!key1.isEmpty && !orphan.isEmpty && !decoy.isEmpty)

        // What each recipe must show on the demo's database, by a word of its title.
        let expectations: [(title: String, mustContain: [String], mustNotContain: [String])] = [
            (
                "Who did what", ["cli:", "daemon", "recorded", "ScheduleKeyDeletion", "DeleteAlias", "key_scheduled"],
                []
            ),
            ("scheduled for deletion", [key1, key2, orphan, "2026", "imp-1"], [decoy]),
            ("Failures by AWS error code", ["KMSInternalException", "ScheduleKeyDeletion"], []),
            ("Transfers by state", ["cleaned|3", "refused|1"], []),
            ("waiting for a person", ["imp-3|refused", "alias/prod-db"], ["imp-1"]),
        ]
        let recipes = try readmeRecipes(try readText("README.md"))
        #expect(
            recipes.count == expectations.count, "every README recipe has an expectation here: \(recipes.map(\.title))")
        for recipe in recipes {
            let expected = try #require(
                expectations.first { recipe.title.contains($0.title) }, "no expectation for recipe \(recipe.title)")
            let result = try bash(
                "set -euo pipefail\n" + recipe.script, environment: ["DB": database, "KEY": key1], timeout: 30)
            #expect(result.exitCode == 0 && result.stderr.isEmpty, "\(recipe.title): \(result)")
            for text in expected.mustContain {
                #expect(result.stdout.contains(text), "\(recipe.title) shows \(text): \(result.stdout)")
            }
            // `KEY` may be a key ARN too (auditors come with ARNs from CloudTrail): same answer.
            if recipe.script.contains("$KEY") {
                let arn = try sql("select key_arn from transfers where import_id = 'imp-1'")
                #expect(arn.hasPrefix("arn:aws:kms:us-east-1:123456789012:key/\(key1)"), "\(arn)")
                let byARN = try bash(
                    "set -euo pipefail\n" + recipe.script, environment: ["DB": database, "KEY": arn], timeout: 30)
                #expect(byARN.stdout == result.stdout, "\(recipe.title) by ARN: \(byARN)")
            }
            for text in expected.mustNotContain {
                #expect(!result.stdout.contains(text), "\(recipe.title) leaves out \(text): \(result.stdout)")
            }
        }
        // Every mutating call on the demo's database carries AWS's request id, which "Who did what" selects.
        let withoutID = try sql(
            "select count(*) from events where kind = 'aws_call' and json_extract(detail, '$.request_id') is null")
        #expect(withoutID == "0")
        let withID = try sql(
            "select count(*) from events where kind = 'aws_call' and json_extract(detail, '$.request_id') is not null")
        #expect((Int(withID) ?? 0) >= 6, "schedule + delete for three cleaned keys: \(withID)")
    }

    @Test("the man page names every subcommand and every config key, and groff finds nothing to warn about")
    func manPage() throws {
        let page = try readText("docs/transferkeyd.8")
        let help = try CommandRunner.run(["--help"])
        #expect(help.exitCode == 0)
        let afterHeading = try #require(help.stdout.range(of: "SUBCOMMANDS:"))
        let subcommands = help.stdout[afterHeading.upperBound...].split(separator: "\n")
            .filter { $0.hasPrefix("  ") && !$0.hasPrefix("   ") }
            .compactMap { $0.split(separator: " ").first.map(String.init) }
            .filter { $0.first?.isLowercase == true }
        #expect(subcommands.count >= 14, "\(subcommands)")
        for name in subcommands {
            let escaped = name.replacingOccurrences(of: "-", with: "\\-")
            #expect(
                page.contains(".B \(escaped)") || page.contains(".BR \(escaped)") || page.contains(".BR \"\(escaped)"),
                "the man page documents `\(name)`")
        }
        let example = try readText("examples/config.toml")
        let keys = example.split(separator: "\n").compactMap { line -> String? in
            let text = line.hasPrefix("# ") ? line.dropFirst(2) : line[...]
            guard let equals = text.firstIndex(of: "="), text.first?.isLetter == true else { return nil }
            let key = text[..<equals].trimmingCharacters(in: .whitespaces)
            return key.allSatisfy { $0.isLowercase || $0 == "_" } ? key : nil
        }
        #expect(keys.count >= 14, "\(keys)")
        for key in Set(keys) { #expect(page.contains(key), "the man page documents config key `\(key)`") }

        let groff = try bash(
            "groff -man -ww -z docs/transferkeyd.8", environment: ["LC_ALL": "C.UTF-8"], timeout: 30)
        #expect(groff.exitCode == 0 && groff.stderr.isEmpty, "\(groff)")
    }

    @Test("the credential order is the same in the README, the man page and check --help, and the chain's own")
    func credentialOrder() throws {
        // The chain's order (CredentialProviderChain.standard), as each text names the sources.
        let order = ["environment", "web identity", "shared-file profile", "container", "instance metadata"]
        func positions(_ text: String, _ names: [String]) -> [Int] {
            names.map { name in
                text.range(of: name, options: .caseInsensitive).map {
                    text.distance(from: text.startIndex, to: $0.lowerBound)
                }
                    ?? -1
            }
        }
        let readme = try readText("README.md")
        let section = try #require(readme.range(of: "## Credentials"))
        let first = try #require(readme[section.upperBound...].range(of: "1. **"))
        let list = String(readme[first.lowerBound...].prefix(2_000))
        let man = try readText("docs/transferkeyd.8")
        let manLine = try #require(man.range(of: "Base credentials, looked up in the AWS SDKs' order"))
        let manText = String(man[manLine.lowerBound...].prefix(300))
        let help = try CommandRunner.run(["check", "--help"]).stdout.replacingOccurrences(of: "\n", with: " ")
            .replacingOccurrences(of: "  ", with: " ")
        for (name, text) in [("README", list), ("man page", manText), ("check --help", help)] {
            let found = positions(text, order)
            #expect(!found.contains(-1), "\(name) names every source: \(zip(order, found).map { "\($0)=\($1)" })")
            #expect(
                found == found.sorted(),
                "\(name) lists them in the chain's order: \(zip(order, found).map { "\($0)=\($1)" })")
        }
    }

    @Test(
        "the README's exit-code table is what the binary does, and the man page, --help and migrate --help agree with it"
    )
    func exitCodes() throws {
        let readme = try readText("README.md")
        let marker = try #require(readme.range(of: "<!-- exit-codes"))
        var table: [Int32: String] = [:]
        for line in readme[marker.upperBound...].split(separator: "\n").dropFirst().prefix(while: { $0.hasPrefix("|") })
        {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count == 2, let code = Int32(cells[0].trimmingCharacters(in: CharacterSet(charactersIn: "`")))
            else { continue }
            table[code] = cells[1]
        }
        #expect(table.keys.sorted() == [0, 1, 2, 3], "\(table)")

        // One command per row, run for real: the code it exits with is the row's.
        let fixture = try CLIFixture()
        defer { fixture.remove() }
        #expect(try fixture.run(["policy"]).exitCode == 0)
        #expect(try fixture.run(["status"]).exitCode == 1, "the daemon is not running")
        #expect(try fixture.run(["list", "--state", "nope"]).exitCode == 2)
        #expect(try fixture.run(["list"]).exitCode == 3, "no database yet")
        // The database cases the table names under 2: not a database, and a newer schema.
        #expect(table[2]?.contains("not a transferkeyd database") == true && table[2]?.contains("newer") == true)
        #expect(table[3]?.contains("newer") == false, "a newer database is not 'unavailable'")
        #expect(try fixture.track().exitCode == 0)
        _ = try fixture.sqlite("insert into grdb_migrations (identifier) values ('9999_from_the_future')")
        #expect(try fixture.run(["list"]).exitCode == 2, "a newer database")
        #expect(try fixture.run(["migrate"]).exitCode == 2, "a newer database")
        try Data("not a database\n".utf8).write(to: URL(fileURLWithPath: fixture.databasePath))
        #expect(try fixture.run(["list"]).exitCode == 2, "not a database")

        // Nowhere else may say that a bad database is exit 3.
        let migrateHelp = try CommandRunner.run(["migrate", "--help"]).stdout
        #expect(migrateHelp.contains("exit 2") && !migrateHelp.contains("exit 3"), "\(migrateHelp)")
        #expect(!readme.contains("newer transferkeyd, is refused and left untouched (exit 3)"))
        let troubleshooting = try #require(readme.range(of: "## Troubleshooting"))
        #expect(readme[troubleshooting.upperBound...].contains("| exit 2 `invalid database: …`"))
        let page = try readText("docs/transferkeyd.8")
        let status = try #require(page.range(of: ".SH EXIT STATUS"))
        let section = String(page[status.upperBound...]).components(separatedBy: "\n.SH ").first ?? ""
        let pageCodes = section.split(separator: "\n").enumerated().compactMap { index, line -> Int32? in
            line == ".TP" ? nil : (line.hasPrefix(".B ") ? Int32(line.dropFirst(3)) : nil)
        }
        #expect(pageCodes == [0, 1, 2, 3], "\(section)")
        #expect(section.contains("newer transferkeyd"), "the man page puts a newer database under 2")
        let help = try CommandRunner.run(["--help"]).stdout
        for code in 0...3 { #expect(help.contains("\(code) "), "--help names exit code \(code)") }
    }
}
