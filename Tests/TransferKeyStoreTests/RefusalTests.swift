import Foundation
import GRDB
import Testing
import TransferKeyTestSupport

@testable import TransferKeyStore

@Suite("Refusing files that are not ours, leaving them byte-identical")
struct RefusalTests {
    /// Opens `path` both ways and expects both to fail with `code`, with the file unchanged and no
    /// `-wal`, `-shm` or `-journal` file created.
    private func expectRefusal(
        _ path: String, _ code: StoreError.Code, sourceLocation: SourceLocation = #_sourceLocation
    )
        throws
    {
        let before = Files.bytes(path)
        let sideFilesBefore = ["-wal", "-shm", "-journal"].map { Files.exists(path + $0) }
        let opened = #expect(throws: StoreError.self, sourceLocation: sourceLocation) {
            try AppDatabase.open(path: path)
        }
        #expect(opened?.code == code, sourceLocation: sourceLocation)
        for readOnly in [true, false] {
            let existing = #expect(throws: StoreError.self, sourceLocation: sourceLocation) {
                try AppDatabase.openExisting(path: path, readOnly: readOnly)
            }
            #expect(existing?.code == code, sourceLocation: sourceLocation)
        }
        #expect(Files.bytes(path) == before, "the file changed", sourceLocation: sourceLocation)
        let sideFilesAfter = ["-wal", "-shm", "-journal"].map { Files.exists(path + $0) }
        #expect(sideFilesAfter == sideFilesBefore, "side files appeared", sourceLocation: sourceLocation)
        if let description = opened?.description {
            #expect(description.contains(path), sourceLocation: sourceLocation)
            #expect(!description.contains("\n"), sourceLocation: sourceLocation)
        }
    }

    @Test("a text file is refused as not a database")
    func textFile() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.path("transferkeyd.db")
        try Data("database = \"/var/lib/transferkeyd/transferkeyd.db\"\n".utf8).write(to: URL(fileURLWithPath: path))
        try expectRefusal(path, .notADatabase)
    }

    @Test("random bytes are refused as not a database")
    func randomBytes() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.path("transferkeyd.db")
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<8192).map { _ in UInt8.random(in: 0...255, using: &generator) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        try expectRefusal(path, .notADatabase)
    }

    @Test("a file with the SQLite header but garbage after it is refused")
    func corruptDatabase() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.path("transferkeyd.db")
        try Data(Array("SQLite format 3\0".utf8) + Array(repeating: 0xA5, count: 4080)).write(
            to: URL(fileURLWithPath: path))
        try expectRefusal(path, .notADatabase)
    }

    @Test("another application's SQLite database is refused, not migrated")
    func foreignDatabase() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.path("other.db")
        #expect(
            try Tool.sqlite3(path, "CREATE TABLE customers (id INTEGER PRIMARY KEY); INSERT INTO customers VALUES (1)")
                .status == 0)
        try expectRefusal(path, .notADatabase)
    }

    @Test("a database migrated by a newer transferkeyd is refused and not modified")
    func newerSchema() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.path("transferkeyd.db")
        _ = try AppDatabase.open(path: path)
        #expect(try Tool.sqlite3(path, "INSERT INTO grdb_migrations VALUES ('9999_future')").status == 0)
        try expectRefusal(path, .newerSchema)
        let error = #expect(throws: StoreError.self) { try AppDatabase.open(path: path) }
        #expect(error?.description.contains("9999_future") == true)
    }

    @Test("a newer schema is also refused while another process has the database open (WAL present)")
    func newerSchemaWhileOpen() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.path("transferkeyd.db")
        let running = try AppDatabase.open(path: path)
        try running.write { db in try db.execute(sql: "INSERT INTO grdb_migrations VALUES ('9999_future')") }
        #expect(Files.exists(path + "-wal"))
        let error = #expect(throws: StoreError.self) { try AppDatabase.open(path: path) }
        #expect(error?.code == .newerSchema)
        let existing = #expect(throws: StoreError.self) { try AppDatabase.openExisting(path: path, readOnly: true) }
        #expect(existing?.code == .newerSchema)
        #expect(throws: StoreError.self) { try AppDatabase(running.writer) }
    }

    @Test("an applied migration that is unknown but not newer is refused")
    func unknownMigration() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.path("transferkeyd.db")
        _ = try AppDatabase.open(path: path)
        #expect(try Tool.sqlite3(path, "INSERT INTO grdb_migrations VALUES ('0000_branch_hotfix')").status == 0)
        try expectRefusal(path, .unknownMigration)
    }

    @Test("openExisting refuses a missing file and creates nothing")
    func missingFile() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.path("absent/transferkeyd.db")
        for readOnly in [true, false] {
            let error = #expect(throws: StoreError.self) {
                try AppDatabase.openExisting(path: path, readOnly: readOnly)
            }
            #expect(error?.code == .unavailable)
            #expect(
                error?.description
                    == "no database at \(path) — has the daemon or `transferkeyd migrate` run?")
        }
        #expect(!Files.exists(folder.path("absent")))
    }

    @Test("openExisting refuses an empty file and leaves it empty")
    func emptyFileForReading() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.path("transferkeyd.db")
        #expect(FileManager.default.createFile(atPath: path, contents: Data()))
        let error = #expect(throws: StoreError.self) { try AppDatabase.openExisting(path: path, readOnly: true) }
        #expect(error?.code == .unavailable)
        #expect(
            error?.description
                == "the database \(path) was never initialised — has the daemon or `transferkeyd migrate` run?")
        #expect(Files.bytes(path) == Data())
    }

    @Test(
        "an SQLite file with content and no tables (what a lost WAL leaves) is damaged: open and openExisting refuse it, byte for byte"
    )
    func contentWithoutTables() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.path("transferkeyd.db")
        #expect(try Tool.sqlite3(path, "PRAGMA user_version = 7").status == 0)
        let before = Files.bytes(path)
        let error = #expect(throws: StoreError.self) { try AppDatabase.openExisting(path: path, readOnly: false) }
        #expect(error?.code == .unavailable)
        let damaged = #expect(throws: StoreError.self) { try AppDatabase.open(path: path) }
        #expect(damaged?.code == .notADatabase)
        #expect(damaged?.description.contains("damaged: the file has content but no tables") == true)
        #expect(damaged?.description.contains("migrate --reinitialise") == true)
        #expect(Files.bytes(path) == before)
    }

    @Test("a ledger whose audit chain no longer starts at the genesis, or whose events are all gone, is refused")
    func chainWithoutItsStart() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        for (name, cut) in [("head", "seq < 3"), ("all", "1")] {
            let path = folder.path("\(name).db")
            let database = try AppDatabase.open(path: path)
            for index in 1...4 {
                _ = try database.write { db in
                    try AuditLog.append(
                        db, at: Date(), importID: nil, kind: "tick", detail: #"{"i":\#(index)}"#, actor: "t", key: nil)
                }
            }
            // Whoever can write the file drops the triggers and the first events.
            let sql = "DROP TRIGGER events_refuse_delete; DELETE FROM events WHERE \(cut);"
            #expect(try Tool.sqlite3(path, sql).status == 0)
            let error = #expect(throws: StoreError.self) { try AppDatabase.open(path: path) }
            #expect(error?.code == .notADatabase, "\(name)")
            #expect(error?.description.contains("damaged") == true, "\(String(describing: error))")
        }
    }

    @Test("a folder at the database path is refused")
    func folderAtPath() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let error = #expect(throws: StoreError.self) { try AppDatabase.open(path: folder.url.path) }
        #expect(error?.code == .notADatabase)
    }
}
