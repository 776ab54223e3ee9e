import Foundation
import GRDB
import TransferKeyCore

/// The transfers, their snapshots and their audit trail: every change is one transaction that
/// also appends its event, so the state and the audit trail never disagree.
public struct TransferStore: Sendable {
    /// The database underneath.
    public let database: AppDatabase

    /// Wraps an opened, migrated database.
    public init(_ database: AppDatabase) {
        self.database = database
    }

    // MARK: - Changes

    /// Records a transfer, its snapshots and a `recorded` event, then `notes` (audit events such as
    /// `orphan_adopted`, with why it was recorded), all in one transaction: a crash never leaves the
    /// row without its evidence.
    /// - Throws: `TransferStoreError` when the import id exists or the key is tracked by an unfinished transfer.
    @discardableResult
    public func record(
        _ new: NewTransfer, now: Date, actor: String, notes: [(kind: AuditEventKind, detail: [String: JSONValue])] = []
    ) throws -> TransferRecord {
        try database.write { db in
            if try TransferRecord.filter(TransferRecord.Columns.importID == new.importID).fetchCount(db) > 0 {
                throw TransferStoreError.duplicateImportID(new.importID)
            }
            if let keyID = new.keyID,
                let other = try TransferRecord.filter(TransferRecord.Columns.keyID == keyID)
                    .filter(
                        TransferState.allCases.filter(\.isUnfinished).map(\.rawValue).contains(
                            TransferRecord.Columns.state)
                    )
                    .fetchOne(db)
            {
                throw TransferStoreError.keyAlreadyTracked(keyID, by: other.importID)
            }
            let stamp = Timestamp.stored(now)
            let deadline = Timestamp.stored(new.deadline)
            let state: TransferState = new.keyID == nil ? .creating : .active
            var record = TransferRecord(
                id: nil, importID: new.importID, accountID: new.accountID, region: new.region,
                keyID: new.keyID, keyARN: new.keyARN, aliasName: new.aliasName, state: state, origin: new.origin,
                snapshotAccountID: new.snapshotAccountID, snapshotRegion: new.snapshotRegion,
                createdAt: stamp, updatedAt: stamp, deadlineAt: deadline, completedAt: nil, completion: nil,
                keyDeletionDate: nil, attempts: 0,
                // The lease is itself a work item: at the deadline the work loop ends the import.
                nextAttemptAt: deadline, lastError: nil, keySeenAt: new.keySeenAt.map(Timestamp.stored),
                awsRecordedAt: new.awsRecordedAt.map(Timestamp.stored), failingSince: nil)
            try record.insert(db)
            for snapshotID in Set(new.snapshotIDs).sorted() {
                try SnapshotRecord(importID: new.importID, snapshotID: snapshotID).insert(db)
            }
            let detail: JSONValue = [
                "state": .string(state.rawValue), "origin": .string(new.origin.rawValue),
                "account_id": .string(new.accountID), "region": .string(new.region),
                "key_id": .string(new.keyID), "alias_name": .string(new.aliasName),
                "deadline_at": .time(deadline), "aws_recorded_at": .time(new.awsRecordedAt),
                "snapshots": .array(Set(new.snapshotIDs).sorted().map { .string($0) }),
            ]
            _ = try AuditLog.append(
                db, at: now, importID: new.importID, kind: AuditEventKind.recorded.rawValue, detail: detail.text,
                actor: actor,
                key: database.auditKey)
            for note in notes {
                _ = try AuditLog.append(
                    db, at: now, importID: new.importID, kind: note.kind.rawValue,
                    detail: JSONValue.object(note.detail).text,
                    actor: actor, key: database.auditKey)
            }
            if let refusal = new.refusal {
                // Recorded and refused in one transaction: a discovered key without provenance never waits
                // in `active`, where its lease could end it.
                record.state = .refused
                record.lastError = refusal.reason
                record.nextAttemptAt = nil
                try record.updateRow(db)
                var facts = refusal.detail
                facts["from"] = .string(state.rawValue)
                facts["to"] = .string(TransferState.refused.rawValue)
                facts["reason"] = .string(refusal.reason)
                _ = try AuditLog.append(
                    db, at: now, importID: new.importID, kind: TransferEvent.keyRefused(reason: "").kind.rawValue,
                    detail: JSONValue.object(facts).text, actor: actor, key: database.auditKey)
            }
            return record
        }
    }

