import Foundation
import TransferKeyTestSupport

/// Helpers for the crash matrix and the kill storm: failpoints in CLI commands, AWS's own view
/// of every key and alias, and the emulator's request log counted per key.
extension DaemonFixture {
    /// `transferkeyd args… --config <ours>` with `environment` added (e.g. `TRANSFERKEYD_FAILPOINT`).
    func cli(_ arguments: [String], environment: [String: String]) throws -> CommandResult {
        try CommandRunner.run(
            arguments + ["--config", configPath],
            environment: Self.awsEnvironment.merging(environment) { _, new in new })
    }

    /// Every transfer, as `list --json` prints it.
    func transfers() throws -> [[String: Any]] {
        let result = try cli(["list", "--json"])
        guard result.exitCode == 0 else { throw CommandRunnerError(message: "list failed: \(result)") }
        return try parseJSON(result.stdout)["transfers"] as? [[String: Any]] ?? []
    }

    /// The transfers `status --json` reports as stuck.
    func stuckTransfers() throws -> [Any] {
        try parseJSON(try cli(["status", "--json"]).stdout)["stuck"] as? [Any] ?? ["status --json has no stuck list"]
    }

    /// `KeyState` of every customer-managed key in one account × region, by key id.
    func keyStates(account: String = DaemonFixture.account, region: String = "us-east-1") throws -> [String: String] {
        var states: [String: String] = [:]
        for line in try seed(["key-states"], account: account, region: region).split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2 { states[String(parts[0])] = String(parts[1]) }
        }
        return states
    }

    /// The aliases under the prefix still in one account × region.
    func prefixedAliases(account: String = DaemonFixture.account, region: String = "us-east-1") throws -> Set<String> {
        try aliasNames(account: account, region: region).filter { $0.hasPrefix(Self.prefix) }
    }

    /// `ScheduleKeyDeletion` requests in the emulator's log, as `(accepted, refused)` counts by
    /// `"<key id> <region>"`: accepted means AWS answered 200, refused any other answer
    /// (e.g. `KMSInvalidStateException` for a key already pending deletion).
    func scheduleCalls() async throws -> (accepted: [String: Int], refused: [String: Int]) {
        var accepted: [String: Int] = [:]
        var refused: [String: Int] = [:]
        for request in try await emulator.requestLog() where request.key == "kms.ScheduleKeyDeletion" {
            let name = "\(request.keyID ?? "?") \(request.region)"
            if request.status == 200 {
                accepted[name, default: 0] += 1
            } else {
                refused[name, default: 0] += 1
            }
        }
        return (accepted, refused)
    }

    /// The import id the orphan scanner gives a key it adopts (`OrphanScanner.importID`).
    static func orphanImportID(keyID: String, region: String = "us-east-1") -> String {
        "orphan-\(account)-\(region)-\(keyID)"
    }
}
