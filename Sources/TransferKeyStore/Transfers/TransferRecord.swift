import Foundation
import GRDB
import TransferKeyCore

/// One row of `transfers`: a temporary key whose life the daemon owns.
///
/// Times are `Date`s in Swift and the contract's UTC ISO-8601 text with milliseconds in SQLite (`Timestamp`,
/// in `init(row:)` and `encode(to:)` below), so what an auditor reads with `sqlite3` is what the daemon wrote.
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

    enum CodingKeys: String, CodingKey, CaseIterable {
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

    /// The account whose EC2 holds the destination snapshots.
    public var effectiveSnapshotAccountID: String { snapshotAccountID ?? accountID }
    /// The region whose EC2 holds the destination snapshots.
    public var effectiveSnapshotRegion: String { snapshotRegion ?? region }
}

extension TransferRecord {
    /// The row, column by column. Written out rather than left to `Decodable`: every step of every transfer reads its
    /// row, and GRDB's row decoder (a keyed container and a date strategy per column) was a tenth of the cost of a
    /// cleaned key's writes in the profile (`make profile`). A time that does not parse, or is not text at all (only a
    /// hand edit writes either), reads as long past, as `Timestamp.readBack` has it; a state, origin or completion
    /// this build does not know fails the fetch, as the decoder did.
    public init(row: Row) throws {
        func text(_ key: CodingKeys) throws -> String { try row.decode(forColumn: key.rawValue) }
        func optionalText(_ key: CodingKeys) throws -> String? { try row.decode(forColumn: key.rawValue) }
        // A time that is not text (only a hand edit stores one) reads as long past, as text that does not parse.
        func optionalTime(_ key: CodingKeys) -> Date? {
            let stored: DatabaseValue = row[key.rawValue]
            if stored.isNull { return nil }
            return String.fromDatabaseValue(stored).map(Timestamp.readBack) ?? .distantPast
        }
        func time(_ key: CodingKeys) -> Date { optionalTime(key) ?? .distantPast }
        func value<Value: RawRepresentable<String>>(_ raw: String, _ key: CodingKeys) throws -> Value {
            guard let value = Value(rawValue: raw) else { throw TransferRecordDecodingError(column: key, value: raw) }
            return value
        }
        id = try row.decode(forColumn: CodingKeys.id.rawValue)
        importID = try text(.importID)
        accountID = try text(.accountID)
        region = try text(.region)
        keyID = try optionalText(.keyID)
        keyARN = try optionalText(.keyARN)
        aliasName = try optionalText(.aliasName)
        state = try value(text(.state), .state)
        origin = try value(text(.origin), .origin)
        snapshotAccountID = try optionalText(.snapshotAccountID)
        snapshotRegion = try optionalText(.snapshotRegion)
        createdAt = time(.createdAt)
        updatedAt = time(.updatedAt)
        deadlineAt = time(.deadlineAt)
        completedAt = optionalTime(.completedAt)
        completion = try optionalText(.completion).map { try value($0, .completion) }
        keyDeletionDate = optionalTime(.keyDeletionDate)
        attempts = try row.decode(forColumn: CodingKeys.attempts.rawValue)
        nextAttemptAt = optionalTime(.nextAttemptAt)
        lastError = try optionalText(.lastError)
        keySeenAt = optionalTime(.keySeenAt)
        awsRecordedAt = optionalTime(.awsRecordedAt)
        failingSince = optionalTime(.failingSince)
    }

    /// One column's value as stored: times as the contract's text (`Timestamp.string`), enums as their raw value. The
    /// one place both ``encode(to:)`` and ``updateRow(_:)`` take a value from (see ``init(row:)`` for why written out).
    func storedValue(_ column: CodingKeys) -> (any DatabaseValueConvertible)? {
        switch column {
        case .id: id
        case .importID: importID
        case .accountID: accountID
        case .region: region
        case .keyID: keyID
        case .keyARN: keyARN
        case .aliasName: aliasName
        case .state: state.rawValue
        case .origin: origin.rawValue
        case .snapshotAccountID: snapshotAccountID
        case .snapshotRegion: snapshotRegion
        case .createdAt: Timestamp.string(createdAt)
        case .updatedAt: Timestamp.string(updatedAt)
        case .deadlineAt: Timestamp.string(deadlineAt)
        case .completedAt: completedAt.map(Timestamp.string)
        case .completion: completion?.rawValue
        case .keyDeletionDate: keyDeletionDate.map(Timestamp.string)
        case .attempts: attempts
        case .nextAttemptAt: nextAttemptAt.map(Timestamp.string)
        case .lastError: lastError
        case .keySeenAt: keySeenAt.map(Timestamp.string)
        case .awsRecordedAt: awsRecordedAt.map(Timestamp.string)
        case .failingSince: failingSince.map(Timestamp.string)
        }
    }

    /// The row's values, every column (``storedValue(_:)``).
    public func encode(to container: inout PersistenceContainer) throws {
        for column in CodingKeys.allCases { container[column.rawValue] = storedValue(column) }
    }

    /// Every column but the row id, in the order of ``updateSQL``.
    private static let updatedColumns = CodingKeys.allCases.filter { $0 != .id }
    private static let updateSQL =
        "UPDATE transfers SET " + updatedColumns.map { "\($0.rawValue) = ?" }.joined(separator: ", ") + " WHERE id = ?"

    /// GRDB's `update(_:)` — every column of the row with this `id` — through one cached statement: GRDB builds that
    /// statement and a container of the values anew on every call, and every state change of every transfer updates
    /// its row (`make profile`: nearly half of the update's cost). Throws `RecordError.recordNotFound`, as `update`,
    /// when no row has this id.
    func updateRow(_ db: Database) throws {
        guard let id else {
            throw RecordError.recordNotFound(databaseTableName: Self.databaseTableName, key: ["id": DatabaseValue.null])
        }
        try db.cachedStatement(sql: Self.updateSQL).execute(
            arguments: StatementArguments(Self.updatedColumns.map(storedValue) + [id]))
        guard db.changesCount > 0 else {
            throw RecordError.recordNotFound(databaseTableName: Self.databaseTableName, key: ["id": id.databaseValue])
        }
    }

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

/// A `transfers` row holds a value this build has no case for (only a hand edit or a newer version writes one).
public struct TransferRecordDecodingError: Error, CustomStringConvertible {
    let column: TransferRecord.CodingKeys
    let value: String
    public var description: String {
        "transfers.\(column.rawValue) holds \"\(value)\", which this version does not know"
    }
}
