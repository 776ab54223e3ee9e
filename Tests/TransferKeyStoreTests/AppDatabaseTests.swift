import Foundation
import GRDB
import Testing
import TransferKeyTestSupport

@testable import TransferKeyStore

@Suite("Opening and migrating the database")
struct AppDatabaseTests {
    @Test("an in-memory database is migrated to every embedded migration")
    func migratesInMemory() throws {
        let database = try AppDatabase(DatabaseQueue())
        #expect(try database.appliedMigrations() == Migrations.all.map(\.name))
        let tables = try database.read { db in
            try String.fetchSet(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        #expect(tables.isSuperset(of: ["transfers", "transfer_snapshots", "events", "daemon", "flags", "scans"]))
    }

    @Test("open creates the folder and a migrated database file; the sqlite3 CLI sees the tables")
    func createsAndMigrates() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.path("state/sub/transferkeyd.db")
        do {
            let database = try AppDatabase.open(path: path)
            #expect(try database.appliedMigrations() == Migrations.all.map(\.name))
        }
        let schema = try Tool.sqlite3(path, ".schema")
        #expect(schema.status == 0)
        for table in ["transfers", "transfer_snapshots", "events"] {
            #expect(schema.stdout.contains("CREATE TABLE \(table) ("), "missing \(table)")
        }
        #expect(schema.stdout.contains("CREATE TRIGGER events_refuse_update"))
    }

    @Test("a second open of a migrated database changes nothing")
    func secondOpenIsANoOp() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.path("transferkeyd.db")
        do {
            let database = try AppDatabase.open(path: path)
            _ = try database.write {
                try AuditLog.append($0, at: Date(), importID: nil, kind: "k", detail: "{}", actor: "t", key: nil)
            }
        }
        let schemaBefore = try Tool.sqlite3(path, "SELECT type, name, sql FROM sqlite_master ORDER BY name")
        do {
            let database = try AppDatabase.open(path: path)
            #expect(try database.appliedMigrations() == Migrations.all.map(\.name))
            #expect(try database.read { try AuditLog.verify($0) } == .intact(events: 1))
        }
        let schemaAfter = try Tool.sqlite3(path, "SELECT type, name, sql FROM sqlite_master ORDER BY name")
        #expect(schemaBefore.status == 0 && !schemaBefore.stdout.isEmpty)
        #expect(schemaAfter.stdout == schemaBefore.stdout)
        #expect(
            try Tool.sqlite3(path, "SELECT identifier FROM grdb_migrations").stdout
                == Migrations.all.map { $0.name + "\n" }.joined())
    }

    @Test("every connection runs WAL, synchronous FULL and foreign keys")
    func pragmas() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let database = try AppDatabase.open(path: folder.path("transferkeyd.db"))
        let onWriter = try database.writer.writeWithoutTransaction { db in
            try [
                String.fetchOne(db, sql: "PRAGMA journal_mode"),
                String.fetchOne(db, sql: "PRAGMA synchronous"),
                String.fetchOne(db, sql: "PRAGMA foreign_keys"),
            ]
        }
        #expect(onWriter == ["wal", "2", "1"])
        let onReader = try database.read { db in
            try [
                String.fetchOne(db, sql: "PRAGMA journal_mode"),
                String.fetchOne(db, sql: "PRAGMA synchronous"),
                String.fetchOne(db, sql: "PRAGMA foreign_keys"),
            ]
        }
        #expect(onReader == ["wal", "2", "1"])
        #expect(try database.write { try Bool.fetchOne($0, sql: "PRAGMA foreign_keys") } == true)
    }

    @Test("a write without sync commits under synchronous NORMAL and leaves the connection FULL, also when it throws")
    func writeWithoutSync() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let database = try AppDatabase.open(path: folder.path("transferkeyd.db"))
        let store = TransferStore(database)
        let inside = try database.writeWithoutSync { try String.fetchOne($0, sql: "PRAGMA synchronous") }
        #expect(inside == "1", "NORMAL while it commits")
        struct Refused: Error {}
        #expect(throws: Refused.self) { try database.writeWithoutSync { _ in throw Refused() } }
        let after = try database.writer.writeWithoutTransaction { try String.fetchOne($0, sql: "PRAGMA synchronous") }
        #expect(after == "2", "FULL again for every record the audit trail needs")
        // The heartbeat goes through it, and is there to read.
        try store.heartbeat(pid: 42, hostname: "h", version: "v", startedAt: Date(), now: Date())
        #expect(try database.read { try Int.fetchOne($0, sql: "SELECT pid FROM daemon WHERE id = 1") } == 42)
    }

    @Test("a foreign key violation is refused")
    func foreignKeysEnforced() throws {
        let database = try AppDatabase(DatabaseQueue())
        #expect(throws: DatabaseError.self) {
            try database.write { db in
                try db.execute(sql: "INSERT INTO transfer_snapshots (import_id, snapshot_id) VALUES ('nope', 'snap-1')")
            }
        }
    }

    @Test("a new database file and its -wal and -shm files have mode 0600")
    func fileMode() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.path("new/transferkeyd.db")
        let database = try AppDatabase.open(path: path)
        _ = try database.write {
            try AuditLog.append($0, at: Date(), importID: nil, kind: "k", detail: "{}", actor: "t", key: nil)
        }
        #expect(try Files.mode(path) == 0o600)
        #expect(try Files.mode(path + "-wal") == 0o600)
        #expect(try Files.mode(path + "-shm") == 0o600)
        #expect(try Files.mode(folder.path("new")) == 0o700)
    }

    @Test("an empty (0-byte) file is initialised")
    func emptyFileIsInitialised() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.path("transferkeyd.db")
        #expect(FileManager.default.createFile(atPath: path, contents: Data()))
        let database = try AppDatabase.open(path: path)
        #expect(try database.appliedMigrations() == Migrations.all.map(\.name))
    }

    @Test("write commits on return and rolls back when the body throws")
    func writeIsOneTransaction() throws {
        struct Abort: Error {}
        let database = try AppDatabase(DatabaseQueue())
        #expect(throws: Abort.self) {
            try database.write { db in
                _ = try AuditLog.append(db, at: Date(), importID: nil, kind: "k", detail: "{}", actor: "t", key: nil)
                throw Abort()
            }
        }
        #expect(try database.read { try AuditEvent.fetchCount($0) } == 0)
        _ = try database.write {
            try AuditLog.append($0, at: Date(), importID: nil, kind: "k", detail: "{}", actor: "t", key: nil)
        }
        #expect(try database.read { try AuditEvent.fetchCount($0) } == 1)
    }

    @Test("openExisting reads a migrated database without migrating it")
    func openExistingReads() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.path("transferkeyd.db")
        do {
            let database = try AppDatabase.open(path: path)
            _ = try database.write {
                try AuditLog.append($0, at: Date(), importID: "imp-1", kind: "k", detail: "{}", actor: "t", key: nil)
            }
        }
        let readOnly = try AppDatabase.openExisting(path: path, readOnly: true)
        #expect(try readOnly.appliedMigrations() == Migrations.all.map(\.name))
        #expect(try readOnly.read { try AuditLog.verify($0) } == .intact(events: 1))
        let error = #expect(throws: StoreError.self) {
            try readOnly.write { db in try db.execute(sql: "DELETE FROM flags") }
        }
        #expect(error?.code == .readOnly)

        let readWrite = try AppDatabase.openExisting(path: path, readOnly: false)
        _ = try readWrite.write {
            try AuditLog.append($0, at: Date(), importID: "imp-1", kind: "k", detail: "{}", actor: "t", key: nil)
        }
        #expect(try readWrite.read { try AuditLog.verify($0) } == .intact(events: 2))
    }
}

