import Foundation
import TransferKeyTestSupport

/// Helpers for `DaemonScenarioTests`: a private emulator, configs with several accounts and
/// regions, and the platform's view of any account × region.
extension DaemonFixture {
    /// One `[[accounts]]` table of the config.
    struct AccountEntry {
        var id: String
        var roleARN: String?
        var regions: [String]
    }

    /// A fixture on an emulator of its own, so fault rules, orphans and many keys cannot reach
    /// (or be reached by) the suites sharing `Emulator.shared()`. The caller stops the emulator.
    static func isolated(
        extraConfig: String = "", accounts: [AccountEntry] = [AccountEntry(id: account, regions: ["us-east-1"])],
        maxAttempts: Int = 3, scanInterval: String = "10m"
    ) async throws -> DaemonFixture {
        let emulator = try await Emulator.start()
        do {
            let fixture = try await DaemonFixture(extraConfig: extraConfig, emulator: emulator)
            try fixture.writeConfig(
                extraConfig: extraConfig, accounts: accounts, maxAttempts: maxAttempts, scanInterval: scanInterval)
            return fixture
        } catch {
            emulator.stop()
            throw error
        }
    }

    /// Runs `body` with an isolated fixture (`isolated(extraConfig:)`), then removes its folder and stops its
    /// emulator, also when `body` throws.
    static func withIsolated(extraConfig: String, _ body: (DaemonFixture) async throws -> Void) async throws {
        let fixture = try await isolated(extraConfig: extraConfig)
        defer {
            fixture.remove()
            fixture.emulator.stop()
        }
        try await body(fixture)
    }

    /// Replaces the config with one naming `accounts` (each with its role and regions).
    func writeConfig(
        extraConfig: String, accounts: [AccountEntry], maxAttempts: Int, scanInterval: String = "10m"
    ) throws {
        let tables = accounts.map { entry in
            var lines = ["[[accounts]]", "id = \"\(entry.id)\""]
            if let role = entry.roleARN { lines.append("role_arn = \"\(role)\"") }
            lines.append("regions = [\(entry.regions.map { "\"\($0)\"" }.joined(separator: ", "))]")
            return lines.joined(separator: "\n")
        }
        try CLIFixture.write(
            """
            database = "\(databasePath)"
            poll_interval = "1s"
            scan_interval = "\(scanInterval)"
            \(extraConfig)

            [aws]
            endpoint_url = "\(emulator.endpoint)"
            max_attempts = \(maxAttempts)

            \(tables.joined(separator: "\n\n"))
            """, to: configPath)
    }

    /// `aws_seed.py --account ACCOUNT --region REGION arguments…`.
    @discardableResult
    func seed(_ arguments: [String], account: String, region: String) throws -> String {
        try seed(["--account", account, "--region", region] + arguments)
    }

    func createKey(aliases: [String], account: String, region: String, multiRegion: Bool = false) throws -> String {
        try seed(
            ["create-key"] + aliases.flatMap { ["--alias", $0] } + (multiRegion ? ["--multi-region"] : []),
            account: account, region: region)
    }

    func keyState(_ keyID: String, account: String, region: String) throws -> String {
        String(try seed(["key-state", keyID], account: account, region: region).split(separator: " ").first ?? "")
    }

    func aliasNames(account: String, region: String) throws -> Set<String> {
        Set(
            try seed(["aliases"], account: account, region: region).split(separator: "\n").compactMap {
                $0.split(separator: " ").first.map(String.init)
            })
    }

    /// `transferkeyd track` with the usual arguments; returns the CLI's result.
    @discardableResult
    func track(
        _ importID: String, keyID: String, alias: String?, account: String = DaemonFixture.account,
        region: String = "us-east-1", extra: [String] = []
    ) throws -> CommandResult {
        try cli(
            ["track", "--import-id", importID, "--account", account, "--region", region, "--key-id", keyID]
                + (alias.map { ["--alias", $0] } ?? []) + extra)
    }

    /// The transfer's JSON (`show --json`): its `transfer` object and its events' kinds.
    func transfer(_ importID: String) throws -> (transfer: [String: Any], eventKinds: [String]) {
        let document = try parseJSON(try cli(["show", importID, "--json"]).stdout)
        let events = document["events"] as? [[String: Any]] ?? []
        return (document["transfer"] as? [String: Any] ?? [:], events.compactMap { $0["kind"] as? String })
    }

    /// SIGKILL, then waits for the exit.
    func killNow() async throws {
        guard let pid else { return }
        kill(pid, SIGKILL)
        _ = try await waitForExit(timeout: 15)
    }
}
