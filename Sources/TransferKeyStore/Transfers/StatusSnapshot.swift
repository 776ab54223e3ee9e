import Foundation
import GRDB
import TransferKeyCore

/// Everything `transferkeyd status` reports, read in one transaction so the numbers agree.
public struct StatusSnapshot: Sendable {
    /// The daemon's heartbeat row, if a daemon ever ran on this database.
    public struct Heartbeat: Sendable, Equatable {
        public var pid: Int
        public var hostname: String
        public var version: String
        public var startedAt: Date
        public var heartbeatAt: Date
        public var stoppedAt: Date?
        public var pausedReason: String?
    }

    /// The last orphan scan of one account × region.
    public struct Scan: Sendable, Equatable {
        public var accountID: String
        public var region: String
        public var startedAt: Date
        public var finishedAt: Date?
        public var isOK: Bool
        public var aliasesSeen: Int
        public var orphansFound: Int
        public var error: String?
        /// `ACCOUNT/REGION`.
        public var pair: String { "\(accountID)/\(region)" }
    }

    /// Transfers of one account × region whose steps keep failing transiently (throttling, 5xx, unreachable,
    /// undecodable answers): retried with backoff for as long as it lasts, never parked.
    public struct Failing: Sendable, Equatable {
        public var accountID: String
        public var region: String
        /// How many transfers are retrying.
        public var transfers: Int
        /// When the oldest of their current runs of failures began.
        public var since: Date?
        /// The latest error among them.
        public var lastError: String?
    }

    public var heartbeat: Heartbeat?
    public var counts: [TransferState: Int]
    /// The unfinished transfer that started longest ago.
    public var oldestActive: TransferRecord?
    /// Unfinished transfers past their deadline that are not cleaned yet.
    public var overdue: [TransferRecord]
    /// Transfers waiting for an operator.
    public var stuck: [TransferRecord]
    public var refused: [TransferRecord]
    /// The flag set by an orphan alarm, until `approve-orphans`.
    public var orphanCleanupPausedReason: String?
    public var scans: [Scan]
    /// The next keys AWS will delete, soonest first.
    public var nextDeletions: [TransferRecord]
    /// Transfers whose cleanup a safety rule holds back for now (`last_error` says which and why).
    public var deferred: [TransferRecord] = []
    /// Transfers whose key's deletion the daemon cancelled in the last 24 h because something tried to use it.
    public var rescued: [TransferRecord] = []
    /// Account × regions where AWS keeps failing, oldest failure first.
    public var failing: [Failing] = []
    /// Snapshots EC2 has not known for 10 minutes of polls and never reported (probably a wrong
    /// `--snapshot-account` or `--snapshot-region`): only the lease ends their imports.
    public var neverSeenSnapshots: [(importID: String, snapshotID: String, place: String)] = []
    /// Events in the audit trail.
    public var eventCount: Int
}

extension TransferStore {
    /// The transfers in `states` (and `where`), ordered and limited, read through `index`.
    static func byState(
        _ db: Database, _ states: [TransferState], index: String, where condition: String = "1", orderBy: String,
        limit: Int
    ) throws -> [TransferRecord] {
        let names = states.map { "'\($0.rawValue)'" }.joined(separator: ", ")
        return try TransferRecord.fetchAll(
            db,
            sql: """
                SELECT * FROM transfers INDEXED BY \(index) WHERE state IN (\(names)) AND (\(condition))
                ORDER BY \(orderBy) LIMIT \(limit)
                """)
    }

