import Foundation
import GRDB
import Testing
import TransferKeyCore
import TransferKeyStore

@testable import TransferKeyDaemon

private let start = Date(timeIntervalSince1970: 1_795_000_000)

/// `count` recorded transfers in `account`/`region`, named `prefix-1`…, their keys due for deletion in 7 days.
private func transfers(_ count: Int, region: String, prefix: String, store: TransferStore) throws -> [TransferRecord] {
    try (1...count).map { n in
        try store.record(
            NewTransfer(
                importID: "\(prefix)-\(n)", accountID: "111122223333", region: region,
                keyID: UUID().uuidString.lowercased(), aliasName: nil, origin: .tracked, snapshotIDs: [],
                deadline: start),
            now: start, actor: "test")
    }.map { transfer in
        var pending = transfer
        pending.keyDeletionDate = start.addingTimeInterval(7 * 86_400)
        return pending
    }
}

@Suite("The pending-deletion watch's share of CloudTrail")
struct PendingDeletionWatchTests {
    @Test("a pass looks at a tenth of CloudTrail's quota per account × region: 120 keys every 10 min, at least 5")
    func perPass() {
        #expect(PendingDeletionWatch.lookupsPerPass(interval: 600) == 120)
        #expect(PendingDeletionWatch.lookupsPerPass(interval: 1) == 5)
        #expect(PendingDeletionWatch.lookupsPerPass(interval: 3_600) == 720)
        #expect(PendingDeletionWatch.lookupsPerPass(interval: .infinity) == .max, "reconcile: every key")
    }

    @Test("a pass of more than a few keys is spread over its interval at 0.2 lookups a second; a few go at once")
    func spacing() {
        #expect(PendingDeletionWatch.spacing(lookups: 120, interval: 600) == .seconds(5))
        #expect(PendingDeletionWatch.spacing(lookups: 60, interval: 600) == .seconds(5))
        #expect(PendingDeletionWatch.spacing(lookups: 5, interval: 600) == .zero)
        #expect(PendingDeletionWatch.spacing(lookups: 6, interval: 6) == .seconds(1))
    }

    @Test("each account × region gets its own allowance; every key is looked at in turn, never-looked ones first")
    func rotation() throws {
        let store = TransferStore(try AppDatabase(DatabaseQueue()))
        let west = try transfers(130, region: "eu-west-1", prefix: "w", store: store)
        let east = try transfers(3, region: "us-east-1", prefix: "e", store: store)
        var looked: [String: ContinuousClock.Instant] = [:]
        let first = PendingDeletionWatch.chosen(west + east, lastLooked: looked, interval: 600, now: start)
            .flatMap(\.rotation)
        #expect(first.map(\.importID) == west.prefix(120).map(\.importID) + east.map(\.importID))

        var instant = ContinuousClock.now
        for transfer in first {
            instant = instant.advanced(by: .milliseconds(1))
            looked[transfer.importID] = instant
        }
        let second = PendingDeletionWatch.chosen(west + east, lastLooked: looked, interval: 600, now: start)
        // The ten never looked at, then the 110 looked at longest ago in this lane; all three of the other.
        #expect(second.allSatisfy { $0.lastHours.isEmpty }, "no key is near its deletion date")
        #expect(
            second.map { $0.rotation.map(\.importID) } == [
                west.suffix(10).map(\.importID) + west.prefix(110).map(\.importID), east.map(\.importID),
            ])
    }

    @Test("a key in its last 6 hours before deletion, or with no deletion date, is looked at in every pass")
    func lastHours() throws {
        let store = TransferStore(try AppDatabase(DatabaseQueue()))
        var keys = try transfers(200, region: "eu-west-1", prefix: "w", store: store)
        for index in keys.indices {
            // Deletion dates a day apart from 3 h from now; the last key has none recorded.
            keys[index].keyDeletionDate = start.addingTimeInterval(3 * 3_600 + Double(index) * 86_400)
        }
        keys[199].keyDeletionDate = nil
        var looked: [String: ContinuousClock.Instant] = [:]
        for key in keys { looked[key.importID] = .now }
        let lane = try #require(PendingDeletionWatch.chosen(keys, lastLooked: looked, interval: 600, now: start).first)
        #expect(lane.lastHours.map(\.importID) == ["w-200", "w-1"], "no date first (soonest), then 3 h away")
        #expect(lane.rotation.count == 120 && !lane.rotation.contains { ["w-1", "w-200"].contains($0.importID) })
        // Six hours later the second key's last hours have begun too.
        let later = try #require(
            PendingDeletionWatch.chosen(keys, lastLooked: looked, interval: 600, now: start.addingTimeInterval(86_400))
                .first)
        #expect(later.lastHours.map(\.importID) == ["w-200", "w-1", "w-2"])
    }
}
