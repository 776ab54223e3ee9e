import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import TransferKeyCore
import TransferKeyStore

/// The watch over keys the daemon scheduled: every `scan_interval`, transfers whose key is pending deletion are
/// looked up in CloudTrail (`TransferWorker.rescueIfUsed`), and any attempt to use the key cancels its deletion.
///
/// CloudTrail allows 2 `LookupEvents` a second per account and region, shared with everyone who reads the trail. A
/// watch that spent all of it would, at scale, keep the daemon busy for ever (5,000 keys pending: 42 minutes a pass,
/// back to back) and throttle the people who need the trail. So a pass looks at no more than
/// `lookupsPerPass(interval:)` keys of an account × region (a fifth of the interval in seconds: 120 at the default
/// 10 minutes), least recently looked first, one every 5 s at most (`spacing`); account × regions side by side. Up
/// to 120 keys pending, each is looked at every pass; at 5,000, each every 14 hours of its 7 to 30 days pending, for
/// 0.1 lookups a second on average: a twentieth of the quota. Beside that rotation, every key within `lastHours` of
/// its deletion date is looked at in every pass, at CloudTrail's own pace: an attempt to use a key made before its
/// last 6 hours is seen at the latest when they begin, one made in them within a pass — before AWS deletes it.
public final class PendingDeletionWatch: Sendable {
    /// The watch's share of CloudTrail's quota per account × region, in lookups per second: a tenth of 2.
    static let lookupsPerSecond = 0.2
    /// However short the interval, a pass may look at this many keys of an account × region (the pacer still holds
    /// CloudTrail's 2 a second).
    static let minimumLookupsPerPass = 5
    /// A key this close to its deletion date (or with none recorded) is looked at in every pass.
    static let lastHours: TimeInterval = 6 * 3_600

    /// One account × region's keys for a pass: those in their last hours, then the rotation's share.
    struct Lane: Equatable {
        var lastHours: [TransferRecord] = []
        var rotation: [TransferRecord] = []
    }

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
        guard interval.isFinite else { return .max }
        return max(minimumLookupsPerPass, Int(min((lookupsPerSecond * interval).rounded(.up), Double(Int.max / 2))))
    }

    /// The pause between two lookups of a pass: none for a few keys (they are looked at together, as soon as the pass
    /// starts), otherwise the pass spread over its interval, so the watch's share of the quota is a rate and not a
    /// burst at CloudTrail's 2 a second (whoever else reads the trail in that minute would be throttled).
    static func spacing(lookups: Int, interval: TimeInterval) -> Duration {
        guard lookups > minimumLookupsPerPass else { return .zero }
        return .milliseconds(Int64(min(1 / lookupsPerSecond, interval / Double(lookups)) * 1000))
    }

    /// The transfers a pass looks at, by account × region: every key within `lastHours` of its deletion date at
    /// `now` (soonest first), then of the others those never looked at (oldest row first) and those looked at
    /// longest ago, at most `lookupsPerPass(interval:)` of them.
    static func chosen(
        _ pending: [TransferRecord], lastLooked: [String: ContinuousClock.Instant], interval: TimeInterval, now: Date
    ) -> [Lane] {
        let perPass = lookupsPerPass(interval: interval)
        return TransferRecord.lanes(of: pending).map { all in
            let due = { (transfer: TransferRecord) in
                transfer.keyDeletionDate.map { $0.timeIntervalSince(now) <= lastHours } ?? true
            }
            let last = all.filter(due).sorted {
                ($0.keyDeletionDate ?? .distantPast) < ($1.keyDeletionDate ?? .distantPast)
            }
            // A stable sort: rows never looked at keep their order (by id) ahead of every row looked at.
            let ranked = all.filter { !due($0) }.enumerated().sorted { left, right in
                switch (lastLooked[left.element.importID], lastLooked[right.element.importID]) {
                case (nil, nil): return left.offset < right.offset
                case (nil, _): return true
                case (_, nil): return false
                case (let a?, let b?): return a == b ? left.offset < right.offset : a < b
                }
            }
            return Lane(lastHours: last, rotation: ranked.prefix(perPass).map(\.element))
        }
    }

    /// One pass; returns the import ids whose deletion it cancelled. `everyKey` (an operator's `reconcile`) looks at
    /// every key pending deletion at once, at CloudTrail's own pace, instead of the daemon's share.
    @discardableResult
    public func watch(everyKey: Bool = false) async -> [String] {
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
        let lanes = Self.chosen(
            pending, lastLooked: looked, interval: everyKey ? .infinity : interval, now: worker.clock())
        // Account × regions side by side: each has a quota of its own.
        return await withTaskGroup(of: [String].self) { group in
            for lane in lanes { group.addTask { await self.look(at: lane, spaced: !everyKey) } }
            var cancelled: [String] = []
            for await ids in group { cancelled += ids }
            return cancelled
        }
    }

    /// Looks at one account × region's chosen transfers in turn: those in their last hours at CloudTrail's pace (the
    /// pacer's), then the rotation spaced; returns those whose deletion it cancelled.
    private func look(at lane: Lane, spaced: Bool) async -> [String] {
        let spacing = spaced ? Self.spacing(lookups: lane.rotation.count, interval: interval) : .zero
        var cancelled: [String] = []
        let turns: [(transfer: TransferRecord, spaced: Bool)] =
            lane.lastHours.map { ($0, false) } + lane.rotation.map { ($0, true) }
        for (index, turn) in turns.enumerated() {
            if index > 0, turn.spaced, spacing > .zero {
                // A stopping daemon does not wait out the pass: the keys left are looked at after the next start.
                do {
                    try await cancelWhenGracefulShutdown { try await Task.sleep(for: spacing) }
                } catch {
                    break
                }
            }
            if Task.isCancelled || Task.isShuttingDownGracefully { break }
            let outcome = await worker.rescueIfUsed(turn.transfer)
            lastLooked.withLock { $0[turn.transfer.importID] = .now }
            if case .advanced(.cancelled)? = outcome { cancelled.append(turn.transfer.importID) }
        }
        return cancelled
    }
}
