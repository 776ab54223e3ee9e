import Foundation
import GRDB
import Testing
import TransferKeyCore

@testable import TransferKeyStore

private let start = Date(timeIntervalSince1970: 1_795_000_000)
private let keyID = "1234abcd-12ab-34cd-56ef-1234567890ab"

private func makeStore() throws -> TransferStore {
    TransferStore(try AppDatabase(DatabaseQueue()))
}

private func newTransfer(_ importID: String = "imp-1", keyID: String? = keyID, snapshots: [String] = []) -> NewTransfer
{
    NewTransfer(
        importID: importID, accountID: "111122223333", region: "eu-west-1", keyID: keyID,
        aliasName: "alias/CadoResponse-KMS-Alias-\(importID)", origin: .tracked, snapshotIDs: snapshots,
        deadline: start.addingTimeInterval(3600))
}

@Suite("Transfer store")
struct TransferStoreTests {
    @Test("a record holds Dates; SQLite holds the contract's text, and the row reads back equal to what was written")
    func timesAreDates() throws {
        let store = try makeStore()
        let written = try store.record(newTransfer(), now: start.addingTimeInterval(0.123_456), actor: "cli:test")
        let read = try #require(try store.transfer(importID: "imp-1"))
        #expect(read == written)
        #expect(read.createdAt == Timestamp.stored(start.addingTimeInterval(0.123_456)))
        let text = try store.database.read { db in
            try String.fetchAll(
                db, sql: "SELECT created_at || ' ' || deadline_at || ' ' || next_attempt_at FROM transfers")
        }
        let deadline = Timestamp.string(start.addingTimeInterval(3600))
        #expect(text == ["2026-11-18T11:06:40.123Z \(deadline) \(deadline)"])
    }

    @Test("counts by state, of every state or of the states asked for")
    func countsByState() throws {
        let store = try makeStore()
        try store.record(newTransfer("imp-1", keyID: nil), now: start, actor: "cli:test")
        try store.record(newTransfer("imp-2"), now: start, actor: "cli:test")
        #expect(try store.countsByState() == [.creating: 1, .active: 1])
        #expect(try store.countsByState(in: TransferState.summarized) == [.active: 1])
        #expect(try store.countsByState(in: [.stuck]).isEmpty)
    }

    @Test("a hand-edited time that is not a time reads as long past: that row is due, and no other row is hidden")
    func unparseableTimeIsDue() throws {
        let store = try makeStore()
        try store.record(newTransfer("imp-1", keyID: nil), now: start, actor: "cli:test")
        try store.record(newTransfer("imp-2", keyID: nil), now: start, actor: "cli:test")
        try store.database.write { db in
            try db.execute(sql: "UPDATE transfers SET deadline_at = 'soon', created_at = '' WHERE import_id = 'imp-1'")
        }
        let edited = try #require(try store.transfer(importID: "imp-1"))
        #expect(edited.deadlineAt == .distantPast && edited.createdAt == .distantPast)
        #expect(try store.transfer(importID: "imp-2")?.deadlineAt == start.addingTimeInterval(3600))
        #expect(try store.dueTransfers(now: start.addingTimeInterval(3601), limit: 10).count == 2)
        // Not text at all (a number, a blob): long past too, and the row still reads.
        try store.database.write { db in
            try db.execute(sql: "UPDATE transfers SET deadline_at = 42, key_seen_at = x'00' WHERE import_id = 'imp-2'")
        }
        let numbers = try #require(try store.transfer(importID: "imp-2"))
        #expect(numbers.deadlineAt == .distantPast && numbers.keySeenAt == .distantPast)
        #expect(numbers.createdAt == start, "the columns left alone read as written")
    }

