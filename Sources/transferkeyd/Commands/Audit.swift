import ArgumentParser
import Foundation
import TransferKeyStore

/// `transferkeyd audit`: checks on the audit trail.
struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the tamper-evident audit trail.", subcommands: [Verify.self])

    /// `transferkeyd audit verify`: walks the hash chain.
    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify the audit chain; exit 1 naming the first edited, deleted or reordered event.",
            discussion: """
                Every event stores prev_hash and hash = SHA-256(prev_hash ‖ the row's canonical \
                encoding), so an edited, deleted or reordered row breaks the chain at that row.
                """)

        @OptionGroup var global: GlobalOptions

        @Flag(
            help:
                "Print one JSON document: {\"ok\": bool, \"events\": N} or {\"ok\": false, \"seq\": N, \"reason\": ...}."
        )
        var json = false

        func run() async throws {
            let loaded = try global.loadConfig()
            let store = try loaded.openExistingStore()
            let verification = try store.database.verifyAuditTrail()
            switch verification {
            case .intact(let count):
                Console.out(
                    json ? "{\"events\":\(count),\"ok\":true}" : "audit chain intact: \(plural(count, "event"))")
            case .broken(let seq, let reason):
                if json {
                    Console.out(
                        "{\"ok\":false,\"reason\":\"\(reason.replacingOccurrences(of: "\"", with: "'"))\",\"seq\":\(seq)}"
                    )
                } else {
                    Console.out("audit chain BROKEN at event \(seq): \(reason)")
                }
                throw ExitCode(1)
            }
        }
    }
}
