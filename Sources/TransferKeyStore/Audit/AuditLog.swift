import Crypto
import Foundation
import GRDB
import TransferKeyCore

/// The hash-chained, append-only `events` table.
///
/// Each row's `hash` is the lowercase hex SHA-256 of the previous row's `hash` (64 ASCII hex
/// characters; 64 zeros before the first row) followed by the row's canonical encoding:
/// the fields `seq, at, import_id, kind, detail, actor` in that order, each written as
/// `<byte length in decimal>:<UTF-8 bytes>,` (a netstring; `seq` as its decimal text), and
/// a NULL `import_id` as the single byte `~` — so NULL and "" differ, and no two rows encode alike.
/// For example `seq 1, at "2026-11-28T23:18:16.123Z", import_id NULL, kind "x", detail "{}",
/// actor "daemon"` encodes as `1:1,24:2026-11-28T23:18:16.123Z,~1:x,2:{},6:daemon,`.
///
/// An auditor can recompute the chain without transferkeyd (`python3 verify.py DB`; the test suite
/// runs exactly this script against databases written by this code):
///
/// ```python
/// import hashlib, sqlite3, sys
///
/// def field(value):  # NULL -> b"~"; anything else -> b"<byte length>:<UTF-8 bytes>,"
///     if value is None:
///         return b"~"
///     data = str(value).encode("utf-8")
///     return str(len(data)).encode() + b":" + data + b","
///
/// prev, count = "0" * 64, 0
/// rows = sqlite3.connect(sys.argv[1]).execute(
///     "SELECT seq, at, import_id, kind, detail, actor, prev_hash, hash FROM events ORDER BY seq")
/// for seq, at, import_id, kind, detail, actor, prev_hash, hash_ in rows:
///     canonical = b"".join(field(v) for v in (seq, at, import_id, kind, detail, actor))
///     if prev_hash != prev or hashlib.sha256(prev.encode() + canonical).hexdigest() != hash_:
///         sys.exit(f"broken at row {seq}")
///     prev, count = hash_, count + 1
/// print(f"intact {count}")
/// ```
///
/// The script checks the links; `verify(_:)` also checks that `seq` has no gap and, through
/// `sqlite_sequence` (the AUTOINCREMENT high-water mark), that no row was deleted from the end.
public enum AuditLog {
    /// The `prev_hash` of the first event.
    public static let genesisHash = String(repeating: "0", count: 64)

    /// Appends one event in the caller's transaction: computes seq/prev_hash/hash. `detail` is a JSON
    /// object's text (stored as-is; hashed as stored). Returns the stored event.
    ///
    /// Outside a transaction it opens an IMMEDIATE one of its own, so that reading the chain's end and
    /// inserting after it can never interleave with another process.
    ///
    /// With `key` (the database's `AppDatabase.auditKey`; callers pass it explicitly so that no writer forgets it)
    /// the event also carries its MAC.
    public static func append(
        _ db: Database, at: Date, importID: String?, kind: String, detail: String, actor: String, key: AuditKey?
    ) throws -> AuditEvent {
        guard db.isInsideTransaction else {
            var event: AuditEvent?
            try db.inTransaction(.immediate) {
                event = try append(db, at: at, importID: importID, kind: kind, detail: detail, actor: actor, key: key)
                return .commit
            }
            return event!
        }
        // The next seq comes from the AUTOINCREMENT high-water mark, not max(seq): if the last row
        // was deleted, the gap stays visible instead of a new row silently taking its number.
        let highWater =
            try Int64.fetchOne(db.cachedStatement(sql: "SELECT seq FROM sqlite_sequence WHERE name = 'events'")) ?? 0
        let last = try Row.fetchOne(db.cachedStatement(sql: "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1"))
        let lastSeq: Int64 = last?["seq"] ?? 0
        let prevHash: String = last?["hash"] ?? genesisHash
        let seq = max(highWater, lastSeq) + 1
        let at = Timestamp.string(at)
        let hash = hash(
            prevHash: prevHash, seq: seq, at: at, importID: importID, kind: kind, detail: detail, actor: actor)
        let event = AuditEvent(
            seq: seq, at: at, importID: importID, kind: kind, detail: detail, actor: actor, prevHash: prevHash,
            hash: hash, mac: key?.mac(hash: hash))
        // One cached statement, not the record's `insert`: GRDB builds that statement anew for every call, and every
        // step of every key appends events (`make bench`, CPU per cleaned key). The columns are `AuditEvent`'s.
        try db.cachedStatement(
            sql: """
                INSERT INTO events (seq, at, import_id, kind, detail, actor, prev_hash, hash, mac)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [seq, at, importID, kind, detail, actor, prevHash, hash, event.mac])
        return event
    }

    /// Events of one transfer, oldest first.
    public static func events(_ db: Database, importID: String) throws -> [AuditEvent] {
        // Cached: every step of every transfer reads its events (the row's verification).
        try AuditEvent.fetchAll(
            db.cachedStatement(sql: "SELECT * FROM events WHERE import_id = ? ORDER BY seq"), arguments: [importID])
    }

    /// The chain hash of one row: SHA-256 of `prevHash` then the row's canonical encoding, as hex.
    static func hash(
        prevHash: String, seq: Int64, at: String, importID: String?, kind: String, detail: String, actor: String
    ) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(96 + at.utf8.count + kind.utf8.count + detail.utf8.count + actor.utf8.count)
        bytes.append(contentsOf: prevHash.utf8)
        appendField(String(seq), to: &bytes)
        appendField(at, to: &bytes)
        appendField(importID, to: &bytes)
        appendField(kind, to: &bytes)
        appendField(detail, to: &bytes)
        appendField(actor, to: &bytes)
        var hasher = SHA256()
        bytes.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        return hex(hasher.finalize())
    }

    private static func appendField(_ value: String?, to bytes: inout [UInt8]) {
        guard let value else {
            bytes.append(UInt8(ascii: "~"))
            return
        }
        bytes.append(contentsOf: String(value.utf8.count).utf8)
        bytes.append(UInt8(ascii: ":"))
        bytes.append(contentsOf: value.utf8)
        bytes.append(UInt8(ascii: ","))
    }

    /// Lowercase hex of a digest or MAC, without a formatter per byte (it runs for every event written).
    static func hex<Bytes: ContiguousBytes>(_ digest: Bytes) -> String {
        digest.withUnsafeBytes { raw in
            String(unsafeUninitializedCapacity: 2 * raw.count) { characters in
                let digits: StaticString = "0123456789abcdef"
                for (index, byte) in raw.enumerated() {
                    characters[2 * index] = digits.utf8Start[Int(byte >> 4)]
                    characters[2 * index + 1] = digits.utf8Start[Int(byte & 0x0f)]
                }
                return 2 * raw.count
            }
        }
    }
}
