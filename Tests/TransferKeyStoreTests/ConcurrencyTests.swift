import Foundation
import GRDB
import Testing
import TransferKeyTestSupport

@testable import TransferKeyStore

@Suite("Two processes on one database file")
struct ConcurrencyTests {
    @Test("two pools appending 200 events each at the same time leave 400 events in one intact chain")
    func concurrentAppends() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.path("transferkeyd.db")
        let daemon = try AppDatabase.open(path: path)
        let cli = try AppDatabase.open(path: path)
        let writers = [(daemon, "daemon"), (cli, "cli")].map { database, actor in
            Background {
                for index in 1...200 {
                    _ = try database.write { db in
                        try AuditLog.append(
                            db, at: Date(), importID: "imp-\(actor)", kind: "tick", detail: #"{"i":\#(index)}"#,
                            actor: actor, key: nil)
                    }
                }
            }
        }
        for writer in writers { try writer.value() }
        #expect(try daemon.read { try AuditLog.verify($0) } == .intact(events: 400))
        #expect(try cli.read { try Int64.fetchAll($0, sql: "SELECT seq FROM events ORDER BY seq") } == Array(1...400))
        #expect(try daemon.read { try AuditLog.events($0, importID: "imp-cli") }.count == 200)
    }

    @Test("the change counter (a cached PRAGMA data_version) moves on every other writer's commit, not on its own")
    func externalChangeCounter() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.path("transferkeyd.db")
        let daemon = TransferStore(try AppDatabase.open(path: path))
        let cli = try AppDatabase.open(path: path)
        var seen = try daemon.externalChangeCounter()
        for round in 1...3 {
            try daemon.recordDaemonEvent(.daemonStarted, detail: [:], now: Date(), actor: "daemon")
            #expect(try daemon.externalChangeCounter() == seen, "its own commit \(round) is not an outside change")
            _ = try cli.write {
                try AuditLog.append($0, at: Date(), importID: nil, kind: "track", detail: "{}", actor: "cli", key: nil)
            }
            let now = try daemon.externalChangeCounter()
            #expect(now != seen, "the other writer's commit \(round) is seen")
            seen = now
        }
    }

    @Test("two processes opening a fresh file at once both migrate it without error")
    func concurrentMigrations() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        for round in 1...5 {
            let path = folder.path("round-\(round)/transferkeyd.db")
            let openers = (1...2).map { _ in Background { try AppDatabase.open(path: path) } }
            let databases = try openers.map { try $0.value() }
            for database in databases {
                #expect(try database.appliedMigrations() == Migrations.all.map(\.name))
            }
        }
    }

    @Test("a first start killed while building the ledger leaves only its aside file, which the next start removes")
    func staleAsideFile() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.path("transferkeyd.db")
        let finished = Process()
        finished.executableURL = URL(fileURLWithPath: "/bin/true")
        try finished.run()
        finished.waitUntilExit()
        let stale = path + ".init-\(finished.processIdentifier)-42"
        #expect(FileManager.default.createFile(atPath: stale, contents: Data("SQLite format 3\0".utf8)))
        #expect(FileManager.default.createFile(atPath: stale + "-journal", contents: Data([1])))
        #expect(try AppDatabase.open(path: path).appliedMigrations() == Migrations.all.map(\.name))
        let left = try FileManager.default.contentsOfDirectory(atPath: folder.url.path)
        #expect(!left.contains { $0.contains(".init-") }, "\(left)")
        #expect(left.contains("transferkeyd.db"))
    }

    @Test("while a write transaction is open, sqlite3 reads and a second writer waits, then succeeds")
    func readersAndWaitingWriter() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.path("transferkeyd.db")
        let daemon = try AppDatabase.open(path: path)
        let cli = try AppDatabase.open(path: path)
        _ = try daemon.write {
            try AuditLog.append($0, at: Date(), importID: nil, kind: "boot", detail: "{}", actor: "d", key: nil)
        }

        let holding = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let holder = Background {
            try daemon.write { db in
                _ = try AuditLog.append(db, at: Date(), importID: nil, kind: "held", detail: "{}", actor: "d", key: nil)
                holding.signal()
                release.wait()
            }
        }
        holding.wait()
        // WAL: a reader sees the last committed state without waiting for the writer.
        let count = try Tool.sqlite3(path, "SELECT count(*) FROM events")
        #expect(count.status == 0, "\(count.stderr)")
        #expect(count.stdout == "1\n")

        let started = Date()
        let waiter = Background {
            try cli.write { db in
                try AuditLog.append(db, at: Date(), importID: nil, kind: "waited", detail: "{}", actor: "cli", key: nil)
            }
        }
        Thread.sleep(forTimeInterval: 1)
        release.signal()
        try holder.value()
        let waited = try waiter.value()
        #expect(Date().timeIntervalSince(started) >= 0.9)
        #expect(waited.seq == 3)
        #expect(try cli.read { try AuditLog.verify($0) } == .intact(events: 3))
    }

    @Test("a writer blocked beyond the 5 s busy timeout gets StoreError.busy")
    func busyBeyondTimeout() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.path("transferkeyd.db")
        let daemon = try AppDatabase.open(path: path)
        let cli = try AppDatabase.open(path: path)
        let holding = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let holder = Background {
            try daemon.write { _ in
                holding.signal()
                release.wait()
            }
        }
        holding.wait()
        defer {
            release.signal()
            _ = try? holder.value()
        }
        let started = Date()
        let error = #expect(throws: StoreError.self) {
            try cli.write { db in try db.execute(sql: "DELETE FROM flags") }
        }
        #expect(error?.code == .busy)
        #expect(Date().timeIntervalSince(started) >= 4.5)
    }
}