@Suite("StoreError")
struct StoreErrorTests {
    @Test("a full disk during a write surfaces as StoreError.diskFull and writes nothing")
    func diskFull() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.path("transferkeyd.db")
        let database = try AppDatabase.open(path: path)
        // Cap the file at its current size: the next page SQLite needs fails with SQLITE_FULL.
        try database.writer.writeWithoutTransaction { db in
            let pages = try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0
            try db.execute(sql: "PRAGMA max_page_count = \(pages)")
        }
        let error = #expect(throws: StoreError.self) {
            try database.write { db in
                for index in 1...200 {
                    _ = try AuditLog.append(
                        db, at: Date(), importID: nil, kind: "k",
                        detail: #"{"pad":"\#(String(repeating: "x", count: 500))","i":\#(index)}"#, actor: "t", key: nil
                    )
                }
            }
        }
        #expect(error?.code == .diskFull)
        #expect(error?.description.contains("is full") == true)
        #expect(try database.read { try AuditLog.verify($0) } == .intact(events: 0))
    }

    @Test("database errors that mean 'unusable' are classified; others are left alone")
    func classification() {
        let cases: [(ResultCode, StoreError.Code?)] = [
            (.SQLITE_BUSY, .busy), (.SQLITE_LOCKED, .busy), (.SQLITE_READONLY, .readOnly), (.SQLITE_FULL, .diskFull),
            (.SQLITE_NOTADB, .notADatabase), (.SQLITE_CORRUPT, .notADatabase), (.SQLITE_CANTOPEN, .unavailable),
            (.SQLITE_IOERR, .unavailable), (.SQLITE_CONSTRAINT, nil), (.SQLITE_ERROR, nil),
        ]
        for (code, expected) in cases {
            let error = StoreError(DatabaseError(resultCode: code, message: "m"), path: "/var/lib/x.db")
            #expect(error?.code == expected, "\(code)")
            if let error {
                #expect(error.description.contains("/var/lib/x.db") && !error.description.contains("\n"))
            }
        }
        struct Other: Error {}
        #expect(StoreError(Other(), path: nil) == nil)
    }

    @Test("a newer schema's description says what to do")
    func newerSchemaDescription() {
        let error = StoreError.newerSchema(
            path: "/var/lib/transferkeyd/transferkeyd.db", applied: ["0001_init", "0002_more"], known: ["0001_init"])
        #expect(
            error.description
                == "/var/lib/transferkeyd/transferkeyd.db was migrated by a newer transferkeyd (migrations 0002_more"
                + " are unknown to this binary, which knows up to 0001_init) — install that newer version;"
                + " the database was not modified")
    }
}
