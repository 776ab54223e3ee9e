import Foundation
import GRDB
import TransferKeyCore

/// The facts the safety rules need from the store: other transfers on the same key, operators' acceptances, and
/// the counts behind the rolling deletion budget and the orphan alarm window.
///
/// Every step of every transfer asks several of these, so they go through the connection's cached statements:
/// compiled (and authorized) once, not once per step.
extension TransferStore {
    /// States in which a transfer's key must live on, or a person decides about it: another transfer's alias on a
    /// key in one of these states holds a deletion back.
    public static let statesThatKeepKeysAlive: [TransferState] = [.creating, .active, .stuck, .refused, .cancelled]

    /// Which of `aliasNames` another transfer of `accountID` (not `importID`) recorded while its key must live on.
    public func aliasNamesOfOtherLiveTransfers(
        _ aliasNames: [String], accountID: String, excluding importID: String
    ) throws -> Set<String> {
        let states = Self.statesThatKeepKeysAlive.map(\.rawValue)
        return try database.read { db in
            try Self.union(overChunksOf: aliasNames) { chunk in
                try SQLRequest<String>(
                    literal: """
                        SELECT DISTINCT alias_name FROM transfers INDEXED BY transfers_account_alias
                        WHERE account_id = \(accountID) AND import_id != \(importID) AND state IN \(states)
                          AND alias_name IN \(chunk)
                        """, cached: true
                ).fetchAll(db)
            }
        }
    }

    /// Who accepted the transfer's refused provenance (`transferkeyd accept`), from the audit trail; nil if nobody.
    public func provenanceAcceptedBy(importID: String) throws -> String? {
        try database.readOneStatement { db in
            try Self.latestDetail(db, importID: importID, kind: .provenanceAccepted, "$.accepted_by")
        }
    }

