import Foundation
import GRDB
import TransferKeyCore

/// One row of `transfer_snapshots`: a destination snapshot copy whose completion ends an import.
public struct SnapshotRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "transfer_snapshots"

    public var importID: String
    public var snapshotID: String
    /// Last EC2 state seen: `unknown`, `pending`, `completed`, `error`, `recoverable`, `recovering`, `missing`.
    public var state: String
    public var checkedAt: Date?

    /// The columns, for type-safe queries.
    public enum Columns {
        public static let importID = Column(CodingKeys.importID)
        public static let snapshotID = Column(CodingKeys.snapshotID)
        public static let state = Column(CodingKeys.state)
    }

    enum CodingKeys: String, CodingKey {
        case importID = "import_id"
        case snapshotID = "snapshot_id"
        case state
        case checkedAt = "checked_at"
    }

    public static func databaseDateEncodingStrategy(for column: String) -> DatabaseDateEncodingStrategy {
        Timestamp.encodingStrategy
    }

    public static func databaseDateDecodingStrategy(for column: String) -> DatabaseDateDecodingStrategy {
        Timestamp.decodingStrategy
    }

    /// Creates a row for a snapshot not polled yet.
    public init(importID: String, snapshotID: String, state: String = "unknown", checkedAt: Date? = nil) {
        self.importID = importID
        self.snapshotID = snapshotID
        self.state = state
        self.checkedAt = checkedAt
    }
}