    @Test("updateRow writes every column of the row, and reads back equal; a row that is gone is an error")
    func updateRowWritesEveryColumn() throws {
        let store = try makeStore()
        var record = try store.record(newTransfer("imp-1"), now: start, actor: "cli:test")
        try store.record(newTransfer("imp-2", keyID: nil), now: start, actor: "cli:test")
        let later = start.addingTimeInterval(60.5)
        record.keyARN = "arn:aws:kms:eu-west-1:111122223333:key/\(keyID)"
        record.aliasName = "alias/CadoResponse-KMS-Alias-other"
        record.state = .keyScheduled
        record.snapshotAccountID = "444455556666"
        record.snapshotRegion = "us-east-1"
        record.updatedAt = later
        record.deadlineAt = later.addingTimeInterval(1)
        record.completedAt = later.addingTimeInterval(2)
        record.completion = .failed
        record.keyDeletionDate = later.addingTimeInterval(3)
        record.attempts = 3
        record.nextAttemptAt = later.addingTimeInterval(4)
        record.lastError = "throttled"
        record.keySeenAt = later.addingTimeInterval(5)
        record.awsRecordedAt = later.addingTimeInterval(6)
        record.failingSince = later.addingTimeInterval(7)
        let written = record
        try store.database.write { db in try written.updateRow(db) }
        #expect(try store.transfer(importID: "imp-1") == written)
        #expect(try store.transfer(importID: "imp-2")?.state == .creating, "only the row with this id changed")
        try store.database.write { db in try db.execute(sql: "DELETE FROM transfers WHERE import_id = 'imp-1'") }
        #expect(throws: RecordError.self) { try store.database.write { db in try written.updateRow(db) } }
    }

