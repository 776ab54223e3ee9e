import Foundation
import GRDB
import Testing
import TransferKeyCore

@testable import TransferKeyStore

private let start = Date(timeIntervalSince1970: 1_795_000_000)
private let account = "111122223333"
private let otherAccount = "444455556666"

private func makeStore() throws -> TransferStore {
    TransferStore(try AppDatabase(DatabaseQueue()))
}

private func snap(_ n: Int) -> String { String(format: "snap-%017x", n) }

@discardableResult
private func track(
    _ store: TransferStore, _ importID: String, key n: Int, snapshots: [String], snapshotAccountID: String? = nil,
    snapshotRegion: String? = nil
) throws -> TransferRecord {
    try store.record(
        NewTransfer(
            importID: importID, accountID: account, region: "eu-west-1",
            keyID: String(format: "%08d-0000-4000-8000-000000000000", n), origin: .tracked, snapshotIDs: snapshots,
            snapshotAccountID: snapshotAccountID, snapshotRegion: snapshotRegion,
            deadline: start.addingTimeInterval(3600)),
        now: start, actor: "test")
}

private func rows(_ store: TransferStore) throws -> [SnapshotRecord] {
    try store.database.read { db in
        try SnapshotRecord.order(SnapshotRecord.Columns.importID, SnapshotRecord.Columns.snapshotID).fetchAll(db)
    }
}

