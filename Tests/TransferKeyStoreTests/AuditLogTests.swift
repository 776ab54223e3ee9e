import Foundation
import GRDB
import Testing
import TransferKeyTestSupport

@testable import TransferKeyStore

@Suite("The hash-chained audit trail")
struct AuditLogTests {
    static let start = Date(timeIntervalSince1970: 1_795_000_000.123)

    /// A migrated in-memory database holding `count` events, every third one without an import id.
    static func database(events count: Int) throws -> AppDatabase {
        let database = try AppDatabase(DatabaseQueue())
        try database.write { db in
            for index in 1...count {
                _ = try AuditLog.append(
                    db, at: start.addingTimeInterval(Double(index)),
                    importID: index % 3 == 0 ? nil : "imp-\(index % 4)", kind: "state_changed",
                    detail: #"{"n":\#(index),"to":"active"}"#, actor: "daemon", key: nil)
            }
        }
        return database
    }

    /// Runs raw SQL with the append-only triggers dropped, as an attacker with file access would.
    static func tamper(_ database: AppDatabase, _ sql: String) throws {
        try database.writer.writeWithoutTransaction { db in
            try db.execute(sql: "DROP TRIGGER events_refuse_update; DROP TRIGGER events_refuse_delete")
            try db.execute(sql: sql)
        }
    }

    @Test("the first event links to 64 zeros and each next one to its predecessor's hash")
    func appendChains() throws {
        let database = try AppDatabase(DatabaseQueue())
        let (first, second) = try database.write { db in
            (
                try AuditLog.append(
                    db, at: Self.start, importID: "imp-1", kind: "created", detail: "{}", actor: "cli", key: nil),
                try AuditLog.append(
                    db, at: Self.start, importID: nil, kind: "scan", detail: #"{"a":1}"#, actor: "daemon", key: nil)
            )
        }
        #expect(first.seq == 1 && second.seq == 2)
        #expect(first.prevHash == String(repeating: "0", count: 64))
        #expect(second.prevHash == first.hash)
        #expect(first.at == "2026-11-18T11:06:40.123Z")
        #expect(first.hash.count == 64 && first.hash == first.hash.lowercased())
        let stored = try database.read { try AuditEvent.fetchAll($0, sql: "SELECT * FROM events ORDER BY seq") }
        #expect(stored == [first, second])
    }

    @Test("the canonical encoding is length-prefixed and tells NULL from an empty import id")
    func canonicalEncoding() throws {
        let zeros = AuditLog.genesisHash
        let encoded = Array(zeros.utf8) + Array("1:1,24:2026-11-28T23:18:16.123Z,~1:x,2:{},6:daemon,".utf8)
        let expected = try #require(
            Tool.run(
                "python3", ["-c", "import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())"],
                input: String(decoding: encoded, as: UTF8.self)
            ).stdout.split(separator: "\n").first)
        let actual = AuditLog.hash(
            prevHash: zeros, seq: 1, at: "2026-11-28T23:18:16.123Z", importID: nil, kind: "x", detail: "{}",
            actor: "daemon")
        #expect(actual == String(expected))
        let empty = AuditLog.hash(
            prevHash: zeros, seq: 1, at: "2026-11-28T23:18:16.123Z", importID: "", kind: "x", detail: "{}",
            actor: "daemon")
        #expect(empty != actual)
        // Moving a byte from one field to the next changes the hash.
        let shifted = AuditLog.hash(
            prevHash: zeros, seq: 1, at: "2026-11-28T23:18:16.123Z", importID: nil, kind: "x{", detail: "}",
            actor: "daemon")
        #expect(shifted != actual)
    }

    @Test("append outside a transaction still links to the last event")
    func appendWithoutTransaction() throws {
        let database = try Self.database(events: 2)
        let event = try database.writer.writeWithoutTransaction { db in
            try AuditLog.append(db, at: Self.start, importID: nil, kind: "k", detail: "{}", actor: "t", key: nil)
        }
        #expect(event.seq == 3)
        #expect(try database.read { try AuditLog.verify($0) } == .intact(events: 3))
    }

    @Test("detail must be a JSON object")
    func detailIsAnObject() throws {
        let database = try AppDatabase(DatabaseQueue())
        for detail in ["[1]", "1", #""text""#, "not json"] {
            #expect(throws: DatabaseError.self) {
                try database.write {
                    try AuditLog.append(
                        $0, at: Self.start, importID: nil, kind: "k", detail: detail, actor: "t", key: nil)
                }
            }
        }
        #expect(try database.read { try AuditLog.verify($0) } == .intact(events: 0))
    }

