import Foundation
import GRDB
import TransferKeyCore

/// One row of the hash-chained, append-only `events` table.
public struct AuditEvent: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    /// The table.
    public static let databaseTableName = "events"

    /// Position in the chain: 1, 2, 3… with no gap (SQLite AUTOINCREMENT).
    public let seq: Int64
    /// When it happened, as stored: UTC ISO-8601 text with milliseconds. The one time kept as text in Swift: like
    /// `detail`, it is hashed byte for byte, so the chain is checked over what the file holds, not over a
    /// re-formatting of it. `date` is its value.
    public let at: String
    /// The transfer it concerns, if any.
    public let importID: String?
    /// What happened, e.g. `state_changed` or `aws_schedule_key_deletion`.
    public let kind: String
    /// A JSON object's text, stored and hashed byte for byte as given.
    public let detail: String
    /// Who did it: `daemon`, `cli:USER`, …
    public let actor: String
    /// The previous event's `hash`; 64 zeros for the first event.
    public let prevHash: String
    /// Lowercase hex SHA-256 of `prevHash` and this event's canonical encoding (see `AuditLog`).
    public let hash: String
    /// Lowercase hex HMAC-SHA-256 of `hash` under the audit key (`AuditKey`); nil when written without one.
    public var mac: String?

    /// Creates an event value; `AuditLog.append` is the only way to store one.
    public init(
        seq: Int64, at: String, importID: String?, kind: String, detail: String, actor: String,
        prevHash: String, hash: String, mac: String? = nil
    ) {
        self.mac = mac
        self.seq = seq
        self.at = at
        self.importID = importID
        self.kind = kind
        self.detail = detail
        self.actor = actor
        self.prevHash = prevHash
        self.hash = hash
    }

    /// The row, column by column: not left to `Decodable` (a keyed container per column), as every step of every
    /// transfer reads its events to verify its row (`TransferStore.rowDisagreement`). A value that is not text where
    /// text belongs fails the fetch, as the decoder did.
    public init(row: Row) throws {
        seq = try row.decode(forColumn: CodingKeys.seq.rawValue)
        at = try row.decode(forColumn: CodingKeys.at.rawValue)
        importID = try row.decode(forColumn: CodingKeys.importID.rawValue)
        kind = try row.decode(forColumn: CodingKeys.kind.rawValue)
        detail = try row.decode(forColumn: CodingKeys.detail.rawValue)
        actor = try row.decode(forColumn: CodingKeys.actor.rawValue)
        prevHash = try row.decode(forColumn: CodingKeys.prevHash.rawValue)
        hash = try row.decode(forColumn: CodingKeys.hash.rawValue)
        mac = try row.decode(forColumn: CodingKeys.mac.rawValue)
    }

    /// When it happened; nil when the stored text is not a time (only an edit of the file writes one).
    public var date: Date? { Timestamp.date(at) }

    enum CodingKeys: String, CodingKey {
        case seq, at
        case importID = "import_id"
        case kind, detail, actor
        case prevHash = "prev_hash"
        case hash, mac
    }

    /// The table's columns, for queries.
    public enum Columns {
        /// `seq`
        public static let seq = Column("seq")
        /// `at`
        public static let at = Column("at")
        /// `import_id`
        public static let importID = Column("import_id")
        /// `kind`
        public static let kind = Column("kind")
        /// `detail`
        public static let detail = Column("detail")
        /// `actor`
        public static let actor = Column("actor")
        /// `prev_hash`
        public static let prevHash = Column("prev_hash")
        /// `hash`
        public static let hash = Column("hash")
    }
}