    /// How many times the transfer was deferred by `rule` (`deferred` events naming it).
    public func deferrals(importID: String, rule: String) throws -> Int {
        try database.readOneStatement { db in
            try Int.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT count(*) FROM events
                        WHERE import_id = ? AND kind = ? AND json_extract(detail, '$.rule') = ?
                        """),
                arguments: [importID, AuditEventKind.deferred.rawValue, rule]) ?? 0
        }
    }

    /// When this daemon disabled the transfer's key for `disable_first` (its latest `key_disabled` event), unless it
    /// enabled the key again since (a later `key_enabled` event): nil then, and the watch starts afresh.
    public func disabledByDaemonAt(importID: String) throws -> Date? {
        try database.readOneStatement { db in
            let row = try Row.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT kind, at FROM events
                        WHERE import_id = ? AND kind IN (?, ?) ORDER BY seq DESC LIMIT 1
                        """),
                arguments: [importID, AuditEventKind.keyDisabled.rawValue, AuditEventKind.keyEnabled.rawValue])
            guard let row, row["kind"] as String? == AuditEventKind.keyDisabled.rawValue, let at: String = row["at"]
            else { return nil }
            return Timestamp.date(at)
        }
    }

    /// The first event of a ledger started afresh with `migrate --reinitialise`: where the old file went.
    public func noteLedgerStart(movedAside: String, now: Date, actor: String) throws {
        let detail: JSONValue = ["moved_aside": .string(movedAside)]
        try database.write { db in
            _ = try AuditLog.append(
                db, at: now, importID: nil, kind: AuditEventKind.ledgerReinitialised.rawValue, detail: detail.text,
                actor: actor,
                key: database.auditKey)
        }
    }

    /// The regions where `operation` was about to be called for the transfer (`aws_call_intent` events, written
    /// before the call) more often than an `aws_call` event records an answer: calls that may have been performed
    /// although their answer was lost or unusable, or their record failed. Each region once per call unaccounted.
    public func unansweredIntents(importID: String, operation: String) throws -> [String] {
        try openIntents(importID: importID, operation: operation).map(\.region)
    }

    /// AWS's error answer to the transfer's latest failed step that called `operation` (`step_failed`): its request
    /// id and code; nil when no such step failed, or the failure had no AWS answer (a timeout, a lost connection).
    public func latestFailure(importID: String, operation: String) throws -> (requestID: String, code: String?)? {
        try database.readOneStatement { db in
            let row = try Row.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT json_extract(detail, '$.request_id') AS request_id,
                               json_extract(detail, '$.aws_code') AS code
                        FROM events
                        WHERE import_id = ? AND kind = ? AND json_extract(detail, '$.operation') = ?
                        ORDER BY seq DESC LIMIT 1
                        """),
                arguments: [importID, AuditEventKind.stepFailed.rawValue, operation])
            guard let row, let requestID: String = row["request_id"] else { return nil }
            return (requestID, row["code"])
        }
    }

    /// One call announced by an `aws_call_intent` event that no `aws_call` event answers.
    public struct OpenIntent: Sendable, Equatable {
        /// The region the call went to.
        public var region: String
        /// What it acted on besides the key: the alias (`DeleteAlias`) or the grant (`RetireGrant`); nil otherwise.
        public var subject: String?
    }

    /// The outbox of `operation` for the transfer: each (region, alias or grant) once per intent without an answer.
    /// Intents and answers are matched by operation, region and subject (`alias_name`, else `grant_id`).
    public func openIntents(importID: String, operation: String) throws -> [OpenIntent] {
        try database.readOneStatement { db in
            let rows = try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT json_extract(detail, '$.region') AS region,
                               coalesce(json_extract(detail, '$.alias_name'), json_extract(detail, '$.grant_id')) AS subject,
                               sum(kind = :intent) - sum(kind = :call) AS open
                        FROM events
                        WHERE import_id = :importID AND kind IN (:intent, :call)
                          AND json_extract(detail, '$.operation') = :operation
                        GROUP BY region, subject ORDER BY region, subject
                        """),
                arguments: [
                    "importID": importID, "operation": operation, "intent": AuditEventKind.awsCallIntent.rawValue,
                    "call": AuditEventKind.awsCall.rawValue,
                ])
            return rows.flatMap { row -> [OpenIntent] in
                let open: Int = row["open"] ?? 0
                let intent = OpenIntent(region: row["region"] ?? "?", subject: row["subject"])
                return Array(repeating: intent, count: max(open, 0))
            }
        }
    }

    /// The rule named by the transfer's latest refusal (`key_refused` event), if any.
    public func latestRefusalRule(importID: String) throws -> String? {
        try database.read { db in try Self.latestDetail(db, importID: importID, kind: .keyRefused, "$.rule") }
    }

    /// One field (`path`, a JSON path) of the detail of the transfer's latest event of `kind`.
    static func latestDetail(_ db: Database, importID: String, kind: AuditEventKind, _ path: String) throws -> String? {
        try String.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT json_extract(detail, ?) FROM events
                    WHERE import_id = ? AND kind = ? ORDER BY seq DESC LIMIT 1
                    """),
            arguments: [path, importID, kind.rawValue])
    }

    /// Records that AWS described the transfer's key: `key_seen_at` the first time, and its ARN when none is stored.
    /// A best-effort mark (a lost one only parks a later NotFound as `stuck`, the safe direction), not synced to the
    /// disk on its own: the step's next record, which is, carries it.
    public func markKeySeen(importID: String, keyARN: String?, now: Date) throws {
        try database.writeWithoutSync { db in
            // Compiled once: every step that describes a key marks it.
            try db.cachedStatement(
                sql: """
                    UPDATE transfers SET key_seen_at = coalesce(key_seen_at, ?), key_arn = coalesce(key_arn, ?)
                    WHERE import_id = ? AND (key_seen_at IS NULL OR (key_arn IS NULL AND ? IS NOT NULL))
                    """
            ).execute(arguments: [Timestamp.string(now), keyARN, importID, keyARN])
        }
    }

    /// How many `ScheduleKeyDeletion` calls AWS accepted since `since` (the audit trail's `aws_call` events):
    /// what the rolling budget has spent.
    public func scheduleCalls(since: Date) throws -> Int {
        try database.read { db in
            try Int.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT count(*) FROM events
                        WHERE kind = ? AND at >= ?
                          AND json_extract(detail, '$.operation') = 'ScheduleKeyDeletion'
                          AND json_extract(detail, '$.outcome') = ?
                        """),
                arguments: [AuditEventKind.awsCall.rawValue, Timestamp.string(since), AWSCallOutcome.ok.rawValue]) ?? 0
        }
    }

    /// How many unrecorded keys the scanner recorded since `since` (adopted or refused): the orphan alarm's window.
    public func orphansRecorded(since: Date) throws -> Int {
        try database.read { db in
            try Int.fetchOne(
                db.cachedStatement(sql: "SELECT count(*) FROM events WHERE kind = ? AND at >= ?"),
                arguments: [AuditEventKind.orphanAdopted.rawValue, Timestamp.string(since)]) ?? 0
        }
    }

    /// An operator accepts a refused transfer after review (`transferkeyd accept`): only a refusal for missing
    /// provenance (or a disabled discovered key) can be accepted; the key is re-checked against every other rule
    /// before anything happens. Records who and why in the `provenance_accepted` event.
    public func acceptProvenance(
        _ reference: String, by operatorName: String, reason: String, now: Date, actor: String
    ) throws -> TransferRecord {
        try database.write { db in
            guard var record = try Self.transfer(matching: reference, db: db) else {
                throw TransferStoreError.notFound(reference)
            }
            let rule = try Self.latestDetail(db, importID: record.importID, kind: .keyRefused, "$.rule")
            guard record.state == .refused, let rule, SafetyRule(rawValue: rule)?.isWaivable == true else {
                throw TransferStoreError.notWaivable(record.importID, state: record.state, rule: rule)
            }
            try self.apply(
                .provenanceAccepted(by: operatorName, reason: reason), to: &record, now: now, actor: actor,
                detail: ["rule": .string(rule)], db: db)
            return record
        }
    }
}
