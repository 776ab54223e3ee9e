import ArgumentParser
import Foundation
import TransferKeyCore
import TransferKeyStore

/// `transferkeyd list`: the transfers, oldest first.
struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List transfers, oldest first.",
        discussion: "States: \(TransferState.allCases.map(\.rawValue).joined(separator: ", ")).")

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("Only transfers in this state.", valueName: "state"))
    var state: String?

    @Option(help: ArgumentHelp("Only transfers of this account.", valueName: "acct"))
    var account: String?

    @Flag(help: "Print one JSON document: {\"count\": N, \"transfers\": [...]}.")
    var json = false

    func run() async throws {
        let loaded = try global.loadConfig()
        let (stateFilter, accountFilter) = try withExitCodes { () throws -> (TransferState?, String?) in
            let parsedState = try state.map { text throws -> TransferState in
                guard let value = TransferState(rawValue: text) else {
                    throw InputError(
                        field: "--state",
                        "must be one of \(TransferState.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(text)\""
                    )
                }
                return value
            }
            return (parsedState, try account.map { try Validator.accountID($0, field: "--account") })
        }
        let store = try loaded.openExistingStore()
        let transfers = try withExitCodes { try store.transfers(state: stateFilter, accountID: accountFilter) }
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
        var table = TextTable("IMPORT", "STATE", "ORIGIN", "ACCOUNT", "REGION", "KEY", "DEADLINE", "LAST ERROR")
        for transfer in transfers {
            table.add(
                transfer.importID, transfer.state.rawValue, transfer.origin.rawValue, transfer.accountID,
                transfer.region, transfer.keyID ?? "-", transfer.deadlineAt, transfer.lastError ?? "")
        }
        Console.out(table.rendered)
    }
}
