import Foundation
import GRDB
import TransferKeyCore

extension TransferStore {
    // MARK: - What is already known

    /// Which of `keyIDs` a transfer of `accountID` recorded in `region` (a multi-Region key, `mrk-…`, in any region:
    /// it keeps its id in every region, and its primary's cleanup covers the replicas), in any state but `deleted`:
    /// a refused or cancelled key stays the operator's decision, never an orphan, while a `deleted` row never hides
    /// a live key (AWS said NotFound; a key it still lists is not that record's).
    public func recordedKeyIDs(_ keyIDs: [String], accountID: String, region: String) throws -> Set<String> {
        try database.read { db in
            try Self.union(overChunksOf: keyIDs) { chunk in
                try SQLRequest<String>(
                    literal: """
                        SELECT DISTINCT key_id FROM transfers
                        WHERE account_id = \(accountID) AND state != \(TransferState.deleted.rawValue)
                          AND (region = \(region) OR key_id GLOB 'mrk-*')
                          AND key_id IN \(chunk)
                        """
                ).fetchAll(db)
            }
        }
    }

    /// Which of `aliasNames` an unfinished transfer of `accountID` in `region` recorded, e.g. a
    /// `create` intent whose key AWS made but whose key id is not written yet.
    public func unfinishedAliasNames(_ aliasNames: [String], accountID: String, region: String) throws -> Set<String> {
        let unfinished = TransferState.allCases.filter(\.isUnfinished).map(\.rawValue)
        return try database.read { db in
            try Self.union(overChunksOf: aliasNames) { chunk in
                try SQLRequest<String>(
                    literal: """
                        SELECT DISTINCT alias_name FROM transfers
                        WHERE account_id = \(accountID) AND region = \(region) AND state IN \(unfinished)
                          AND alias_name IN \(chunk)
                        """
                ).fetchAll(db)
            }
        }
    }

    // MARK: - Scans

    /// Stores the outcome of the latest orphan scan of one account × region, replacing the previous one.
    public func recordScan(
        accountID: String, region: String, startedAt: Date, finishedAt: Date?, isOK: Bool, aliasesSeen: Int,
        orphansFound: Int, error: String?
    ) throws {
        try database.write { db in
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO scans
                        (account_id, region, started_at, finished_at, ok, aliases_seen, orphans_found, error)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    accountID, region, Timestamp.string(startedAt), finishedAt.map(Timestamp.string), isOK,
                    aliasesSeen, orphansFound, error,
                ])
        }
    }

    // MARK: - The orphan alarm

    /// Why orphan cleanup is paused, or nil when it is not.
    public func isOrphanCleanupPaused() throws -> String? {
        try database.read { db in
            try String.fetchOne(
                db.cachedStatement(sql: "SELECT value FROM flags WHERE name = ?"), arguments: [Self.orphanPauseFlag])
        }
    }

    /// Pauses the cleanup of `discovered` transfers until `approveOrphans`, and records an `orphan_alarm` event.
    ///
    /// While already paused the flag keeps its first reason and time (what the operator is reviewing);
    /// the new alarm is still recorded in the audit trail.
    /// - Returns: whether cleanup was running until now.
    @discardableResult
    public func pauseOrphanCleanup(reason: String, now: Date, actor: String) throws -> Bool {
        try database.write { db in
            let existing = try String.fetchOne(
                db, sql: "SELECT value FROM flags WHERE name = ?", arguments: [Self.orphanPauseFlag])
            if existing == nil {
                try db.execute(
                    sql: "INSERT INTO flags (name, value, set_at, set_by) VALUES (?, ?, ?, ?)",
                    arguments: [Self.orphanPauseFlag, reason, Timestamp.string(now), actor])
            }
            let detail: JSONValue = [
                "flag": .string(Self.orphanPauseFlag), "reason": .string(reason),
                "already_paused": .bool(existing != nil),
            ]
            _ = try AuditLog.append(
                db, at: now, importID: nil, kind: AuditEventKind.orphanAlarm.rawValue, detail: detail.text,
                actor: actor,
                key: database.auditKey)
            return existing == nil
        }
    }

    /// Lifts the orphan-alarm pause (`transferkeyd approve-orphans`): clears the flag, makes the
    /// `discovered` transfers waiting for cleanup due now, and records an `orphans_approved` event.
    /// When cleanup is not paused nothing is written.
    /// - Returns: whether a pause was lifted.
    @discardableResult
    public func approveOrphans(now: Date, actor: String) throws -> Bool {
        try database.write { db in
            guard
                let flag = try Row.fetchOne(
                    db, sql: "SELECT value, set_at, set_by FROM flags WHERE name = ?",
                    arguments: [Self.orphanPauseFlag])
            else { return false }
            try db.execute(sql: "DELETE FROM flags WHERE name = ?", arguments: [Self.orphanPauseFlag])
            // The work loop postponed paused orphans; without this they would wait out that postponement.
            let stamp = Timestamp.string(now)
            try db.execute(
                literal: """
                    UPDATE transfers SET next_attempt_at = \(stamp)
                    WHERE origin = \(TransferOrigin.discovered.rawValue) AND state = \(TransferState.cleanupDue.rawValue)
                      AND (next_attempt_at IS NULL OR next_attempt_at > \(stamp))
                    """)
            let rearmed = db.changesCount
            let waiting =
                try SQLRequest<Int>(
                    literal: """
                        SELECT count(*) FROM transfers
                        WHERE origin = \(TransferOrigin.discovered.rawValue)
                          AND state IN \(TransferState.beforeScheduling.map(\.rawValue))
                        """
                ).fetchOne(db) ?? 0
            let detail: JSONValue = [
                "flag": .string(Self.orphanPauseFlag), "reason": .string(flag["value"]),
                "paused_at": .string(flag["set_at"]), "paused_by": .string(flag["set_by"]),
                "discovered_unfinished": .int(Int64(waiting)), "rearmed": .int(Int64(rearmed)),
            ]
            _ = try AuditLog.append(
                db, at: now, importID: nil, kind: AuditEventKind.orphansApproved.rawValue, detail: detail.text,
                actor: actor,
                key: database.auditKey)
            return true
        }
    }

    /// Audit events not tied to one transfer (orphan alarms, approvals), oldest first.
    public func daemonEvents() throws -> [AuditEvent] {
        try database.read { db in
            try AuditEvent.filter(AuditEvent.Columns.importID == nil).order(AuditEvent.Columns.seq).fetchAll(db)
        }
    }
}
