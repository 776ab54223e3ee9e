import Foundation
import GRDB
import Testing
import TransferKeyCore

@testable import TransferKeyStore

private let start = Date(timeIntervalSince1970: 1_795_000_000)
private let account = "111122223333"
private let prefix = "alias/CadoResponse-KMS-Alias"

private func makeStore() throws -> TransferStore {
    TransferStore(try AppDatabase(DatabaseQueue()))
}

private func key(_ n: Int) -> String { String(format: "%08d-0000-4000-8000-000000000000", n) }

@discardableResult
private func record(
    _ store: TransferStore, _ importID: String, key keyID: String?, alias: String? = nil, region: String = "eu-west-1",
    origin: TransferOrigin = .tracked, deadline: Date = start.addingTimeInterval(3600)
) throws -> TransferRecord {
    try store.record(
        NewTransfer(
            importID: importID, accountID: account, region: region, keyID: keyID, aliasName: alias, origin: origin,
            deadline: deadline),
        now: start, actor: "test")
}

@Suite("Transfer store: orphans, scans and the orphan alarm")
struct TransferStoreOrphansTests {
    @Test(
        "a key recorded in the account × region (a multi-Region key in any region), in any state but deleted, is known")
    func recordedKeys() throws {
        let store = try makeStore()
        let mrk = "mrk-0123456789abcdef0123456789abcdef"
        try record(store, "imp-1", key: key(1))
        try record(store, "imp-2", key: key(2), region: "us-east-1")
        try record(store, "imp-3", key: key(3))
        _ = try store.complete("imp-3", failed: false, now: start, actor: "t")
        try store.apply(.keyRefused(reason: "foreign alias"), to: "imp-3", now: start, actor: "t")
        try record(store, "imp-4", key: key(4))
        try store.apply(.keyGone, to: "imp-4", now: start, actor: "t")
        try record(store, "imp-5", key: mrk, region: "us-east-1")

        let asked = [key(1), key(2), key(3), key(4), key(5), mrk]
        #expect(try store.recordedKeyIDs(asked, accountID: account, region: "eu-west-1") == [key(1), key(3), mrk])
        #expect(try store.recordedKeyIDs(asked, accountID: account, region: "us-east-1") == [key(2), mrk])
        #expect(try store.recordedKeyIDs([key(1)], accountID: "444455556666", region: "eu-west-1").isEmpty)
        #expect(try store.recordedKeyIDs([], accountID: account, region: "eu-west-1").isEmpty)
    }

    @Test("an alias recorded for an unfinished transfer in the account × region is known; a finished one is not")
    func unfinishedAliases() throws {
        let store = try makeStore()
        try record(store, "imp-1", key: nil, alias: "\(prefix)-1")
        try record(store, "imp-2", key: key(2), alias: "\(prefix)-2")
        _ = try store.complete("imp-2", failed: false, now: start, actor: "t")
        try store.apply(.keyRefused(reason: "r"), to: "imp-2", now: start, actor: "t")
        try record(store, "imp-3", key: key(3), alias: "\(prefix)-3", region: "us-east-1")

        let names = ["\(prefix)-1", "\(prefix)-2", "\(prefix)-3"]
        #expect(try store.unfinishedAliasNames(names, accountID: account, region: "eu-west-1") == ["\(prefix)-1"])
        #expect(try store.unfinishedAliasNames(names, accountID: account, region: "us-east-1") == ["\(prefix)-3"])
    }

    @Test("a scan's outcome replaces the previous one for its account × region and shows in status")
    func scans() throws {
        let store = try makeStore()
        try store.recordScan(
            accountID: account, region: "eu-west-1", startedAt: start, finishedAt: start.addingTimeInterval(1),
            isOK: true, aliasesSeen: 5, orphansFound: 1, error: nil)
        try store.recordScan(
            accountID: account, region: "us-east-1", startedAt: start, finishedAt: start, isOK: false, aliasesSeen: 0,
            orphansFound: 0, error: "ListAliases: AccessDeniedException")
        try store.recordScan(
            accountID: account, region: "eu-west-1", startedAt: start.addingTimeInterval(600),
            finishedAt: start.addingTimeInterval(601), isOK: true, aliasesSeen: 4, orphansFound: 0, error: nil)

        let scans = try store.status(now: start).scans
        #expect(scans.count == 2)
        #expect(scans[0].region == "eu-west-1")
        #expect(scans[0].startedAt == Timestamp.stored(start.addingTimeInterval(600)))
        #expect(scans[0].aliasesSeen == 4)
        #expect(scans[0].isOK)
        #expect(scans[1].region == "us-east-1")
        #expect(!scans[1].isOK)
        #expect(scans[1].error == "ListAliases: AccessDeniedException")
    }

    @Test("pausing sets the flag once and records every alarm; status reports the pause")
    func pause() throws {
        let store = try makeStore()
        #expect(try store.isOrphanCleanupPaused() == nil)
        #expect(try store.pauseOrphanCleanup(reason: "150 orphans", now: start, actor: "daemon"))
        #expect(
            !(try store.pauseOrphanCleanup(reason: "170 orphans", now: start.addingTimeInterval(600), actor: "daemon")))

        #expect(try store.isOrphanCleanupPaused() == "150 orphans", "the reason under review is kept")
        #expect(try store.status(now: start).orphanCleanupPausedReason == "150 orphans")
        let events = try store.daemonEvents()
        #expect(events.map(\.kind) == ["orphan_alarm", "orphan_alarm"])
        #expect(events.allSatisfy { $0.importID == nil && $0.actor == "daemon" })
        #expect(events[1].detail.contains("\"already_paused\":true"))
        let setBy = try store.database.read { db in
            try String.fetchOne(
                db, sql: "SELECT set_by FROM flags WHERE name = ?", arguments: [TransferStore.orphanPauseFlag])
        }
        #expect(setBy == "daemon")
    }

    @Test("approving clears the flag, re-arms paused orphans and records who approved")
    func approve() throws {
        let store = try makeStore()
        try record(store, "orphan-1", key: key(1), origin: .discovered, deadline: start)
        try store.apply(.importEnded(.expired), to: "orphan-1", now: start, actor: "daemon")
        try store.pauseOrphanCleanup(reason: "150 orphans", now: start, actor: "daemon")
        // The work loop postpones a paused orphan.
        try store.note(
            .deferred, for: "orphan-1", detail: [:], postponeUntil: start.addingTimeInterval(600),
            now: start, actor: "daemon")

        let later = start.addingTimeInterval(60)
        #expect(try store.approveOrphans(now: later, actor: "cli:alice"))
        #expect(try store.isOrphanCleanupPaused() == nil)
        #expect(try store.status(now: later).orphanCleanupPausedReason == nil)
        #expect(try store.transfer(matching: "orphan-1")?.nextAttemptAt == Timestamp.stored(later))
        let approval = try #require(try store.daemonEvents().last)
        #expect(approval.kind == "orphans_approved")
        #expect(approval.importID == nil)
        #expect(approval.actor == "cli:alice")
        #expect(approval.detail.contains("\"reason\":\"150 orphans\""))
        #expect(approval.detail.contains("\"rearmed\":1"))
        #expect(try store.database.read { db in try AuditLog.verify(db) } == .intact(events: 5))
    }

    @Test("approving with nothing paused writes nothing")
    func approveNothing() throws {
        let store = try makeStore()
        #expect(!(try store.approveOrphans(now: start, actor: "cli:alice")))
        #expect(try store.database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM events") } == 0)
    }
}