    @Test("events(importID:) returns one transfer's events, oldest first")
    func eventsOfOneTransfer() throws {
        let database = try Self.database(events: 12)
        let events = try database.read { try AuditLog.events($0, importID: "imp-1") }
        #expect(events.map(\.seq) == [1, 5])
        #expect(events.allSatisfy { $0.importID == "imp-1" })
    }

    @Test("an untouched chain is intact, and an empty one too")
    func intact() throws {
        #expect(try Self.database(events: 41).read { try AuditLog.verify($0) } == .intact(events: 41))
        #expect(try AppDatabase(DatabaseQueue()).read { try AuditLog.verify($0) } == .intact(events: 0))
    }

    @Test("the triggers refuse UPDATE and DELETE through GRDB")
    func triggersRefuseThroughGRDB() throws {
        let database = try Self.database(events: 3)
        for sql in [
            "UPDATE events SET detail = '{}' WHERE seq = 2", "DELETE FROM events WHERE seq = 3", "DELETE FROM events",
        ] {
            let error = #expect(throws: DatabaseError.self) { try database.write { try $0.execute(sql: sql) } }
            #expect(error?.message?.contains("events is append-only") == true)
        }
        let event = try #require(try database.read { try AuditEvent.fetchOne($0, key: 2) })
        #expect(throws: DatabaseError.self) { try database.write { _ = try event.delete($0) } }
        #expect(try database.read { try AuditLog.verify($0) } == .intact(events: 3))
    }

