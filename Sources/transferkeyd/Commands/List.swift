import ArgumentParser
import Foundation
import TransferKeyCore
import TransferKeyStore

/// `transferkeyd list`: the transfers, oldest first.
struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List transfers, oldest first.",
        discussion: """
            States: \(TransferState.allCases.map(\.rawValue).joined(separator: ", ")). In the table, an import \
            id longer than \(List.importColumnWidth) characters (a discovered key's, say) is cut with …; \
            `--json` and `show` give it whole, and `show` also takes the key id.
            """)

    /// The widest import id the table shows whole.
    static let importColumnWidth = 28

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("Only transfers in this state.", valueName: "state"))
    var state: String?

    @Option(help: ArgumentHelp("Only transfers of this account.", valueName: "acct"))
    var account: String?

    @Flag(help: "Print one JSON document: {\"count\": N, \"transfers\": [...]}.")
    var json = false

    func run() async throws {
        let loaded = try global.loadConfig()
        let (stateFilter, accountFilter) = try { () throws -> (TransferState?, String?) in
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
        }()
        let store = try loaded.openExistingStore()
        let transfers = try store.transfers(state: stateFilter, accountID: accountFilter)
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
                Self.cut(transfer.importID, to: Self.importColumnWidth), transfer.state.rawValue,
                transfer.origin.rawValue, transfer.accountID, transfer.region, transfer.keyID ?? "-",
                HumanText.at(transfer.deadlineAt, now: now), transfer.lastError ?? "")
        }
        Console.out(table.rendered)
    }

    /// `text` when it fits in `width` characters, else its first `width - 1` and `…`.
    static func cut(_ text: String, to width: Int) -> String {
        text.count <= width ? text : String(text.prefix(width - 1)) + "…"
    }
}