    /// Applies `event` to the transfer through `Lifecycle.transition`, stores the outcome and its
    /// audit event in one transaction, and returns the stored row.
    /// - Parameter detail: extra facts for the audit event (AWS request id, error code, …).
    /// - Parameter calls: the AWS calls that led to the change (the step's), recorded before it in the same
    ///   transaction: one commit.
    /// - Throws: `TransferStoreError` when the transfer is unknown or the event is illegal in its state.
    @discardableResult
    public func apply(
        _ event: TransferEvent, to importID: String, now: Date, actor: String, detail: [String: JSONValue] = [:],
        calls: [AWSCallRecord] = []
    ) throws -> TransferRecord {
        try database.write { db in
            guard var record = try TransferRecord.fetchOne(db, importID: importID)
            else { throw TransferStoreError.notFound(importID) }
            for call in calls { try appendCall(call, importID: importID, now: now, actor: actor, db: db) }
            try self.apply(event, to: &record, now: now, actor: actor, detail: detail, db: db)
            return record
        }
    }

    /// Records one mutating AWS call of the transfer (an `aws_call` event) on its own.
    public func recordAWSCall(_ call: AWSCallRecord, for importID: String, now: Date, actor: String) throws {
        try database.write { db in
            guard try TransferRecord.exists(db, importID: importID) else { throw TransferStoreError.notFound(importID) }
            try appendCall(call, importID: importID, now: now, actor: actor, db: db)
        }
    }

    /// The only writer of an `aws_call` event, in `db`'s open transaction.
    func appendCall(_ call: AWSCallRecord, importID: String, now: Date, actor: String, db: Database) throws {
        _ = try AuditLog.append(
            db, at: now, importID: importID, kind: AuditEventKind.awsCall.rawValue,
            detail: JSONValue.object(call.detail).text, actor: actor, key: database.auditKey)
    }

    /// Records an audit event without changing the transfer's state, and moves its next attempt
    /// to `until` (e.g. a dry run's `would_schedule_key_deletion`, or a paused orphan). An AWS call is
    /// ``recordAWSCall(_:for:now:actor:)``'s, not this.
    public func note(
        _ kind: AuditEventKind, for importID: String, detail: [String: JSONValue], postponeUntil until: Date?,
        now: Date,
        actor: String
    ) throws {
        precondition(kind != .awsCall, "an aws_call event is recordAWSCall's: one shape for every call")
        try database.write { db in
            if let until {
                guard var record = try TransferRecord.fetchOne(db, importID: importID)
                else { throw TransferStoreError.notFound(importID) }
                record.nextAttemptAt = Timestamp.stored(until)
                record.updatedAt = Timestamp.stored(now)
                try record.updateRow(db)
            } else if try !TransferRecord.exists(db, importID: importID) {
                // Only the event is written (every call's intent, before the call): no row to read whole.
                throw TransferStoreError.notFound(importID)
            }
            _ = try AuditLog.append(
                db, at: now, importID: importID, kind: kind.rawValue, detail: JSONValue.object(detail).text,
                actor: actor, key: database.auditKey)
        }
    }

    /// The transition step shared by every change: in `db`'s open transaction.
    func apply(
        _ event: TransferEvent, to record: inout TransferRecord, now: Date, actor: String,
        detail: [String: JSONValue], db: Database
    ) throws {
        let from = record.state
        let transition: Transition
        do {
            transition = try Lifecycle.transition(from: from, on: event, now: now)
        } catch {
            throw TransferStoreError.illegal(record.importID, error)
        }
        let stamp = Timestamp.stored(now)
        record.state = transition.state
        record.updatedAt = stamp
        var facts = detail
        facts["from"] = .string(from.rawValue)
        facts["to"] = .string(transition.state.rawValue)

        switch event {
        case .importEnded(let completion):
            record.completedAt = stamp
            record.completion = completion
            facts["completion"] = .string(completion.rawValue)
        case .keyScheduled(let deletionDate):
            if let deletionDate { record.keyDeletionDate = Timestamp.stored(deletionDate) }
            facts["key_deletion_date"] = .time(record.keyDeletionDate)
        case .keyRefused(let reason):
            record.lastError = reason
            facts["reason"] = .string(reason)
        case .stepFailed(let error, _):
            record.lastError = error
            facts["error"] = .string(error)
        case .deferred(let reason, _):
            record.lastError = "deferred: " + reason
            facts["reason"] = .string(reason)
        case .provenanceAccepted(let by, let reason):
            facts["accepted_by"] = .string(by)
            facts["reason"] = .string(reason)
        case .recordClosed(let by, let reason):
            facts["by"] = .string(by)
            facts["reason"] = .string(reason)
        case .keyCreated, .aliasesRemoved, .keyGone, .keyStillPending, .retryRequested, .deletionCancelled:
            break
        }

        // A new state starts a fresh count of attempts; a retry in place adds one.
        if transition.state != from { record.attempts = 0 }
        if case .stepFailed = event, transition.state == from { record.attempts += 1 }
        // The run of failures starts with its first failed attempt and ends with the state.
        if record.attempts == 0 {
            record.failingSince = nil
        } else if record.attempts == 1, case .stepFailed = event {
            record.failingSince = stamp
        }
        if case .deferred = event {
            // Kept: why the transfer waits is what `status` and `show` point at.
        } else if transition.state != from, transition.state != .stuck, transition.state != .refused {
            record.lastError = nil
        }
        record.nextAttemptAt = Self.nextAttempt(after: transition.followUp, record: record, now: now)
        facts["attempts"] = .int(Int64(record.attempts))
        facts["next_attempt_at"] = .time(record.nextAttemptAt)

        try record.updateRow(db)
        _ = try AuditLog.append(
            db, at: now, importID: record.importID, kind: event.kind.rawValue, detail: JSONValue.object(facts).text,
            actor: actor, key: database.auditKey)
    }

