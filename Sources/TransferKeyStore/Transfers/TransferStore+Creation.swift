import Foundation
import GRDB
import TransferKeyCore

/// What `transferkeyd create` writes between its intent row and `key_created`, and what the daemon
/// reads to finish a `create` that died half-way.
extension TransferStore {
    /// How a key came to a `creating` row, and the audit event that says so.
    public enum KeyAttachment: Sendable, Equatable {
        /// `CreateKey` made it: its `aws_call` event.
        case created(AWSCallRecord)
        /// The settler of a create that died found it (`key_found`, with `detail`).
        case found(detail: [String: JSONValue])
    }

    /// Writes the key AWS made (or that the daemon found) onto a `creating` row, with the audit event of
    /// `attachment` (its `key_id` and `key_arn` added); the row stays `creating` until its alias exists.
    /// - Throws: `TransferStoreError` when the transfer is unknown, not `creating`, already holds
    ///   another key, or the key is tracked by another unfinished transfer.
    @discardableResult
    public func attachKey(
        importID: String, keyID: String, keyARN: String?, recording attachment: KeyAttachment, now: Date,
        actor: String
    ) throws -> TransferRecord {
        try database.write { db in
            guard var record = try TransferRecord.fetchOne(db, importID: importID)
            else { throw TransferStoreError.notFound(importID) }
            guard record.state == .creating else {
                throw TransferStoreError.notCreating(importID, state: record.state)
            }
            if let existing = record.keyID, existing != keyID {
                throw TransferStoreError.keyAlreadyTracked(existing, by: importID)
            }
            if let other = try TransferRecord.filter(TransferRecord.Columns.keyID == keyID)
                .filter(TransferRecord.Columns.importID != importID)
                .filter(
                    TransferState.allCases.filter(\.isUnfinished).map(\.rawValue).contains(TransferRecord.Columns.state)
                )
                .fetchOne(db)
            {
                throw TransferStoreError.keyAlreadyTracked(keyID, by: other.importID)
            }
            record.keyID = keyID
            record.keyARN = keyARN ?? record.keyARN
            record.updatedAt = Timestamp.stored(now)
            // AWS made (or showed) this key just now: a later NotFoundException means it is gone.
            record.keySeenAt = record.keySeenAt ?? Timestamp.stored(now)
            try record.updateRow(db)
            switch attachment {
            case .created(var call):
                call.keyID = keyID
                call.extra["key_arn"] = .string(record.keyARN)
                try appendCall(call, importID: importID, now: now, actor: actor, db: db)
            case .found(var facts):
                facts["key_id"] = .string(keyID)
                facts["key_arn"] = .string(record.keyARN)
                _ = try AuditLog.append(
                    db, at: now, importID: importID, kind: AuditEventKind.keyFound.rawValue,
                    detail: JSONValue.object(facts).text, actor: actor, key: database.auditKey)
            }
            return record
        }
    }

    /// Writes AWS's time of the recording onto a row that has none yet (`create` learns AWS's clock from its first
    /// answer, after the intent row is written): `at` is the row's `created_at` carried onto AWS's clock. Returns
    /// the row as stored; an earlier value is never replaced.
    @discardableResult
    public func noteAWSRecordedAt(importID: String, at: Date) throws -> TransferRecord {
        try database.write { db in
            guard var record = try TransferRecord.fetchOne(db, importID: importID)
            else { throw TransferStoreError.notFound(importID) }
            guard record.awsRecordedAt == nil else { return record }
            record.awsRecordedAt = Timestamp.stored(at)
            try record.updateRow(db)
            return record
        }
    }

    /// A `create` whose alias name another key holds: the row gives up the alias (it is not the transfer's), the
    /// key it made becomes a key with no alias, and the import ends at once, so the key is retired by the cleanup
    /// loop through every safety rule and the deletion budget like any other. One transaction, three events.
    @discardableResult
    public func abandonAlias(importID: String, reason: String, detail: [String: JSONValue], now: Date, actor: String)
        throws -> TransferRecord
    {
        try database.write { db in
            guard var record = try TransferRecord.fetchOne(db, importID: importID)
            else { throw TransferStoreError.notFound(importID) }
            guard record.state == .creating, record.keyID != nil else {
                throw TransferStoreError.notCreating(importID, state: record.state)
            }
            var facts = detail
            facts["alias_name"] = .string(record.aliasName)
            facts["reason"] = .string(reason)
            record.aliasName = nil
            try record.updateRow(db)
            _ = try AuditLog.append(
                db, at: now, importID: importID, kind: AuditEventKind.aliasAbandoned.rawValue,
                detail: JSONValue.object(facts).text,
                actor: actor, key: database.auditKey)
            try self.apply(
                .keyCreated, to: &record, now: now, actor: actor,
                detail: ["alias_name": nil, "reason": .string(reason)],
                db: db)
            try self.apply(
                .importEnded(.failed), to: &record, now: now, actor: actor, detail: ["reason": .string(reason)], db: db)
            return record
        }
    }

    /// A heartbeat of a running `create`: moves the `creating` row's `updated_at` (no audit event), so
    /// the daemon does not settle a create that is still in flight. Returns false when the row is no
    /// longer `creating`.
    @discardableResult
    public func touchCreation(importID: String, now: Date) throws -> Bool {
        try database.write { db in
            try db.execute(
                literal: """
                    UPDATE transfers SET updated_at = \(Timestamp.string(now))
                    WHERE import_id = \(importID) AND state = \(TransferState.creating.rawValue)
                    """)
            return db.changesCount > 0
        }
    }

    /// `creating` rows nothing has touched since `before`: a `create` that died (or gave up) half-way.
    public func stalledCreations(updatedBefore before: Date, limit: Int) throws -> [TransferRecord] {
        let stamp = Timestamp.string(before)
        // No ORDER BY in SQL: with one, SQLite may walk the whole table in id order to honour the LIMIT instead of
        // the state index (the daemon asks every few seconds, on 100,000 rows). The few rows are ordered here.
        return try database.read { db in
            try TransferRecord
                .filter(TransferRecord.Columns.state == TransferState.creating.rawValue)
                .filter(Column("updated_at") <= stamp)
                .limit(limit)
                .fetchAll(db)
        }.sorted { ($0.id ?? 0) < ($1.id ?? 0) }
    }
}
