import Foundation
import GRDB
import TransferKeyCore

/// What the running daemon writes about itself, and the queries its work loop runs.
extension TransferStore {
    /// Writes the daemon's heartbeat row (one row, `id = 1`): `status` tells alive from dead with it.
    public func heartbeat(
        pid: Int32, hostname: String, version: String, startedAt: Date, now: Date, pausedReason: String? = nil
    ) throws {
        // Cached, as every statement of the idle loop's turns: compiled anew each time, SQLite's parser showed in an
        // idle daemon's profile (`make bench`, idle CPU). Not synced to the disk: after a power cut no daemon runs.
        try database.writeWithoutSync { db in
            try db.cachedStatement(
                sql: """
                    INSERT INTO daemon (id, pid, hostname, version, started_at, heartbeat_at, stopped_at, paused_reason)
                    VALUES (1, ?, ?, ?, ?, ?, NULL, ?)
                    ON CONFLICT (id) DO UPDATE SET
                        pid = excluded.pid, hostname = excluded.hostname, version = excluded.version,
                        started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at,
                        stopped_at = NULL, paused_reason = excluded.paused_reason
                    """
            ).execute(arguments: [
                Int(pid), hostname, version, Timestamp.string(startedAt), Timestamp.string(now), pausedReason,
            ])
        }
    }

    /// Marks the daemon stopped (a clean exit); `status` then says so at once instead of waiting
    /// for the heartbeat to age.
    public func markStopped(pid: Int32, now: Date) throws {
        try database.write { db in
            try db.execute(
                sql: "UPDATE daemon SET stopped_at = ? WHERE id = 1 AND pid = ?",
                arguments: [Timestamp.string(now), Int(pid)])
        }
    }

    /// Records a daemon-wide audit event (no transfer), e.g. `daemon_started`.
    public func recordDaemonEvent(_ kind: AuditEventKind, detail: [String: JSONValue], now: Date, actor: String) throws
    {
        try database.write { db in
            _ = try AuditLog.append(
                db, at: now, importID: nil, kind: kind.rawValue, detail: JSONValue.object(detail).text, actor: actor,
                key: database.auditKey)
        }
    }

    /// Due work for the daemon: unfinished transfers (not `creating`, which `create` settles) whose
    /// next attempt has come, earliest first; `discovered` ones are left out while orphan cleanup is paused.
    ///
    /// `excludingLanes` are the account × regions whose lane is still busy: their rows are not read (while a lane
    /// works through a backlog, the loop looks for due work every second, and decoding the backlog's rows to drop
    /// them cost more than the work itself), nor do they crowd other lanes out of `limit`.
    public func claimableTransfers(
        now: Date, limit: Int, includingDiscovered: Bool, excludingLanes: Set<AccountRegion> = []
    ) throws -> [TransferRecord] {
        let stamp = Timestamp.string(now)
        return try database.readOneStatement { db in
            var request =
                TransferRecord
                .all().inStates(TransferState.workedByDaemon)
                .filter(TransferRecord.Columns.nextAttemptAt <= stamp)
            if !includingDiscovered {
                request = request.filter(TransferRecord.Columns.origin != TransferOrigin.discovered.rawValue)
            }
            if !excludingLanes.isEmpty {
                let lanes = excludingLanes.sorted().map { SQL("(\($0.accountID), \($0.region))") }
                request = request.filter(
                    literal: "(account_id, region) NOT IN (VALUES \(lanes.joined(separator: ", ")))")
            }
            return try request.order(TransferRecord.Columns.nextAttemptAt).limit(limit).fetchAll(db)
        }
    }

    /// The earliest next attempt among unfinished transfers, so the loop sleeps until then.
    public func nextDueDate() throws -> Date? {
        try database.read { db in
            try String.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT min(next_attempt_at) FROM transfers
                        WHERE state IN (\(databaseQuestionMarks(count: TransferState.workedByDaemon.count)))
                        """),
                arguments: StatementArguments(TransferState.workedByDaemon.map(\.rawValue))
            ).flatMap(Timestamp.date)
        }
    }

    /// A number that changes whenever another process commits to the database (`PRAGMA data_version`
    /// on the writer connection): how the daemon notices `track`, `complete` and `retry` within a tick.
    public func externalChangeCounter() throws -> Int {
        try database.writer.writeWithoutTransaction { db in
            try Int.fetchOne(db.cachedStatement(sql: "PRAGMA data_version")) ?? 0
        }
    }
}
