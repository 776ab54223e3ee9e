import ArgumentParser
import Foundation
import TransferKeyCore
import TransferKeyStore

/// `transferkeyd track`: records a key the import platform created.
struct Track: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Record a temporary key that an import just created.",
        discussion: """
            Call this as soon as the platform has created the key and its alias, before the import \
            copies anything: from then on the daemon guarantees the key is scheduled for deletion \
            once the import ends — when the snapshots named with --snapshot reach `completed` or \
            `error`, when `transferkeyd complete` is called, or at the latest after --max-age.

            Example:
              transferkeyd track --import-id imp-42 \\
                --account 111122223333 --region eu-west-1 \\
                --key-id 1234abcd-12ab-34cd-56ef-1234567890ab \\
                --alias alias/CadoResponse-KMS-Alias-imp-42 \\
                --snapshot snap-0123456789abcdef0
            """)

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("Unique id of the import (1–128 printable characters).", valueName: "id"))
    var importID: String

    @Option(help: ArgumentHelp("AWS account id (12 digits) that owns the key.", valueName: "acct"))
    var account: String

    @Option(help: ArgumentHelp("Region of the key, e.g. eu-west-1.", valueName: "region"))
    var region: String

    @Option(help: ArgumentHelp("Key id (UUID or mrk-…) or key ARN.", valueName: "key"))
    var keyID: String

    @Option(help: ArgumentHelp("The key's alias; must start with the configured alias_prefix.", valueName: "name"))
    var alias: String?

    @OptionGroup var importEnd: ImportEndOptions

    @Flag(help: "Print the recorded transfer as JSON.")
    var json = false

    func run() async throws {
        let loaded = try global.loadConfig()
        let config = loaded.config
        // Every input is checked before the database is opened: bad input changes nothing.
        let new = try { () throws -> NewTransfer in
            let importID = try Validator.importID(importID, field: "--import-id")
            let account = try Validator.accountID(account, field: "--account")
            let region = try Validator.region(region, field: "--region")
            let key = try Validator.keyReference(keyID, field: "--key-id")
            if case .arn(_, _, let arnRegion, let arnAccount, _) = key {
                guard arnAccount == account else {
                    throw InputError(
                        field: "--key-id", "the key ARN's account \(arnAccount) is not --account \(account)")
                }
                guard arnRegion == region else {
                    throw InputError(field: "--key-id", "the key ARN's region \(arnRegion) is not --region \(region)")
                }
            }
            let alias = try alias.map { try Validator.aliasName($0, prefix: config.aliasPrefix, field: "--alias") }
            let end = try importEnd.validated(config: config)
            // A bare key id gets the ARN AWS would report, so auditors coming with an ARN (CloudTrail)
            // find the transfer with `show ARN` or SQL on key_arn.
            var keyARN = KeyReference.arn(keyID: key.keyID, accountID: account, region: region)
            if case .arn(let text, _, _, _, _) = key { keyARN = text }
            return NewTransfer(
                importID: importID, accountID: account, region: region, keyID: key.keyID, keyARN: keyARN,
                aliasName: alias, origin: .tracked, snapshotIDs: end.snapshotIDs,
                snapshotAccountID: end.snapshotAccountID,
                snapshotRegion: end.snapshotRegion, deadline: end.deadline)
        }()
        if !config.accounts.isEmpty {
            if let account = config.account(new.accountID) {
                if !account.regions.contains(new.region) {
                    Console.error(
                        "warning: region \(new.region) is not in the regions of account \(new.accountID) in the config; "
                            + "the daemon cleans this key up all the same, but never scans \(new.region) for orphans")
                }
            } else {
                Console.error(
                    "warning: account \(new.accountID) is not in the config's [[accounts]]; "
                        + "the daemon will reach it with the base credentials only")
            }
        }
        let store = try loaded.openStore()
        let record: TransferRecord
        do {
            record = try store.record(new, now: Date(), actor: cliActor())
        } catch let error as TransferStoreError where error.code == .duplicateImportID {
            // A reused import id: the key offered now is not recorded. Say so on the existing transfer, so
            // that a later `complete ID` does not report the old key's state as if it were this key's.
            if let existing = try? store.transfer(matching: new.importID), existing.importID == new.importID,
                existing.keyID != new.keyID
            {
                try? store.note(
                    .trackRefused, for: existing.importID,
                    detail: [
                        "reason": "import id reused", "key_id": .string(new.keyID),
                        "account_id": .string(new.accountID), "region": .string(new.region),
                        "alias_name": .string(new.aliasName),
                    ], postponeUntil: nil, now: Date(), actor: cliActor())
            }
            throw CLIFailure.from(error)
        } catch {
            throw CLIFailure.from(error)
        }
        if json {
            Console.out(
                record.json(snapshots: try store.snapshots(importID: record.importID)).prettyText)
        } else {
            Console.out(
                "tracked \(record.importID): key \(record.keyID ?? "-") in \(record.accountID)/\(record.region), cleanup by \(HumanText.at(record.deadlineAt, now: Date())) at the latest"
            )
        }
    }
}
