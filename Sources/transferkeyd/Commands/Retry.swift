import ArgumentParser
import Foundation
import TransferKeyCore
import TransferKeyStore

/// `transferkeyd retry`: puts a stuck transfer back to work.
struct Retry: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Move a stuck transfer back to work.",
        discussion: """
            Use it once the cause shown by `transferkeyd show ID` is fixed (a missing IAM permission, \
            say). The key is re-checked against every safety rule before anything is deleted. A \
            `refused` transfer can be retried too, after an operator has made the key safe.
            """)

    @OptionGroup var global: GlobalOptions

    @OptionGroup var target: TransferIDArgument

    @Flag(help: "Print one JSON document: {import_id, state}.")
    var json = false

    func run() async throws {
        let loaded = try global.loadConfig()
        let reference = try target.reference()
        let store = try loaded.openExistingStore(readOnly: false)
        let record = try store.retry(reference, now: Date(), actor: cliActor())
        if json {
            Console.out(
                JSONValue.object(["import_id": .string(record.importID), "state": .string(record.state.rawValue)])
                    .prettyText)
            return
        }
        Console.out("\(record.importID): back to \(record.state.rawValue); the daemon picks it up within a second")
    }
}
