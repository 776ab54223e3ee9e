import ArgumentParser
import Foundation
import TransferKeyCore
import TransferKeyStore

/// `transferkeyd list`: the transfers, oldest first.
struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List transfers, oldest first.",
        discussion: """
            States: \(TransferState.allCases.map(\.rawValue).joined(separator: ", ")); origins: \
            \(TransferOrigin.allCases.map(\.rawValue).joined(separator: ", ")). --state and --origin may be \
            given more than once (either one matches). Import ids are shown whole, so any of them can be \
            pasted into `show`, `retry` or `accept`; `show` also takes the key id.

            Examples:
              transferkeyd list --state stuck --state refused
              transferkeyd list --origin discovered --json
            """)

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("Only transfers in this state (repeatable).", valueName: "state"))
    var state: [String] = []

    @Option(
        help: ArgumentHelp(
            "Only transfers of this origin: tracked, created or discovered (repeatable).", valueName: "origin"))
    var origin: [String] = []

    @Option(help: ArgumentHelp("Only transfers of this account.", valueName: "acct"))
    var account: String?

    @Flag(help: "Print one JSON document: {\"count\": N, \"transfers\": [...]}.")
    var json = false

    func run() async throws {
        let loaded = try global.loadConfig()
        let states = try state.map { text throws -> TransferState in
            guard let value = TransferState(rawValue: text) else {
                throw InputError(
                    field: "--state",
                    "must be one of \(TransferState.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(text)\""
                )
            }
            return value
        }
        let origins = try origin.map { text throws -> TransferOrigin in
            guard let value = TransferOrigin(rawValue: text) else {
                throw InputError(
                    field: "--origin",
                    "must be one of \(TransferOrigin.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(text)\""
                )
            }
            return value
        }
        let accountFilter = try account.map { try Validator.accountID($0, field: "--account") }
        let store = try loaded.openExistingStore()
        // One state filters in SQL; several, and origins, on the rows read.
        let transfers = try store.transfers(state: states.count == 1 ? states[0] : nil, accountID: accountFilter)
            .filter {
                (states.isEmpty || states.contains($0.state)) && (origins.isEmpty || origins.contains($0.origin))
            }
        if json {
            Console.out(
                JSONValue.object([
                    "count": .int(Int64(transfers.count)), "transfers": .array(transfers.map { $0.json() }),
                ]).prettyText)
            return
        }
        guard !transfers.isEmpty else {
            Console.out("no transfers")
            return
        }
        let now = Date()
        var table = TextTable("IMPORT", "STATE", "ORIGIN", "ACCOUNT", "REGION", "KEY", "DEADLINE", "LAST ERROR")
        for transfer in transfers {
            table.add(
                transfer.importID, transfer.state.rawValue, transfer.origin.rawValue, transfer.accountID,
                transfer.region, transfer.keyID ?? "-", HumanText.at(transfer.deadlineAt, now: now),
                transfer.lastError ?? "")
        }
        Console.out(table.rendered)
    }
}
