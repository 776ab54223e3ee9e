import ArgumentParser
import Foundation
import Logging
import TransferKeyCore
import TransferKeyDaemon
import TransferKeyStore

/// `transferkeyd cancel-deletion`: rescues a key within its pending window.
struct CancelDeletion: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel-deletion",
        abstract: "Rescue a key scheduled for deletion (CancelKeyDeletion), within its pending window.",
        discussion: """
            The transfer becomes `cancelled` and the daemon leaves the key alone from then on; on a \
            transfer already cancelled it does nothing and exits 0. AWS \
            leaves a cancelled key Disabled: enable it with `aws kms enable-key --key-id KEY` if you \
            need it. Its alias was removed at cleanup; re-create one outside the prefix if needed.
            """)

    @OptionGroup var global: GlobalOptions

    @OptionGroup var target: TransferIDArgument

    @Flag(help: "Print one JSON document: {import_id, state, key_id, cancelled} (cancelled false: it already was).")
    var json = false

    func run() async throws {
        let loaded = try global.loadConfig()
        let reference = try target.reference()
        let store = try loaded.openExistingStore(readOnly: false)
        guard let transfer = (try store.transfer(matching: reference)) else {
            throw CLIFailure.badInput(
                "transferkeyd: invalid ID: no transfer has import id, key id or key ARN \(reference)")
        }
        // Idempotent: a second cancel-deletion finds the work done and says so (exit 0).
        if transfer.state == .cancelled {
            if json {
                Console.out(Self.document(transfer.importID, keyID: transfer.keyID, cancelled: false))
            } else {
                Console.out("\(transfer.importID): already cancelled; nothing to do")
            }
            return
        }
        guard [.keyScheduled, .cleaned, .stuck].contains(transfer.state), let keyID = transfer.keyID else {
            throw CLIFailure.badInput(
                "transferkeyd: invalid ID: transfer \(transfer.importID) is \(transfer.state.rawValue); "
                    + "only a key scheduled for deletion (key_scheduled, cleaned, or stuck) can be rescued")
        }
        var logger = Logger(label: "transferkeyd.cancel")
        logger.logLevel = .warning
        let runtime = DaemonRuntime(
            config: loaded.config, store: store, environment: ProcessInfo.processInfo.environment, logger: logger)
        // The connection pool is closed before the command returns or throws (a detached Task would race exit()).
        try await runtime.closingAfter {
            let region = runtime.cloud.region(accountID: transfer.accountID, region: transfer.region)
            do {
                let key = try await region.describeKey(keyID)
                let regions = [transfer.region] + key.replicaRegions.filter { $0 != transfer.region }
                for name in regions {
                    let place = runtime.cloud.region(accountID: transfer.accountID, region: name)
                    var call = AWSCallRecord(
                        operation: "CancelKeyDeletion", region: name, keyID: keyID, requestID: nil)
                    do {
                        let receipt = try await place.cancelKeyDeletion(keyID)
                        call.requestID = receipt.requestID
                    } catch let error as CloudError where error.kind == .invalidState {
                        // An earlier cancel-deletion may have gone through without being recorded: AWS
                        // refuses to cancel a key that is not pending deletion. Ask the key.
                        let now = try await place.describeKey(keyID)
                        guard !now.keyState.isPendingDeletion else { throw error }
                        call.requestID = error.requestID
                        call.outcome = .alreadyCancelled
                        call.keyState = now.keyState
                        call.extra["aws_code"] = .string(error.code)
                    }
                    // Recorded, or the command fails saying so: AWS did it, and the audit must say who.
                    try store.recordAWSCall(call, for: transfer.importID, now: Date(), actor: cliActor())
                }
            } catch let error as CloudError {
                throw CLIFailure.unavailable(
                    "transferkeyd: CancelKeyDeletion for key \(keyID) in \(transfer.accountID)/\(transfer.region) failed: \(error)"
                )
            }
            _ = try store.apply(.deletionCancelled, to: transfer.importID, now: Date(), actor: cliActor())
            if json {
                Console.out(Self.document(transfer.importID, keyID: keyID, cancelled: true))
                return
            }
            Console.out(
                "\(transfer.importID): deletion of key \(keyID) cancelled; the key is Disabled (AWS leaves it so) — "
                    + "enable it with `aws kms enable-key --key-id \(keyID)` if you need it")
        }
    }

    static func document(_ importID: String, keyID: String?, cancelled: Bool) -> String {
        JSONValue.object([
            "import_id": .string(importID), "state": "cancelled", "key_id": .string(keyID),
            "cancelled": .bool(cancelled),
        ]).prettyText
    }
}
