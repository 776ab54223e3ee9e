import Foundation
import TransferKeyTestSupport

/// The truth check that ends a scenario: every row of the ledger against what AWS (the emulator) shows for its
/// key and aliases, in the row's account and region.
extension DaemonFixture {
    /// One line per row that AWS contradicts; empty when every row is true.
    ///
    /// - `cleaned`: the key is pending deletion (or gone) and no prefixed alias targets it.
    /// - `key_scheduled`: the key is pending deletion (or gone).
    /// - `deleted`: AWS no longer knows the key.
    /// - `creating`, `active`, `cleanup_due`, `stuck`, `refused`: the key is not pending deletion (nothing
    ///   scheduled it yet, or nothing may).
    /// - `cancelled`: the key itself is not pending deletion (a primary may wait in `PendingReplicaDeletion` when a
    ///   replica's deletion was cancelled outside: AWS keeps it until the replica goes).
    /// `cli` runs `list --json` where the ledger is (e.g. in the daemon's mount namespace); ours by default.
    func rowsContradictedByAWS(cli: (([String]) throws -> CommandResult)? = nil) throws -> [String] {
        var keyStates: [String: [String: String]] = [:]
        var aliases: [String: [(name: String, target: String)]] = [:]
        var problems: [String] = []
        let listed = try (cli ?? self.cli)(["list", "--json"])
        guard listed.exitCode == 0 else { throw CommandRunnerError(message: "list failed: \(listed)") }
        let rows = try parseJSON(listed.stdout)["transfers"] as? [[String: Any]] ?? []
        for row in rows {
            guard let importID = row["import_id"] as? String, let state = row["state"] as? String,
                let account = row["account_id"] as? String, let region = row["region"] as? String,
                let keyID = row["key_id"] as? String
            else { continue }
            let place = "\(account)/\(region)"
            if keyStates[place] == nil {
                keyStates[place] = try self.keyStates(account: account, region: region)
                aliases[place] = try seed(["aliases"], account: account, region: region).split(separator: "\n")
                    .compactMap { line in
                        let parts = line.split(separator: " ").map(String.init)
                        return parts.count == 2 ? (parts[0], parts[1]) : nil
                    }
            }
            let keyState = keyStates[place]?[keyID] ?? "gone"
            let pending = keyState == "PendingDeletion" || keyState == "PendingReplicaDeletion"
            let prefixed = (aliases[place] ?? []).filter { $0.target == keyID && $0.name.hasPrefix(Self.prefix) }
            var wrong: String?
            switch state {
            case "cleaned":
                if !pending && keyState != "gone" {
                    wrong = "the key is \(keyState)"
                } else if !prefixed.isEmpty {
                    wrong = "AWS still lists \(prefixed.map(\.name))"
                }
            case "key_scheduled":
                if !pending && keyState != "gone" { wrong = "the key is \(keyState)" }
            case "deleted":
                if keyState != "gone" { wrong = "AWS still knows the key (\(keyState))" }
            case "cancelled":
                if keyState == "PendingDeletion" { wrong = "the key is pending deletion" }
            default:
                if pending { wrong = "the key is \(keyState): something scheduled it" }
            }
            if let wrong { problems.append("\(importID) says \(state) in \(place), but \(wrong)") }
        }
        return problems
    }
}