    /// When the work loop should next look at the transfer: the time the follow-up names (none for an operator's
    /// turn or the end).
    private static func nextAttempt(after followUp: FollowUp, record: TransferRecord, now: Date) -> Date? {
        switch followUp {
        case .awaitImport: return record.deadlineAt
        case .verifyAndScheduleDeletion, .removeAliases: return Timestamp.stored(now)
        case .confirmDeletion(let at):
            if let at { return Timestamp.stored(at) }
            return record.keyDeletionDate ?? Timestamp.stored(now)
        case .retry(let at): return Timestamp.stored(at)
        case .alertOperator, .none: return nil
        }
    }

    /// The platform says the import is over. Returns the row and whether anything changed:
    /// a transfer already past `active` is left as it is (the call is idempotent).
    public func complete(
        _ reference: String, failed: Bool, now: Date, actor: String
    ) throws -> (transfer: TransferRecord, changed: Bool) {
        try database.write { db in
            guard var record = try Self.transfer(matching: reference, db: db) else {
                throw TransferStoreError.notFound(reference)
            }
            guard record.state == .active else { return (record, false) }
            try self.apply(
                .importEnded(failed ? .failed : .succeeded), to: &record, now: now, actor: actor,
                detail: ["signal": "complete"], db: db)
            return (record, true)
        }
    }

    /// An operator puts a `stuck` (or `refused`) transfer back to work; it is re-checked before anything happens.
    public func retry(_ reference: String, now: Date, actor: String) throws -> TransferRecord {
        try database.write { db in
            guard var record = try Self.transfer(matching: reference, db: db) else {
                throw TransferStoreError.notFound(reference)
            }
            // A `create` that failed before AWS made a key leaves nothing to clean up.
            guard record.keyID != nil else { throw TransferStoreError.noKey(record.importID) }
            guard record.state == .stuck || record.state == .refused else {
                throw TransferStoreError.notRetryable(record.importID, state: record.state)
            }
            try self.apply(.retryRequested, to: &record, now: now, actor: actor, detail: [:], db: db)
            return record
        }
    }

    // MARK: - Queries

    /// The transfer `reference` names, resolved by its kind: a key ARN names the transfer of that key in that account
    /// and region (also a row whose `key_arn` was never filled), a bare key id the transfer of that key, anything
    /// else an import id. Import ids can take neither form (`Validator.importID`), so a reference is never read as
    /// two things; one that still names two transfers (an old row's import id shaped like a key id, or a key recorded
    /// by several transfers over time) is refused, listing them, never guessed.
    /// - Throws: `TransferStoreError.ambiguous` when it names more than one transfer.
    public func transfer(matching reference: String) throws -> TransferRecord? {
        try database.read { db in try Self.transfer(matching: reference, db: db) }
    }

    /// The transfer recorded under exactly this import id.
    public func transfer(importID: String) throws -> TransferRecord? {
        try database.readOneStatement { db in
            try TransferRecord.fetchOne(db, importID: importID)
        }
    }

    static func transfer(matching reference: String, db: Database) throws -> TransferRecord? {
        let byImport = try TransferRecord.fetchOne(db, importID: reference)
        let key = try? Validator.keyReference(reference, field: "ID")
        guard let key else { return byImport }
        var match = TransferRecord.Columns.keyID == key.keyID
        if case .arn(let arn, _, let region, let accountID, let keyID) = key {
            match =
                TransferRecord.Columns.keyARN == arn
                || (TransferRecord.Columns.keyID == keyID && TransferRecord.Columns.accountID == accountID
                    && TransferRecord.Columns.region == region)
        }
        let byKey = try TransferRecord.filter(match).order(TransferRecord.Columns.id).fetchAll(db)
        let all = (byImport.map { [$0] } ?? []) + byKey.filter { $0.id != byImport?.id }
        guard all.count <= 1 else {
            throw TransferStoreError.ambiguous(reference, importIDs: all.map(\.importID))
        }
        return all.first
    }

