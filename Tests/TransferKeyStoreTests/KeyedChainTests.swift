import Foundation
import GRDB
import Testing
import TransferKeyTestSupport

@testable import TransferKeyStore

@Suite("The keyed audit chain: MACs with a secret outside the database")
struct KeyedChainTests {
    static let start = Date(timeIntervalSince1970: 1_795_000_000)

    static func append(_ database: AppDatabase, _ range: ClosedRange<Int>, key: AuditKey?) throws {
        try database.write { db in
            for index in range {
                _ = try AuditLog.append(
                    db, at: start.addingTimeInterval(Double(index)), importID: "imp-\(index % 3)", kind: "tick",
                    detail: #"{"n":\#(index)}"#, actor: "daemon", key: key)
            }
        }
    }

    /// What an attacker with write access to the file (and no key) does: drop the triggers, change a row, and
    /// recompute every hash from there with the documented algorithm; `stripMACs` also clears the MACs.
    static func forge(_ database: AppDatabase, seq: Int64, detail: String, stripMACs: Bool) throws {
        try database.writer.writeWithoutTransaction { db in
            try db.execute(
                sql: "DROP TRIGGER IF EXISTS events_refuse_update; DROP TRIGGER IF EXISTS events_refuse_replace")
            try db.execute(sql: "UPDATE events SET detail = ? WHERE seq = ?", arguments: [detail, seq])
            if stripMACs { try db.execute(sql: "UPDATE events SET mac = NULL") }
            let rows = try Row.fetchAll(
                db, sql: "SELECT seq, at, import_id, kind, detail, actor FROM events ORDER BY seq")
            var prev = AuditLog.genesisHash
            for row in rows {
                let hash = AuditLog.hash(
                    prevHash: prev, seq: row["seq"], at: row["at"], importID: row["import_id"], kind: row["kind"],
                    detail: row["detail"], actor: row["actor"])
                try db.execute(
                    sql: "UPDATE events SET prev_hash = ?, hash = ? WHERE seq = ?", arguments: [prev, hash, row["seq"]])
                prev = hash
            }
        }
    }

    @Test(
        "a keyed chain verifies with its key; without it, it is unverified; a recomputed chain fails at the first forged event"
    )
    func forgedChainIsCaught() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let key = try AuditKey.create(path: folder.path("audit.key"), fromSeq: 1)
        let database = try AppDatabase(DatabaseQueue(), auditKey: key)
        try Self.append(database, 1...6, key: key)
        #expect(try database.verifyAuditTrail() == .intact(events: 6))
        guard case .unverified(6, let reason) = try database.keyed(with: nil).verifyAuditTrail() else {
            Issue.record("a keyed chain without its key must not pass")
            return
        }
        #expect(reason.contains("events from 1 on carry MACs"))

        // The plain SHA-256 chain is recomputed: the links hold, the MACs do not.
        try Self.forge(database, seq: 4, detail: #"{"n":"forged"}"#, stripMACs: false)
        #expect(try database.read { try AuditLog.verify($0) }.isIntactLinks)
        guard case .broken(4, let forged) = try database.verifyAuditTrail() else {
            Issue.record("expected the forgery at event 4")
            return
        }
        #expect(forged.contains("MAC does not verify") && forged.contains(key.fingerprint), "\(forged)")
    }

    @Test("stripping every MAC does not make a keyed chain unkeyed: the key file says from which event MACs are due")
    func strippedMACs() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let key = try AuditKey.create(path: folder.path("audit.key"), fromSeq: 1)
        let database = try AppDatabase(DatabaseQueue(), auditKey: key)
        try Self.append(database, 1...3, key: key)
        try Self.forge(database, seq: 2, detail: #"{"n":"x"}"#, stripMACs: true)
        #expect(
            try database.verifyAuditTrail()
                == .broken(
                    seq: 1,
                    reason:
                        "event 1 carries no MAC though the chain is keyed from event 1: it was written or rewritten without the audit key"
                ))
    }

