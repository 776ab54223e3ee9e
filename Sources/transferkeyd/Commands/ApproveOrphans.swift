import ArgumentParser
import Foundation
import TransferKeyStore

/// `transferkeyd approve-orphans`: lifts the orphan-alarm pause.
struct ApproveOrphans: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "approve-orphans",
        abstract: "Lift the orphan-alarm pause, so discovered orphans are cleaned up again.",
        discussion: """
            When one scan finds more than orphan_alarm_threshold unrecorded prefixed aliases, the \
            daemon records them but pauses their cleanup: many orphans at once can mean a wrong \
            alias_prefix or another system using it. Review them — origin `discovered`, state `active` \
            while younger than orphan_grace, `cleanup_due` after it (`transferkeyd list --state active`, \
            `transferkeyd list --state cleanup_due`) — and run this once they really are abandoned transfer keys.
            """)

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let loaded = try global.loadConfig()
        let store = try loaded.openExistingStore(readOnly: false)
        let lifted = try store.approveOrphans(now: Date(), actor: cliActor())
        Console.out(lifted ? "orphan cleanup resumed" : "orphan cleanup was not paused; nothing changed")
    }
}
