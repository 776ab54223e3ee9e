import ArgumentParser
import Foundation
import TransferKeyCore
import TransferKeyStore

/// `transferkeyd close`: an operator closes a record that was wrong, with a reason in the audit trail.
struct Close: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Close a wrong record (stuck or refused) as cancelled, with a reason; AWS is not touched.",
        discussion: """
            For a record that can never be finished as written: `track` was given the wrong --region \
            or key id (the transfer is stuck: the key was never found), or a refused discovered key \
            that you found is not a transfer key. The transfer becomes `cancelled` (event record_closed, \
            with who and why) and the daemon leaves it alone from then on; nothing is asked of AWS. If a \
            key still needs cleaning, track it again under a new import id with the right region.

            Only stuck and refused transfers can be closed; a closed one stays closed (a second close \
            exits 0 and changes nothing).

            Example:
              transferkeyd close imp-41 --reason "tracked in us-east-1, key is in eu-west-1"
            """)

    @OptionGroup var global: GlobalOptions

    @OptionGroup var target: TransferIDArgument

    @Option(name: .long, help: "Why the record is wrong (ticket, what was found); recorded in the audit trail.")
    var reason: String

    @Flag(help: "Print one JSON document: {import_id, state, closed: true|false}.")
    var json = false

    func run() async throws {
        let loaded = try global.loadConfig()
        let reference = try target.reference()
        let given = try OperatorReason(reason, purpose: "why the record is wrong")
        let (why, actor, person) = (given.text, given.actor, given.person)
        let store = try loaded.openExistingStore(readOnly: false)
        guard let transfer = try store.transfer(matching: reference) else {
            throw CLIFailure.badInput(
                "transferkeyd: invalid ID: no transfer has import id, key id or key ARN \(reference)")
        }
        var closed = false
        switch transfer.state {
        case .cancelled:
            break
        case .stuck, .refused:
            _ = try store.apply(
                .recordClosed(by: person, reason: why), to: transfer.importID, now: Date(), actor: actor,
                detail: ["reason": .string(why), "by": .string(person), "was": .string(transfer.state.rawValue)])
            closed = true
        default:
            throw CLIFailure.badInput(
                "transferkeyd: invalid ID: transfer \(transfer.importID) is \(transfer.state.rawValue); only a stuck "
                    + "or refused transfer can be closed (the daemon is still working on this one)")
        }
        if json {
            Console.out(
                JSONValue.object([
                    "import_id": .string(transfer.importID), "state": "cancelled", "closed": .bool(closed),
                ]).prettyText)
        } else {
            Console.out(
                closed
                    ? "\(transfer.importID): closed by \(person) (was \(transfer.state.rawValue)); now cancelled, AWS untouched"
                    : "\(transfer.importID): already cancelled; nothing to do")
        }
    }
}
