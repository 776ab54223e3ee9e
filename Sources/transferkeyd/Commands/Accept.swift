import ArgumentParser
import Foundation
import TransferKeyCore
import TransferKeyStore

/// `transferkeyd accept`: an operator vouches for a refused discovered key the rules could not prove.
struct Accept: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Accept a refused discovered key as a transfer key after review, so it is cleaned up.",
        discussion: """
            A prefixed alias is only a claim: the daemon adopts an unrecorded key by itself only when \
            the key carries transferkeyd's import-id tag, or was made shortly before its first prefixed \
            alias (orphan_max_key_lead) and is young enough to be a transfer key. Otherwise it records \
            the key `refused` (rule no_provenance, or discovered_disabled) and leaves it alone.

            Review it first (`transferkeyd show ID`: the key's age, aliases and the missing evidence). \
            If it really is an abandoned transfer key, accept it: who accepted it and why go into the \
            audit trail, and every other safety rule (foreign aliases, origin, other imports) is still \
            checked before the key is scheduled. Refusals about the key itself cannot be accepted: make \
            the key safe in AWS, then use `transferkeyd retry`.

            Example:
              transferkeyd accept ID --reason "leftover of imp-41, ticket 812"
            """)

    @OptionGroup var global: GlobalOptions

    @OptionGroup var target: TransferIDArgument

    @Option(name: .long, help: "Why the key may go (ticket, review notes); recorded in the audit trail.")
    var reason: String

    @Flag(help: "Print one JSON document: {import_id, state, accepted_by}.")
    var json = false

    func run() async throws {
        let loaded = try global.loadConfig()
        let reference = try target.reference()
        let given = try OperatorReason(reason, purpose: "why the key may go")
        let (why, actor, person) = (given.text, given.actor, given.person)
        let store = try loaded.openExistingStore(readOnly: false)
        let record = try store.acceptProvenance(reference, by: person, reason: why, now: Date(), actor: actor)
        if json {
            Console.out(
                JSONValue.object([
                    "import_id": .string(record.importID), "state": .string(record.state.rawValue),
                    "accepted_by": .string(person),
                ]).prettyText)
            return
        }
        Console.out(
            "\(record.importID): accepted by \(person); back to \(record.state.rawValue). Every other safety rule is"
                + " checked again before the key is scheduled; the daemon picks it up within a second")
    }
}