    @Test("a row whose state this version does not know fails its read, naming the column and the value")
    func unknownStateFailsTheRead() throws {
        let store = try makeStore()
        try store.record(newTransfer("imp-1", keyID: nil), now: start, actor: "cli:test")
        try store.database.write { db in
            try db.execute(sql: "PRAGMA ignore_check_constraints = ON")
            try db.execute(sql: "UPDATE transfers SET state = 'vanished' WHERE import_id = 'imp-1'")
        }
        #expect {
            try store.transfer(importID: "imp-1")
        } throws: { error in
            "\(error)" == "transfers.state holds \"vanished\", which this version does not know"
        }
    }

    @Test("recording writes the transfer, its snapshots and one event in one transaction")
    func record() throws {
        let store = try makeStore()
        let record = try store.record(
            newTransfer(snapshots: ["snap-0123456789abcdef0", "snap-0123456789abcdef1"]), now: start, actor: "cli:test")
        #expect(record.state == .active)
        #expect(record.nextAttemptAt == Timestamp.stored(start.addingTimeInterval(3600)), "the lease is a work item")
        #expect(
            try store.snapshots(importID: "imp-1").map(\.snapshotID) == [
                "snap-0123456789abcdef0", "snap-0123456789abcdef1",
            ])
        let events = try store.events(importID: "imp-1")
        #expect(events.map(\.kind) == ["recorded"])
        #expect(events.first?.actor == "cli:test")
    }

    @Test("notes given to record (an orphan's evidence) commit with the row, in one transaction, or not at all")
    func recordWithNotes() throws {
        let queue = try DatabaseQueue()
        let store = TransferStore(try AppDatabase(queue))
        let commits = CommitCounter()
        queue.add(transactionObserver: commits)
        try store.record(
            newTransfer(), now: start, actor: "daemon", notes: [(.orphanAdopted, ["reason": "no recorded transfer"])])
        #expect(commits.count == 1, "a kill can never fall between the row and its evidence")
        let events = try store.events(importID: "imp-1")
        #expect(events.map(\.kind) == ["recorded", "orphan_adopted"])
        #expect(events[1].detail == #"{"reason":"no recorded transfer"}"#)
        #expect(try store.database.read { db in try AuditLog.verify(db) } == .intact(events: 2))

        // Refused (the key is already tracked): neither the row nor its notes are written.
        #expect(throws: TransferStoreError.self) {
            try store.record(newTransfer("imp-2"), now: start, actor: "daemon", notes: [(.orphanAdopted, [:])])
        }
        #expect(try store.transfer(matching: "imp-2") == nil)
        #expect(try store.database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM events") } == 2)
    }

    @Test("an intent without a key starts in creating")
    func intent() throws {
        let store = try makeStore()
        #expect(try store.record(newTransfer(keyID: nil), now: start, actor: "t").state == .creating)
    }

    @Test("a duplicate import id, or a key already tracked by an unfinished transfer, is refused and changes nothing")
    func duplicates() throws {
        let store = try makeStore()
        try store.record(newTransfer(), now: start, actor: "t")
        #expect(throws: TransferStoreError.self) { try store.record(newTransfer(), now: start, actor: "t") }
        #expect(throws: TransferStoreError.self) { try store.record(newTransfer("imp-2"), now: start, actor: "t") }
        #expect(try store.transfers().count == 1)
        #expect(try store.database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM events") } == 1)
    }

    @Test("the whole happy path stores each state, the dates and one event per change")
    func lifecycle() throws {
        let store = try makeStore()
        try store.record(newTransfer(), now: start, actor: "cli")
        let ended = try store.complete("imp-1", failed: false, now: start.addingTimeInterval(10), actor: "cli")
        #expect(ended.changed)
        #expect(ended.transfer.state == .cleanupDue)
        #expect(ended.transfer.completion == .succeeded)
        #expect(ended.transfer.nextAttemptAt == Timestamp.stored(start.addingTimeInterval(10)))

        let deletion = start.addingTimeInterval(7 * 86400)
        var record = try store.apply(
            .keyScheduled(deletionDate: deletion), to: "imp-1", now: start.addingTimeInterval(11), actor: "daemon",
            detail: ["request_id": "req-1"])
        #expect(record.state == .keyScheduled)
        #expect(record.keyDeletionDate == Timestamp.stored(deletion))

        record = try store.apply(.aliasesRemoved, to: "imp-1", now: start.addingTimeInterval(12), actor: "daemon")
        #expect(record.state == .cleaned)
        #expect(record.nextAttemptAt == Timestamp.stored(deletion), "deletion is confirmed after the deletion date")

        record = try store.apply(.keyGone, to: "imp-1", now: deletion.addingTimeInterval(60), actor: "daemon")
        #expect(record.state == .deleted)
        #expect(record.nextAttemptAt == nil)

        let events = try store.events(importID: "imp-1")
        #expect(events.map(\.kind) == ["recorded", "import_ended", "key_scheduled", "aliases_removed", "key_deleted"])
        #expect(events[2].detail.contains("\"request_id\":\"req-1\""))
        #expect(try store.database.read { db in try AuditLog.verify(db) } == .intact(events: 5))
    }

    @Test("a failed step counts attempts and retries later; a final failure parks it as stuck with the error")
    func failures() throws {
        let store = try makeStore()
        try store.record(newTransfer(), now: start, actor: "cli")
        _ = try store.complete("imp-1", failed: true, now: start, actor: "cli")
        let retryAt = start.addingTimeInterval(30)
        var record = try store.apply(
            .stepFailed(error: "ThrottlingException", retryAt: retryAt), to: "imp-1", now: start, actor: "daemon")
        #expect(record.state == .cleanupDue)
        #expect(record.attempts == 1)
        #expect(record.nextAttemptAt == Timestamp.stored(retryAt))
        #expect(record.lastError == "ThrottlingException")

        record = try store.apply(
            .stepFailed(error: "AccessDeniedException", retryAt: nil), to: "imp-1", now: start, actor: "daemon")
        #expect(record.state == .stuck)
        #expect(record.lastError == "AccessDeniedException")
        #expect(record.nextAttemptAt == nil, "a stuck transfer is not claimed again by itself")

        record = try store.retry("imp-1", now: start.addingTimeInterval(60), actor: "cli")
        #expect(record.state == .cleanupDue)
        #expect(record.attempts == 0)
        #expect(record.lastError == nil)
    }

    @Test("retry of a stuck transfer that never got a key is refused: there is nothing to clean up")
    func retryWithoutKey() throws {
        let store = try makeStore()
        try store.record(newTransfer(keyID: nil), now: start, actor: "cli")
        try store.apply(
            .stepFailed(error: "creation never completed: no key was made", retryAt: nil), to: "imp-1", now: start,
            actor: "daemon")
        #expect(throws: TransferStoreError.self) { try store.retry("imp-1", now: start, actor: "cli") }
        #expect(try store.transfer(matching: "imp-1")?.state == .stuck)
    }

    @Test("an illegal event is refused and changes nothing")
    func illegal() throws {
        let store = try makeStore()
        try store.record(newTransfer(), now: start, actor: "cli")
        #expect(throws: TransferStoreError.self) {
            try store.apply(.aliasesRemoved, to: "imp-1", now: start, actor: "daemon")
        }
        #expect(throws: TransferStoreError.self) { try store.retry("imp-1", now: start, actor: "cli") }
        #expect(try store.transfer(matching: "imp-1")?.state == .active)
        #expect(try store.events(importID: "imp-1").count == 1)
    }

    @Test("complete on a transfer past active changes nothing")
    func completeIdempotent() throws {
        let store = try makeStore()
        try store.record(newTransfer(), now: start, actor: "cli")
        _ = try store.complete("imp-1", failed: false, now: start, actor: "cli")
        let again = try store.complete("imp-1", failed: true, now: start, actor: "cli")
        #expect(!again.changed)
        #expect(again.transfer.completion == .succeeded)
        #expect(try store.events(importID: "imp-1").count == 2)
    }

    @Test("a transfer is found by import id, key id or key ARN")
    func lookup() throws {
        let store = try makeStore()
        var new = newTransfer()
        new.keyARN = "arn:aws:kms:eu-west-1:111122223333:key/\(keyID)"
        try store.record(new, now: start, actor: "cli")
        #expect(try store.transfer(matching: "imp-1")?.importID == "imp-1")
        #expect(try store.transfer(matching: keyID)?.importID == "imp-1")
        #expect(try store.transfer(matching: new.keyARN!)?.importID == "imp-1")
        #expect(try store.transfer(matching: "imp-2") == nil)
    }

    @Test(
        "a reference is resolved by its kind; one naming two transfers is refused listing both, never guessed"
    )
    func lookupByKind() throws {
        let store = try makeStore()
        let other = "ffffffff-12ab-34cd-56ef-1234567890ab"
        // An old row whose import id is shaped like another transfer's key id (recorded before the syntax).
        try store.record(newTransfer(other, keyID: "eeeeeeee-12ab-34cd-56ef-1234567890ab"), now: start, actor: "cli")
        try store.record(newTransfer("imp-2", keyID: other), now: start, actor: "cli")
        #expect(throws: TransferStoreError.self) { try store.transfer(matching: other) }
        do {
            _ = try store.transfer(matching: other)
        } catch let error as TransferStoreError {
            #expect(error.code == .ambiguous)
            #expect(error.description.contains("imp-2") && error.description.contains(other))
        }
        // By the exact import id, the daemon's own lookups never guess either.
        #expect(try store.transfer(importID: other)?.keyID == "eeeeeeee-12ab-34cd-56ef-1234567890ab")
        // A key recorded by two transfers over time (the first one finished): both are named.
        try store.record(newTransfer("imp-3"), now: start, actor: "cli")
        _ = try store.apply(.keyGone, to: "imp-3", now: start, actor: "cli")
        try store.record(newTransfer("imp-4"), now: start, actor: "cli")
        #expect(throws: TransferStoreError.self) { try store.transfer(matching: keyID) }
        #expect(try store.transfer(matching: "imp-4")?.keyID == keyID)
    }

    @Test("due work: unfinished transfers whose next attempt has come, earliest first")
    func due() throws {
        let store = try makeStore()
        try store.record(newTransfer("imp-1", keyID: "11111111-1111-1111-1111-111111111111"), now: start, actor: "t")
        try store.record(newTransfer("imp-2", keyID: "22222222-2222-2222-2222-222222222222"), now: start, actor: "t")
        _ = try store.complete("imp-2", failed: false, now: start.addingTimeInterval(5), actor: "t")
        #expect(try store.dueTransfers(now: start.addingTimeInterval(10), limit: 10).map(\.importID) == ["imp-2"])
        #expect(
            try store.dueTransfers(now: start.addingTimeInterval(3601), limit: 10).map(\.importID) == [
                "imp-2", "imp-1",
            ])
        #expect(try store.dueTransfers(now: start.addingTimeInterval(3601), limit: 1).count == 1)
    }

    @Test("status counts by state and lists the stuck ones with their reasons")
    func status() throws {
        let store = try makeStore()
        try store.record(newTransfer("imp-1", keyID: "11111111-1111-1111-1111-111111111111"), now: start, actor: "t")
        try store.record(newTransfer("imp-2", keyID: "22222222-2222-2222-2222-222222222222"), now: start, actor: "t")
        _ = try store.complete("imp-2", failed: false, now: start, actor: "t")
        try store.apply(.stepFailed(error: "AccessDeniedException", retryAt: nil), to: "imp-2", now: start, actor: "d")
        let status = try store.status(now: start.addingTimeInterval(7200))
        #expect(status.counts == [.active: 1, .stuck: 1])
        #expect(status.stuck.map(\.lastError) == ["AccessDeniedException"])
        #expect(status.oldestActive?.importID == "imp-1")
        #expect(status.overdue.map(\.importID) == ["imp-1"])
        #expect(status.heartbeat == nil)
        #expect(status.eventCount == 4)
    }

    @Test("a run of failed attempts is dated by its first failure; status reports it, and a new state ends it")
    func failingSince() throws {
        let store = try makeStore()
        try store.record(newTransfer(), now: start, actor: "daemon")
        try store.apply(.importEnded(.succeeded), to: "imp-1", now: start, actor: "daemon")
        let first = start.addingTimeInterval(60)
        var record = try store.apply(
            .stepFailed(error: "KMSInternalException", retryAt: first), to: "imp-1", now: first, actor: "daemon")
        #expect(record.failingSince == Timestamp.stored(first))
        let second = start.addingTimeInterval(600)
        record = try store.apply(
            .stepFailed(error: "KMSInternalException", retryAt: second), to: "imp-1", now: second, actor: "daemon")
        #expect(record.attempts == 2)
        #expect(record.failingSince == Timestamp.stored(first), "the run began with its first failure")
        let failing = try store.status(now: second).failing
        #expect(failing.count == 1)
        #expect(failing.first?.since == Timestamp.stored(first))
        #expect(failing.first?.transfers == 1)

        record = try store.apply(.keyScheduled(deletionDate: nil), to: "imp-1", now: second, actor: "daemon")
        #expect(record.attempts == 0 && record.failingSince == nil)
        #expect(try store.status(now: second).failing.isEmpty)
        #expect(
            try store.status(now: second).eventCount == 5, "the chain's length: recorded, ended, 2 failures, scheduled")
    }
}

/// Counts committed transactions.
private final class CommitCounter: TransactionObserver, @unchecked Sendable {
    private(set) var count = 0

    func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool { true }
    func databaseDidChange(with event: DatabaseEvent) {}
    func databaseDidCommit(_ db: Database) { count += 1 }
    func databaseDidRollback(_ db: Database) {}
}
