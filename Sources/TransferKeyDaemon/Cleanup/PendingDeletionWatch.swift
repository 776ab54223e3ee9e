import Foundation
import Logging
import TransferKeyCore
import TransferKeyStore

/// The watch over keys the daemon scheduled: every `scan_interval`, each transfer whose key is pending deletion is
/// looked up in CloudTrail (`TransferWorker.rescueIfUsed`), and any attempt to use the key cancels its deletion.
/// CloudTrail's quota is 2 lookups per second per account and region; the pacer keeps to it.
public struct PendingDeletionWatch: Sendable {
    let store: TransferStore
    let worker: TransferWorker
    let logger: Logger

    /// Creates the watch over `store`'s transfers, acting through `worker`.
    public init(store: TransferStore, worker: TransferWorker, logger: Logger) {
        self.store = store
        self.worker = worker
        self.logger = logger
    }

    /// One pass over every key pending deletion; returns the import ids whose deletion it cancelled.
    @discardableResult
    public func watch() async -> [String] {
        let pending: [TransferRecord]
        do {
            pending = try store.transfersWithKeysPendingDeletion()
        } catch {
            logger.error("cannot read the keys pending deletion", metadata: ["error": "\(error)"])
            return []
        }
        var cancelled: [String] = []
        for transfer in pending {
            if Task.isCancelled { break }
            if case .advanced(.cancelled)? = await worker.rescueIfUsed(transfer) { cancelled.append(transfer.importID) }
        }
        return cancelled
    }
}
