import Foundation
import Logging
import Synchronization
import TransferKeyCore
import TransferKeyStore

/// The watch over keys the daemon scheduled: every `scan_interval`, transfers whose key is pending deletion are
/// looked up in CloudTrail (`TransferWorker.rescueIfUsed`), and any attempt to use the key cancels its deletion.
///
/// A pass looks at no more than `lookupsPerPass(interval:)` keys of one account × region, those it looked at least
/// recently first. CloudTrail allows 2 `LookupEvents` a second per account and region, shared with everyone who
/// reads the trail; a watch that spent all of it would keep the daemon busy for ever at scale (5,000 keys pending:
/// 42 minutes a pass, back to back) and starve the people who need the trail. A tenth of the quota looks at every
/// key each pass up to 120 keys pending per account × region (at the default 10 minutes), and at 5,000 still looks
/// at each every 7 hours of its 7 to 30 days pending.
public final class PendingDeletionWatch: Sendable {
    /// The watch's share of CloudTrail's quota per account × region, in lookups per second: a tenth of 2.
    static let lookupsPerSecond = 0.2
    /// However short the interval, a pass may look at this many keys of an account × region (the pacer still holds
    /// CloudTrail's 2 a second).
    static let minimumLookupsPerPass = 5

    let store: TransferStore
    let worker: TransferWorker
    let logger: Logger
    let interval: TimeInterval
    /// When each transfer's key was last looked at (this process's passes; a restart looks at every key anew).
    private let lastLooked = Mutex<[String: ContinuousClock.Instant]>([:])

    /// Creates the watch over `store`'s transfers, acting through `worker`, a pass every `interval` seconds.
    public init(store: TransferStore, worker: TransferWorker, logger: Logger, interval: TimeInterval) {
        self.store = store
        self.worker = worker
        self.logger = logger
        self.interval = interval
    }

    /// How many keys of one account × region a pass every `interval` seconds looks at.
    static func lookupsPerPass(interval: TimeInterval) -> Int {
        max(minimumLookupsPerPass, Int((lookupsPerSecond * interval).rounded(.up)))
    }

    /// The transfers a pass looks at, in order: per account × region, those never looked at (oldest row first), then
    /// those looked at longest ago, at most `lookupsPerPass(interval:)` of each.
    static func chosen(
        _ pending: [TransferRecord], lastLooked: [String: ContinuousClock.Instant], interval: TimeInterval
    ) -> [TransferRecord] {
        let perPass = lookupsPerPass(interval: interval)
        var lanes: [String: [TransferRecord]] = [:]
        var order: [String] = []
        for transfer in pending {
            let lane = "\(transfer.accountID)/\(transfer.region)"
            if lanes[lane] == nil { order.append(lane) }
            lanes[lane, default: []].append(transfer)
        }
        return order.flatMap { lane in
            // A stable sort: rows never looked at keep their order (by id) ahead of every row looked at.
            let ranked = lanes[lane, default: []].enumerated().sorted { left, right in
                switch (lastLooked[left.element.importID], lastLooked[right.element.importID]) {
                case (nil, nil): return left.offset < right.offset
                case (nil, _): return true
                case (_, nil): return false
                case (let a?, let b?): return a == b ? left.offset < right.offset : a < b
                }
            }
            return ranked.prefix(perPass).map(\.element)
        }
    }

    /// One pass; returns the import ids whose deletion it cancelled.
    @discardableResult
    public func watch() async -> [String] {
        let pending: [TransferRecord]
        do {
            pending = try store.transfersWithKeysPendingDeletion()
        } catch {
            logger.error("cannot read the keys pending deletion", metadata: ["error": "\(error)"])
            return []
        }
        let looked = lastLooked.withLock { known in
            // Rows no longer pending are forgotten.
            let live = Set(pending.map(\.importID))
            known = known.filter { live.contains($0.key) }
            return known
        }
        var cancelled: [String] = []
        for transfer in Self.chosen(pending, lastLooked: looked, interval: interval) {
            if Task.isCancelled { break }
            let outcome = await worker.rescueIfUsed(transfer)
            lastLooked.withLock { $0[transfer.importID] = .now }
            if case .advanced(.cancelled)? = outcome { cancelled.append(transfer.importID) }
        }
        return cancelled
    }
}
