import Foundation
import GRDB
import TransferKeyCore

/// One row of `transfers`: a temporary key whose life the daemon owns.
///
/// Timestamps are kept as the stored UTC ISO-8601 text (see `Timestamp`) so that what an auditor
/// reads with `sqlite3` is exactly what the daemon wrote; the `…Date` accessors parse them.
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
    public var createdAt: String
    public var updatedAt: String
    public var deadlineAt: String
    public var completedAt: String?
    public var completion: Completion?
    public var keyDeletionDate: String?
    public var attempts: Int
    public var nextAttemptAt: String?
    public var lastError: String?
    /// When DescribeKey first answered for the key (or CreateKey made it); nil while never seen.
    public var keySeenAt: String?
    /// AWS's time when the transfer was recorded (`aws_recorded_at`); nil when AWS's clock was not known then.
    public var awsRecordedAt: String?
    /// When the current run of failed attempts began (`failing_since`); nil while `attempts` is 0.
    public var failingSince: String?

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

    /// AWS's time when the transfer was recorded, if known.
    public var awsRecordedDate: Date? { awsRecordedAt.flatMap(Timestamp.date) }

    /// When cleanup starts at the latest.
    public var deadlineDate: Date? { Timestamp.date(deadlineAt) }
    /// When AWS will delete the key, once scheduled.
    public var keyDeletionDateValue: Date? { keyDeletionDate.flatMap(Timestamp.date) }
    /// When the daemon should next work on this transfer.
    public var nextAttemptDate: Date? { nextAttemptAt.flatMap(Timestamp.date) }
    /// The account whose EC2 holds the destination snapshots.
    public var effectiveSnapshotAccountID: String { snapshotAccountID ?? accountID }
    /// The region whose EC2 holds the destination snapshots.
    public var effectiveSnapshotRegion: String { snapshotRegion ?? region }
}
