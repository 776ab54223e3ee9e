import ArgumentParser
import Foundation
import TransferKeyCore
import TransferKeyStore

/// `transferkeyd audit`: checks on the audit trail.
struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the tamper-evident audit trail.", subcommands: [Verify.self, InitKey.self])

    /// `transferkeyd audit init-key`: creates the audit key file the config names.
    struct InitKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "init-key",
            abstract: "Create the audit key file (audit_key_file) that keys the audit chain.",
            discussion: """
                Writes a new random key (mode 0440) to audit_key_file, never replacing one. Keying starts \
                at the next event of the database (event 1 for a new one); events already written stay \
                verifiable as the plain chain they are. A database whose chain is already keyed needs its \
                own key back: refused (exit 3). Run it as root (`make install` does), then give the \
                daemon's group read access: chgrp transferkeyd FILE.
                """)

        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let loaded = try global.loadConfig()
            guard let keyPath = loaded.config.auditKeyFile.flatMap({ _ in loaded.auditKeyPath }) else {
                throw CLIFailure.badInput(
                    "transferkeyd: invalid audit_key_file: not set in \(loaded.path); set it to where the key goes "
                        + "(e.g. /etc/transferkeyd/audit.key)")
            }
            if FileManager.default.fileExists(atPath: keyPath) {
                let key = try AuditKey.load(path: keyPath)
                Console.out("\(keyPath): kept (key \(key.fingerprint), keyed from event \(key.fromSeq))")
                return
            }
            var from: Int64 = 1
            if FileManager.default.fileExists(atPath: loaded.databasePath) {
                let state = try AppDatabase.openExisting(path: loaded.databasePath, readOnly: true, pooled: false)
                    .keyingState()
                if let keyed = state.firstKeyed {
                    throw CLIFailure.unavailable(
                        "transferkeyd: the audit chain of \(loaded.databasePath) is keyed from event \(keyed): "
                            + "restore its key file to \(keyPath); a new key cannot vouch for it")
                }
                from = state.lastSeq + 1
            }
            let key = try AuditKey.create(path: keyPath, fromSeq: from)
            Console.out("\(keyPath): new key \(key.fingerprint), keying from event \(key.fromSeq)")
        }
    }

    /// `transferkeyd audit verify`: walks the hash chain.
    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify the audit chain; exit 1 naming the first edited, deleted or reordered event.",
            discussion: """
                Every event stores prev_hash and hash = SHA-256(prev_hash ‖ the row's canonical \
                encoding), so an edited, deleted or reordered row breaks the chain at that row. With \
                audit_key_file, every event also carries mac = HMAC-SHA-256(key, hash): a chain \
                recomputed without the key fails at the first forged event. Without the key, a keyed \
                chain is reported as not verified (exit 1).
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
            // Rows the daemon would act on are checked against the events that recorded them.
            let rows = try store.disagreeingRows()
            let rowsJSON = JSONValue.array(
                rows.map { ["import_id": .string($0.importID), "reason": .string($0.reason)] }
            ).text
            for row in rows where !json {
                Console.out("row \(row.importID) disagrees with its audit trail: \(row.reason)")
            }
            switch verification {
            case .intact(let count):
                if json {
                    Console.out("{\"events\":\(count),\"ok\":\(rows.isEmpty),\"rows\":\(rowsJSON)}")
                } else {
                    Console.out("audit chain intact: \(plural(count, "event"))")
                }
                if !rows.isEmpty { throw ExitCode(1) }
            case .unverified(let count, let reason):
                if json {
                    Console.out(
                        "{\"events\":\(count),\"ok\":false,\"reason\":\"\(reason.replacingOccurrences(of: "\"", with: "'"))\"}"
                    )
                } else {
                    Console.out("audit chain NOT VERIFIED: \(plural(count, "event")) linked, but \(reason)")
                }
                throw ExitCode(1)
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
