import Foundation
import GRDB
import TransferKeyCore

/// One row of `transfers`: a temporary key whose life the daemon owns.
///
/// Times are `Date`s in Swift and the contract's UTC ISO-8601 text with milliseconds in SQLite (`Timestamp`,
/// through GRDB's date strategies below), so what an auditor reads with `sqlite3` is what the daemon wrote.
/// Queries that compare a time column compare that text: build their bound with `Timestamp.string`.
public struct TransferRecord: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "transfers"

    /// The row id (SQLite's rowid).
    public var id: Int64?
    public var importID: String
    public var accountID: String
    public var region: String
    public var keyID: String?
    public var keyARN: String?
    public var aliasName: String?
    public var state: TransferState
    public var origin: TransferOrigin
    public var snapshotAccountID: String?
    public var snapshotRegion: String?
    public var createdAt: Date
    public var updatedAt: Date
    public var deadlineAt: Date
    public var completedAt: Date?
    public var completion: Completion?
    public var keyDeletionDate: Date?
    public var attempts: Int
    public var nextAttemptAt: Date?
    public var lastError: String?
    /// When DescribeKey first answered for the key (or CreateKey made it); nil while never seen.
    public var keySeenAt: Date?
    /// AWS's time when the transfer was recorded (`aws_recorded_at`); nil when AWS's clock was not known then.
    public var awsRecordedAt: Date?
    /// When the current run of failed attempts began (`failing_since`); nil while `attempts` is 0.
    public var failingSince: Date?

    /// The columns, for type-safe queries.
    public enum Columns {
        public static let id = Column(CodingKeys.id)
        public static let importID = Column(CodingKeys.importID)
        public static let accountID = Column(CodingKeys.accountID)
        public static let region = Column(CodingKeys.region)
        public static let keyID = Column(CodingKeys.keyID)
        public static let keyARN = Column(CodingKeys.keyARN)
        public static let aliasName = Column(CodingKeys.aliasName)
        public static let state = Column(CodingKeys.state)
        public static let origin = Column(CodingKeys.origin)
        public static let deadlineAt = Column(CodingKeys.deadlineAt)
        public static let nextAttemptAt = Column(CodingKeys.nextAttemptAt)
        public static let createdAt = Column(CodingKeys.createdAt)
    }

    enum CodingKeys: String, CodingKey {
        case id
        case importID = "import_id"
        case accountID = "account_id"
        case region
        case keyID = "key_id"
        case keyARN = "key_arn"
        case aliasName = "alias_name"
        case state, origin
        case snapshotAccountID = "snapshot_account_id"
        case snapshotRegion = "snapshot_region"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case deadlineAt = "deadline_at"
        case completedAt = "completed_at"
        case completion
        case keyDeletionDate = "key_deletion_date"
        case attempts
        case nextAttemptAt = "next_attempt_at"
        case lastError = "last_error"
        case keySeenAt = "key_seen_at"
        case awsRecordedAt = "aws_recorded_at"
        case failingSince = "failing_since"
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }

    public static func databaseDateEncodingStrategy(for column: String) -> DatabaseDateEncodingStrategy {
        Timestamp.encodingStrategy
    }

    public static func databaseDateDecodingStrategy(for column: String) -> DatabaseDateDecodingStrategy {
        Timestamp.decodingStrategy
    }
    /// The account whose EC2 holds the destination snapshots.
    public var effectiveSnapshotAccountID: String { snapshotAccountID ?? accountID }
    /// The region whose EC2 holds the destination snapshots.
    public var effectiveSnapshotRegion: String { snapshotRegion ?? region }
}

extension TransferRecord {
    /// The transfer with `importID`, through the connection's cached statement: every step of every transfer reads
    /// its row this way, and a query-interface request is compiled (and authorized) anew each time.
    static func fetchOne(_ db: Database, importID: String) throws -> TransferRecord? {
        try fetchOne(db.cachedStatement(sql: "SELECT * FROM transfers WHERE import_id = ?"), arguments: [importID])
    }

    /// Whether a transfer with `importID` is recorded (a cached statement, like ``fetchOne(_:importID:)``).
    static func exists(_ db: Database, importID: String) throws -> Bool {
        try Bool.fetchOne(
            db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM transfers WHERE import_id = ?)"),
            arguments: [importID]) ?? false
    }
}