    @Test("INSERT OR REPLACE cannot overwrite an event (delete triggers do not fire on REPLACE)")
    func replaceIsRefused() throws {
        let database = try Self.database(events: 3)
        let zeros = AuditLog.genesisHash
        let error = #expect(throws: DatabaseError.self) {
            try database.writer.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA recursive_triggers = OFF")
                try db.execute(
                    sql: """
                        INSERT OR REPLACE INTO events (seq, at, import_id, kind, detail, actor, prev_hash, hash)
                        VALUES (2, 'x', NULL, 'forged', '{}', 'mallory', ?, ?)
                        """, arguments: [zeros, String(repeating: "f", count: 64)])
            }
        }
        #expect(error?.message?.contains("cannot be replaced") == true)
        #expect(try database.read { try AuditLog.verify($0) } == .intact(events: 3))
    }

    @Test("an edited row is named")
    func editedRow() throws {
        let database = try Self.database(events: 41)
        try Self.tamper(database, #"UPDATE events SET detail = '{"n":17,"to":"cleaned"}' WHERE seq = 17"#)
        #expect(
            try database.read { try AuditLog.verify($0) }
                == .broken(seq: 17, reason: "row 17 was edited (hash mismatch)"))
    }

    @Test("a row edited and re-hashed is named through its successor's link")
    func rewrittenRow() throws {
        let database = try Self.database(events: 41)
        let forged = try database.read { db in
            let row = try #require(try AuditEvent.fetchOne(db, key: 17))
            return AuditLog.hash(
                prevHash: row.prevHash, seq: 17, at: row.at, importID: row.importID, kind: row.kind, detail: "{}",
                actor: row.actor)
        }
        try Self.tamper(database, "UPDATE events SET detail = '{}', hash = '\(forged)' WHERE seq = 17")
        #expect(
            try database.read { try AuditLog.verify($0) }
                == .broken(seq: 17, reason: "row 17 was rewritten: row 18's prev_hash does not match its hash"))
    }

    @Test("a deleted middle row is named")
    func deletedMiddleRow() throws {
        let database = try Self.database(events: 41)
        try Self.tamper(database, "DELETE FROM events WHERE seq = 18")
        #expect(
            try database.read { try AuditLog.verify($0) }
                == .broken(seq: 18, reason: "row 18 is missing: row 19's prev_hash does not match row 17"))
    }

    @Test("a deleted first row is named")
    func deletedFirstRow() throws {
        let database = try Self.database(events: 5)
        try Self.tamper(database, "DELETE FROM events WHERE seq = 1")
        #expect(
            try database.read { try AuditLog.verify($0) }
                == .broken(seq: 1, reason: "row 1 is missing: the chain starts at row 2"))
    }

    @Test("two rows whose whole contents were swapped are named as out of order")
    func swappedRows() throws {
        let database = try Self.database(events: 41)
        try Self.tamper(
            database,
            """
            UPDATE events SET seq = -22 WHERE seq = 22;
            UPDATE events SET seq = 22 WHERE seq = 23;
            UPDATE events SET seq = 23 WHERE seq = -22;
            """)
        #expect(
            try database.read { try AuditLog.verify($0) }
                == .broken(seq: 22, reason: "rows out of order at 22: it holds the entry written as row 23"))
    }

    @Test("two rows whose payloads were swapped (hashes kept) are named as edited")
    func swappedPayloads() throws {
        let database = try Self.database(events: 41)
        try Self.tamper(
            database,
            """
            CREATE TEMP TABLE saved AS SELECT seq, at, import_id, kind, detail, actor FROM events WHERE seq IN (30, 31);
            UPDATE events SET (at, import_id, kind, detail, actor) =
                (SELECT at, import_id, kind, detail, actor FROM saved WHERE saved.seq = 61 - events.seq)
            WHERE seq IN (30, 31);
            """)
        #expect(
            try database.read { try AuditLog.verify($0) }
                == .broken(seq: 30, reason: "row 30 was edited (hash mismatch)"))
    }

    @Test("a deleted last row is noticed through sqlite_sequence")
    func deletedLastRow() throws {
        let database = try Self.database(events: 41)
        try Self.tamper(database, "DELETE FROM events WHERE seq = 41")
        #expect(
            try database.read { try AuditLog.verify($0) }
                == .broken(seq: 41, reason: "the last row (41) was deleted"))
        // Appending afterwards does not paper over the hole.
        _ = try database.write {
            try AuditLog.append($0, at: Self.start, importID: nil, kind: "k", detail: "{}", actor: "t", key: nil)
        }
        #expect(
            try database.read { try AuditLog.verify($0) }
                == .broken(seq: 41, reason: "row 41 is missing: the numbering jumps from 40 to 42"))
    }

    @Test("several deleted last rows, and every row deleted, are noticed")
    func deletedTail() throws {
        let database = try Self.database(events: 10)
        try Self.tamper(database, "DELETE FROM events WHERE seq > 7")
        #expect(
            try database.read { try AuditLog.verify($0) }
                == .broken(seq: 8, reason: "the last rows (8–10) were deleted"))
        try database.writer.writeWithoutTransaction { try $0.execute(sql: "DELETE FROM events") }
        #expect(
            try database.read { try AuditLog.verify($0) }
                == .broken(seq: 1, reason: "the last rows (1–10) were deleted"))
    }

    @Test("a reset sqlite_sequence is noticed")
    func resetSequence() throws {
        let database = try Self.database(events: 5)
        try Self.tamper(database, "DELETE FROM sqlite_sequence")
        #expect(
            try database.read { try AuditLog.verify($0) }
                == .broken(seq: 5, reason: "sqlite_sequence was altered: it records 0 but row 5 exists"))
    }
}