    @Test("an existing unkeyed ledger is keyed from its next event: the old prefix stays verifiable as what it was")
    func keyedLater() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let plain = try AppDatabase(DatabaseQueue())
        try Self.append(plain, 1...3, key: nil)
        let key = try AuditKey.create(path: folder.path("audit.key"), fromSeq: try plain.keyingState().lastSeq + 1)
        #expect(key.fromSeq == 4)
        let database = plain.keyed(with: key)
        try Self.append(database, 4...6, key: key)
        #expect(try database.verifyAuditTrail() == .intact(events: 6))
        #expect(try database.keyingState().firstKeyed == 4)
        // Editing the unkeyed prefix and recomputing breaks every later MAC.
        try Self.forge(database, seq: 2, detail: #"{"n":"old"}"#, stripMACs: false)
        guard case .broken(4, _) = try database.verifyAuditTrail() else {
            Issue.record("an edit before the keyed part must still be caught at the first keyed event")
            return
        }
    }

    @Test("the key file: one line, mode 0440, never replaced; refused when readable by anyone or not a key file")
    func keyFile() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.path("audit.key")
        let made = try AuditKey.create(path: path, fromSeq: 7)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o440)
        let loaded = try AuditKey.load(path: path)
        #expect(loaded.fromSeq == 7 && loaded.fingerprint == made.fingerprint)
        #expect(loaded.mac(hash: "abc") == made.mac(hash: "abc") && made.mac(hash: "abc").count == 64)
        #expect(throws: StoreError.self) { try AuditKey.create(path: path, fromSeq: 1) }

        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        let open = #expect(throws: StoreError.self) { try AuditKey.load(path: path) }
        #expect(open?.description.contains("readable by anyone") == true)
        let garbage = folder.path("garbage.key")
        #expect(
            FileManager.default.createFile(
                atPath: garbage, contents: Data("hello\n".utf8), attributes: [.posixPermissions: 0o600]))
        let wrong = #expect(throws: StoreError.self) { try AuditKey.load(path: garbage) }
        #expect(wrong?.description.contains("is not a transferkeyd audit key file") == true)
        let missing = #expect(throws: StoreError.self) { try AuditKey.load(path: folder.path("none.key")) }
        #expect(missing?.description.contains("No such file") == true)
    }
}

extension AuditVerification {
    fileprivate var isIntactLinks: Bool {
        switch self {
        case .intact, .unverified: true
        case .broken: false
        }
    }
}

@Suite("Rows checked against the audit events that recorded them")
struct RowVerificationTests {
    static let start = Date(timeIntervalSince1970: 1_795_000_000)

    @Test("a row as recorded passes through its life; an edited field or a forged event is named")
    func rowDisagreement() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let key = try AuditKey.create(path: folder.path("audit.key"), fromSeq: 1)
        let store = TransferStore(try AppDatabase(DatabaseQueue(), auditKey: key))
        for n in 1...3 {
            _ = try store.record(
                NewTransfer(
                    importID: "imp-\(n)", accountID: "111122223333", region: "eu-west-1",
                    keyID: "1234abcd-12ab-34cd-56ef-12345678900\(n)",
                    aliasName: "alias/CadoResponse-KMS-Alias-imp-\(n)",
                    origin: .tracked, deadline: Self.start.addingTimeInterval(3600)),
                now: Self.start, actor: "test")
            _ = try store.complete("imp-\(n)", failed: false, now: Self.start, actor: "test")
        }
        for n in 1...3 {
            #expect(try store.rowDisagreement(#require(try store.transfer(importID: "imp-\(n)"))) == nil)
        }
        #expect(try store.disagreeingRows().isEmpty)

        try store.database.writer.writeWithoutTransaction { db in
            try db.execute(
                sql: "UPDATE transfers SET key_id = '00000000-0000-4000-8000-000000000000' WHERE import_id = 'imp-1'")
            try db.execute(sql: "UPDATE transfers SET alias_name = NULL WHERE import_id = 'imp-2'")
            // A forged `recorded` event for imp-3: appended with a stolen algorithm but no key.
            _ = try AuditLog.append(
                db, at: Self.start, importID: "imp-3", kind: "provenance_accepted", detail: #"{"accepted_by":"x"}"#,
                actor: "attacker", key: nil)
        }
        let rows = Dictionary(uniqueKeysWithValues: try store.disagreeingRows().map { ($0.importID, $0.reason) })
        #expect(rows["imp-1"]?.contains("its key_id is 00000000-0000-4000-8000-000000000000") == true, "\(rows)")
        #expect(rows["imp-2"]?.contains("its alias_name is NULL") == true, "\(rows)")
        #expect(rows["imp-3"]?.contains("carries no MAC") == true, "\(rows)")
    }
}