@Suite("Transfer store: snapshot polling")
struct TransferStoreSnapshotsTests {
    @Test("SnapshotState names exactly the values transfer_snapshots.state accepts")
    func statesMatchSchema() throws {
        let store = try makeStore()
        try track(store, "imp-1", key: 1, snapshots: [snap(1)])
        for state in SnapshotState.allCases {
            try store.database.write { db in
                try db.execute(sql: "UPDATE transfer_snapshots SET state = ?", arguments: [state.rawValue])
            }
        }
        #expect(throws: DatabaseError.self) {
            try store.database.write { db in
                try db.execute(sql: "UPDATE transfer_snapshots SET state = 'available'")
            }
        }
        #expect(Set(SnapshotState.final.map(\.rawValue)) == ["completed", "error", "missing"])
        #expect(
            Set(TransferStore.observableSnapshotStates)
                == Set(SnapshotState.allCases.map(\.rawValue)).subtracting(["unknown"]))
    }

    @Test("pending snapshots of active transfers are grouped by the account × region that holds them")
    func grouping() throws {
        let store = try makeStore()
        try track(store, "imp-1", key: 1, snapshots: [snap(1), snap(2)])
        try track(store, "imp-2", key: 2, snapshots: [snap(3)])
        try track(store, "imp-3", key: 3, snapshots: [snap(4)], snapshotAccountID: otherAccount)
        try track(store, "imp-4", key: 4, snapshots: [snap(5)], snapshotRegion: "us-east-1")
        try track(store, "imp-5", key: 5, snapshots: [])

        let groups = try store.pendingSnapshots()
        #expect(
            groups == [
                SnapshotGroup(
                    accountID: account, region: "eu-west-1", snapshotIDs: [snap(1), snap(2), snap(3)],
                    importIDs: ["imp-1", "imp-2"]),
                SnapshotGroup(accountID: account, region: "us-east-1", snapshotIDs: [snap(5)], importIDs: ["imp-4"]),
                SnapshotGroup(
                    accountID: otherAccount, region: "eu-west-1", snapshotIDs: [snap(4)], importIDs: ["imp-3"]),
            ])
    }

    @Test("final snapshots and transfers that are no longer active are not polled")
    func finalAndInactive() throws {
        let store = try makeStore()
        try track(store, "imp-1", key: 1, snapshots: [snap(1), snap(2)])
        try track(store, "imp-2", key: 2, snapshots: [snap(3)])
        _ = try store.complete("imp-2", failed: false, now: start, actor: "test")
        let group = try #require(try store.pendingSnapshots().first)
        try store.updateSnapshotStates([snap(1): "completed"], in: group, now: start)

        #expect(
            try store.pendingSnapshots() == [
                SnapshotGroup(accountID: account, region: "eu-west-1", snapshotIDs: [snap(2)], importIDs: ["imp-1"])
            ])
    }

    @Test("only changed states are rewritten; checked_at moves for every snapshot EC2 answered for")
    func updates() throws {
        let store = try makeStore()
        try track(store, "imp-1", key: 1, snapshots: [snap(1), snap(2), snap(3)])
        let group = try #require(try store.pendingSnapshots().first)

        let first = try store.updateSnapshotStates(
            [snap(1): "pending", snap(2): "completed"], in: group, now: start)
        #expect(first == 2)
        let later = start.addingTimeInterval(30)
        let second = try store.updateSnapshotStates(
            [snap(1): "pending", snap(2): "completed"], in: group, now: later)
        #expect(second == 0, "nothing changed state")
        let stored = try rows(store)
        #expect(stored.map(\.state) == ["pending", "completed", "unknown"])
        #expect(stored.map(\.checkedAt) == [Timestamp.stored(later), Timestamp.stored(later), nil])
    }

    @Test("a state the schema does not know is ignored instead of failing the whole batch")
    func unknownState() throws {
        let store = try makeStore()
        try track(store, "imp-1", key: 1, snapshots: [snap(1), snap(2)])
        let group = try #require(try store.pendingSnapshots().first)
        #expect(try store.updateSnapshotStates([snap(1): "archived", snap(2): "pending"], in: group, now: start) == 1)
        #expect(try rows(store).map(\.state) == ["unknown", "pending"])
        // Reported once, then gone: missing. Never reported: stays unknown, its first NotFound remembered.
        #expect(try store.updateSnapshotStates([snap(1): "missing", snap(2): "missing"], in: group, now: start) == 1)
        #expect(try rows(store).map(\.state) == ["unknown", "missing"])
    }

    @Test("a group's update touches only that group's transfers")
    func scopedToGroup() throws {
        let store = try makeStore()
        // The same snapshot id under two transfers in different accounts: only the polled one moves.
        try track(store, "imp-1", key: 1, snapshots: [snap(1)])
        try track(store, "imp-2", key: 2, snapshots: [snap(1)], snapshotAccountID: otherAccount)
        let group = try #require(try store.pendingSnapshots().first { $0.accountID == account })
        try store.updateSnapshotStates([snap(1): "completed"], in: group, now: start)
        #expect(try rows(store).map(\.state) == ["completed", "unknown"])
    }

    @Test("the states of every active transfer's snapshots, by import id")
    func activeStates() throws {
        let store = try makeStore()
        try track(store, "imp-1", key: 1, snapshots: [snap(1), snap(2)])
        try track(store, "imp-2", key: 2, snapshots: [snap(3)])
        try track(store, "imp-3", key: 3, snapshots: [])
        _ = try store.complete("imp-2", failed: true, now: start, actor: "test")
        let group = try #require(try store.pendingSnapshots().first)
        try store.updateSnapshotStates([snap(1): "error"], in: group, now: start)
        #expect(try store.activeSnapshotStates() == ["imp-1": [snap(1): "error", snap(2): "unknown"]])
    }

    @Test("many snapshots in one group stay within SQLite's variable limit")
    func large() throws {
        let store = try makeStore()
        let ids = (1...1200).map(snap)
        try track(store, "imp-1", key: 1, snapshots: ids)
        let group = try #require(try store.pendingSnapshots().first)
        #expect(group.snapshotIDs.count == 1200)
        let states = Dictionary(uniqueKeysWithValues: ids.map { ($0, "completed") })
        #expect(try store.updateSnapshotStates(states, in: group, now: start) == 1200)
        #expect(try store.pendingSnapshots().isEmpty)
    }
}