    /// Account × regions whose transfers are failing in their current state (`attempts` > 0, not a deferral), and
    /// since when: the earliest `failing_since` (the store's record of each run's first failed attempt). Uses the
    /// partial index `transfers_failing`: the rows with attempts only.
    ///
    /// The index is named (`INDEXED BY`, here and in ``byState(_:_:index:where:orderBy:limit:)``): with ANALYZE's
    /// averages (a handful of states over 100,000 rows) the planner would scan every finished transfer to find the
    /// few live ones. Migrations 0005 and 0006 make the indexes; a missing one is an error, not a slow answer.
    static func failing(_ db: Database) throws -> [StatusSnapshot.Failing] {
        let unfinished = TransferState.allCases.filter { $0.isUnfinished && $0 != .stuck && $0 != .refused }
            .map { "'\($0.rawValue)'" }.joined(separator: ", ")
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT t.account_id, t.region, count(*) AS transfers, min(t.failing_since) AS since,
                       (SELECT last_error FROM transfers u INDEXED BY transfers_failing WHERE u.account_id = t.account_id AND u.region = t.region
                          AND u.attempts > 0 AND u.state IN (\(unfinished))
                          AND (u.last_error IS NULL OR u.last_error NOT LIKE 'deferred: %')
                        ORDER BY u.updated_at DESC LIMIT 1) AS last_error
                FROM transfers t INDEXED BY transfers_failing
                WHERE t.attempts > 0 AND t.state IN (\(unfinished))
                  AND (t.last_error IS NULL OR t.last_error NOT LIKE 'deferred: %')
                GROUP BY t.account_id, t.region ORDER BY since
                """)
        return rows.map {
            StatusSnapshot.Failing(
                accountID: $0["account_id"], region: $0["region"], transfers: $0["transfers"], since: $0.time("since"),
                lastError: $0["last_error"])
        }
    }
}

extension TransferStore {
    /// The name of the flag that pauses orphan cleanup after an orphan alarm.
    public static let orphanPauseFlag = "orphan_cleanup_paused"

    /// Reads the status in one transaction. `countingEvents: false` skips the audit trail's length for callers that
    /// do not show it, such as the metrics file written every few seconds; `eventCount` is then 0.
    public func status(now: Date, countingEvents: Bool = true) throws -> StatusSnapshot {
        return try database.read { db in
            let heartbeat = try Row.fetchOne(db, sql: "SELECT * FROM daemon WHERE id = 1").map { row in
                StatusSnapshot.Heartbeat(
                    pid: row["pid"], hostname: row["hostname"], version: row["version"],
                    startedAt: row.time("started_at") ?? .distantPast,
                    heartbeatAt: row.time("heartbeat_at") ?? .distantPast, stoppedAt: row.time("stopped_at"),
                    pausedReason: row["paused_reason"])
            }
            let counts = try Self.countsByState(db)
            let oldest = try Self.byState(
                db, TransferState.keyStillUsable, index: "transfers_state_created", orderBy: "created_at", limit: 1
            ).first
            // A minute of slack: the work loop ends an expired lease within a cycle.
            let overdueBefore = Timestamp.string(now.addingTimeInterval(-60))
            let overdue = try Self.byState(
                db, TransferState.keyStillUsable, index: "transfers_live_deadline",
                where: "deadline_at < '\(overdueBefore)'", orderBy: "deadline_at", limit: 50)
            let stuck = try Self.byState(
                db, [.stuck], index: "transfers_state_created", orderBy: "id", limit: 50)
            let refused = try Self.byState(
                db, [.refused], index: "transfers_state_created", orderBy: "id", limit: 50)
            let paused = try String.fetchOne(
                db, sql: "SELECT value FROM flags WHERE name = ?", arguments: [Self.orphanPauseFlag])
            let scans = try Row.fetchAll(db, sql: "SELECT * FROM scans ORDER BY account_id, region").map { row in
                StatusSnapshot.Scan(
                    accountID: row["account_id"], region: row["region"],
                    startedAt: row.time("started_at") ?? .distantPast,
                    finishedAt: row.time("finished_at"), isOK: row["ok"], aliasesSeen: row["aliases_seen"],
                    orphansFound: row["orphans_found"], error: row["error"])
            }
            let nextDeletions = try Self.byState(
                db, TransferState.keyPendingDeletion, index: "transfers_deletion_date",
                where: "key_deletion_date IS NOT NULL", orderBy: "key_deletion_date", limit: 5)
            // The chain's length is its last seq: rows cannot be deleted (a trigger refuses it, and `audit verify`
            // reports a gap), so this is the count without reading a million rows.
            let events = countingEvents ? try Int.fetchOne(db, sql: "SELECT max(seq) FROM events") ?? 0 : 0
            var snapshot = StatusSnapshot(
                heartbeat: heartbeat, counts: counts, oldestActive: oldest, overdue: overdue, stuck: stuck,
                refused: refused, orphanCleanupPausedReason: paused, scans: scans, nextDeletions: nextDeletions,
                eventCount: events)
            snapshot.deferred = try Self.byState(
                db, TransferState.beforeScheduling, index: "transfers_deferred",
                where: "last_error LIKE 'deferred: %'", orderBy: "id", limit: 50)
            snapshot.failing = try Self.failing(db)
            // Uses `events_kind_at`: the few cancellations of the last day, not the whole trail.
            snapshot.rescued =
                try TransferRecord
                .filter(
                    sql: """
                        import_id IN (SELECT import_id FROM events WHERE kind = ? AND at >= ?
                          AND json_extract(detail, '$.reason') = 'in_use_during_window')
                        """,
                    arguments: [
                        AuditEventKind.deletionCancelled.rawValue, Timestamp.string(now.addingTimeInterval(-86_400)),
                    ]
                )
                .order(TransferRecord.Columns.id).limit(50).fetchAll(db)
            snapshot.neverSeenSnapshots = try Self.snapshotsNeverSeen(
                db, missingSince: now.addingTimeInterval(-600))
            return snapshot
        }
    }
}