    /// Transfers, oldest first, optionally only in one state and/or one account.
    public func transfers(state: TransferState? = nil, accountID: String? = nil) throws -> [TransferRecord] {
        try database.read { db in
            var request = TransferRecord.all()
            if let state { request = request.filter(TransferRecord.Columns.state == state.rawValue) }
            if let accountID { request = request.filter(TransferRecord.Columns.accountID == accountID) }
            return try request.order(TransferRecord.Columns.id).fetchAll(db)
        }
    }

    /// Transfers whose key the daemon scheduled and AWS has not deleted yet (`key_scheduled`, `cleaned`), oldest first.
    public func transfersWithKeysPendingDeletion() throws -> [TransferRecord] {
        try database.read { db in
            try TransferRecord.all().inStates(TransferState.keyPendingDeletion).order(TransferRecord.Columns.id)
                .fetchAll(db)
        }
    }

    /// The snapshots of one transfer, by id.
    public func snapshots(importID: String) throws -> [SnapshotRecord] {
        try database.read { db in
            try SnapshotRecord.filter(SnapshotRecord.Columns.importID == importID)
                .order(SnapshotRecord.Columns.snapshotID).fetchAll(db)
        }
    }

    /// The audit timeline of one transfer, oldest first.
    public func events(importID: String) throws -> [AuditEvent] {
        try database.read { db in try AuditLog.events(db, importID: importID) }
    }

    /// The position of the newest audit event (0 when there is none): where a pass starts reading.
    public func lastEventSeq() throws -> Int64 {
        try database.read { db in try Int64.fetchOne(db, sql: "SELECT max(seq) FROM events") ?? 0 }
    }

    /// Audit events after `seq` of the given `kinds`, oldest first (what one pass recorded).
    public func events(after seq: Int64, kinds: [AuditEventKind]) throws -> [AuditEvent] {
        try database.read { db in
            try AuditEvent.filter(Column("seq") > seq).filter(kinds.map(\.rawValue).contains(Column("kind")))
                .order(Column("seq")).fetchAll(db)
        }
    }

    /// The key ids `track` refused under this import id (its `track_refused` events: the id was reused for
    /// another key), oldest first, each once.
    public func refusedTrackKeyIDs(importID: String) throws -> [String] {
        try database.read { db in
            try String.fetchAll(
                db,
                sql: """
                    SELECT DISTINCT json_extract(detail, '$.key_id') FROM events
                    WHERE import_id = ? AND kind = ? AND json_extract(detail, '$.key_id') IS NOT NULL
                    ORDER BY seq
                    """,
                arguments: [importID, AuditEventKind.trackRefused.rawValue])
        }
    }

    /// How many transfers are in each state (states with none are absent); only `states` when given.
    public func countsByState(in states: [TransferState]? = nil) throws -> [TransferState: Int] {
        try database.read { db in
            let counts = try Self.countsByState(db)
            guard let states else { return counts }
            return counts.filter { states.contains($0.key) }
        }
    }

    /// The counts `transfer_state_counts` keeps (migration 0006's triggers, in the transaction that changes a row):
    /// a handful of rows, where `GROUP BY state` walked 100,000 (13 ms).
    static func countsByState(_ db: Database) throws -> [TransferState: Int] {
        var counts: [TransferState: Int] = [:]
        for row in try Row.fetchAll(db.cachedStatement(sql: "SELECT state, n FROM transfer_state_counts WHERE n > 0")) {
            if let state = TransferState(rawValue: row["state"]) { counts[state] = row["n"] }
        }
        return counts
    }

    /// Unfinished transfers whose next attempt is due at `now`, earliest first.
    public func dueTransfers(now: Date, limit: Int) throws -> [TransferRecord] {
        let stamp = Timestamp.string(now)
        return try database.read { db in
            try TransferRecord
                .filter(
                    TransferState.allCases.filter(\.isUnfinished).map(\.rawValue).contains(TransferRecord.Columns.state)
                )
                .filter(TransferRecord.Columns.nextAttemptAt <= stamp)
                .order(TransferRecord.Columns.nextAttemptAt)
                .limit(limit)
                .fetchAll(db)
        }
    }
}
