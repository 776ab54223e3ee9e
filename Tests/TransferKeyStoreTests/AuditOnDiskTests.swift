import Foundation
import GRDB
import Testing
import TransferKeyTestSupport

@testable import TransferKeyStore

@Suite("The audit trail on disk, seen by an auditor's tools")
struct AuditOnDiskTests {
    /// The Python verifier from `AuditLog`'s documentation, exactly as an auditor would copy it.
    static func documentedVerifier() throws -> String {
        let source = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appending(path: "Sources/TransferKeyStore/Audit/AuditLog.swift")
        let lines = try String(contentsOf: source, encoding: .utf8).split(
            separator: "\n", omittingEmptySubsequences: false)
        let start = try #require(lines.firstIndex { $0.trimmingCharacters(in: .whitespaces) == "/// ```python" })
        let end = try #require(
            lines[(start + 1)...].firstIndex { $0.trimmingCharacters(in: .whitespaces) == "/// ```" })
        return lines[(start + 1)..<end].map { line in
            let text = line.drop { $0 == " " }.dropFirst(3)
            return String(text.first == " " ? text.dropFirst() : text)
        }.joined(separator: "\n") + "\n"
    }

    /// Writes `count` chained events with Python, computing hashes the documented way.
    static let pythonWriter = """
        import hashlib, sqlite3, sys

        def field(value):
            if value is None:
                return b"~"
            data = str(value).encode("utf-8")
            return str(len(data)).encode() + b":" + data + b","

        db = sqlite3.connect(sys.argv[1])
        count, prev = int(sys.argv[2]), "0" * 64

        def rows():
            global prev
            for seq in range(1, count + 1):
                values = (seq, "2026-11-28T23:18:16.123Z", None if seq % 3 == 0 else f"imp-{seq % 7}",
                          "bulk", '{"n":%d,"naïve":"Grüße, 🔑"}' % seq, "python")
                digest = hashlib.sha256(prev.encode() + b"".join(field(v) for v in values)).hexdigest()
                yield values + (prev, digest)
                prev = digest

        db.executemany("INSERT INTO events (seq, at, import_id, kind, detail, actor, prev_hash, hash) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows())
        db.commit()
        """

    static func python(_ script: String, _ arguments: [String], in folder: TemporaryDirectory) throws -> Tool.Output {
        let path = folder.path("script-\(UUID().uuidString.prefix(6)).py")
        try Data(script.utf8).write(to: URL(fileURLWithPath: path))
        return try Tool.run("python3", [path] + arguments)
    }

    @Test("the documented Python script agrees with verify on an intact and on an edited chain")
    func pythonAgrees() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.path("transferkeyd.db")
        let database = try AppDatabase.open(path: path)
        try database.write { db in
            for index in 1...30 {
                _ = try AuditLog.append(
                    db, at: Date(timeIntervalSince1970: 1_795_000_000 + Double(index) / 7),
                    importID: [nil, "", "imp-ü"][index % 3], kind: "state_changed",
                    detail: #"{"to":"cleaned","note":"Grüße 🔑 \"quoted\"","i":\#(index)}"#, actor: "cli:root", key: nil)
            }
        }
        let verifier = try Self.documentedVerifier()
        #expect(verifier.contains("hashlib.sha256"))
        let intact = try Self.python(verifier, [path], in: folder)
        #expect(intact.status == 0, "\(intact.stderr)")
        #expect(intact.stdout == "intact 30\n")
        #expect(try database.read { try AuditLog.verify($0) } == .intact(events: 30))

        #expect(
            try Tool.sqlite3(path, "DROP TRIGGER events_refuse_update; UPDATE events SET actor = 'x' WHERE seq = 12")
                .status == 0)
        let broken = try Self.python(verifier, [path], in: folder)
        #expect(broken.status == 1)
        #expect(broken.stderr == "broken at row 12\n")
        #expect(
            try database.read { try AuditLog.verify($0) }
                == .broken(seq: 12, reason: "row 12 was edited (hash mismatch)"))
    }

    @Test("a chain written by Python the documented way verifies in Swift, streaming")
    func largeChainFromPython() throws {
        // 1,000,000 rows pass too (TRANSFERKEYD_AUDIT_ROWS=1000000); the default keeps the suite quick.
        let count = Int(ProcessInfo.processInfo.environment["TRANSFERKEYD_AUDIT_ROWS"] ?? "") ?? 20_000
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.path("transferkeyd.db")
        _ = try AppDatabase.open(path: path)
        let written = try Self.python(Self.pythonWriter, [path, String(count)], in: folder)
        #expect(written.status == 0, "\(written.stderr)")
        let database = try AppDatabase.openExisting(path: path, readOnly: true)
        #expect(try database.read { try AuditLog.verify($0) } == .intact(events: count))
        // Swift continues the Python-written chain and both still agree.
        let writer = try AppDatabase.open(path: path)
        _ = try writer.write {
            try AuditLog.append($0, at: Date(), importID: nil, kind: "k", detail: "{}", actor: "t", key: nil)
        }
        #expect(try writer.read { try AuditLog.verify($0) } == .intact(events: count + 1))
        let checked = try Self.python(try Self.documentedVerifier(), [path], in: folder)
        #expect(checked.stdout == "intact \(count + 1)\n", "\(checked.stderr)")
    }

    @Test("the sqlite3 CLI cannot update or delete events while the triggers stand")
    func triggersRefuseThroughCLI() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.path("transferkeyd.db")
        let database = try AppDatabase.open(path: path)
        _ = try database.write { db in
            try (1...3).map { _ in
                try AuditLog.append(db, at: Date(), importID: nil, kind: "k", detail: "{}", actor: "t", key: nil)
            }
        }
        for sql in [
            "UPDATE events SET detail = '{}' WHERE seq = 2", "DELETE FROM events WHERE seq = 3",
            "REPLACE INTO events SELECT * FROM events WHERE seq = 1",
        ] {
            let result = try Tool.sqlite3(path, sql)
            #expect(result.status != 0, "\(sql) was accepted")
            #expect(result.stderr.contains("events is append-only"), "\(result.stderr)")
        }
        #expect(try database.read { try AuditLog.verify($0) } == .intact(events: 3))
    }

    @Test("deleting the last row with the sqlite3 CLI is noticed")
    func lastRowDeletedThroughCLI() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.path("transferkeyd.db")
        let database = try AppDatabase.open(path: path)
        _ = try database.write { db in
            try (1...5).map { _ in
                try AuditLog.append(db, at: Date(), importID: nil, kind: "k", detail: "{}", actor: "t", key: nil)
            }
        }
        let deleted = try Tool.sqlite3(path, "DROP TRIGGER events_refuse_delete; DELETE FROM events WHERE seq = 5")
        #expect(deleted.status == 0, "\(deleted.stderr)")
        #expect(
            try database.read { try AuditLog.verify($0) } == .broken(seq: 5, reason: "the last row (5) was deleted"))
    }
}
