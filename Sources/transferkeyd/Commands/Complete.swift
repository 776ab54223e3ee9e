import ArgumentParser
import Foundation
import TransferKeyCore
import TransferKeyStore

/// `transferkeyd complete`: the platform says an import finished.
struct Complete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Say that an import finished, so its key is cleaned up now.",
        discussion: """
            The daemon then re-checks the key and schedules it for deletion within about a second. \
            Calling it again, or for a transfer already being cleaned up, changes nothing and exits 0.
            """)

    @OptionGroup var global: GlobalOptions

    @OptionGroup var target: TransferIDArgument

    @Flag(help: "The import failed; the key is cleaned up all the same.")
    var failed = false

    @Flag(help: "Print one JSON document: {import_id, state, changed, refused_key_ids}.")
    var json = false

    func run() async throws {
        let loaded = try global.loadConfig()
        let reference = try target.reference()
        let store = try loaded.openExistingStore(readOnly: false)
        let result = try store.complete(reference, failed: failed, now: Date(), actor: cliActor())
        let record = result.transfer
        // `track` refused another key under this import id: whatever this transfer's state, that key is
        // not recorded and nothing here cleans it up.
        let refused = try store.refusedTrackKeyIDs(importID: record.importID).filter { $0 != record.keyID }
        if json {
            Console.out(
                JSONValue.object([
                    "import_id": .string(record.importID), "state": .string(record.state.rawValue),
                    "changed": .bool(result.changed),
                    "refused_key_ids": .array(Array(Set(refused)).sorted().map { .string($0) }),
                ]).prettyText)
        } else if result.changed {
            Console.out("\(record.importID): import \(failed ? "failed" : "succeeded"); cleanup is due now")
        } else {
            Console.out("\(record.importID): already \(record.state.rawValue); nothing changed")
        }
        if !refused.isEmpty {
            throw CLIFailure.problem(
                "transferkeyd: import id \(record.importID) was reused: `track` refused key(s) "
                    + "\(Array(Set(refused)).sorted().joined(separator: ", ")), which this transfer (key "
                    + "\(record.keyID ?? "-")) does not cover; track them under a new import id")
        }
    }
}
