import TransferKeyCore
import TransferKeyStore

// The `--json` documents. Field names mirror the SQLite columns (snake_case) and are stable:
// fields may be added, never renamed or removed. Absent values are `null`, never missing.

extension TransferRecord {
    /// The transfer as documented for `list --json` and `show --json`.
    func json(snapshots: [SnapshotRecord]? = nil) -> JSONValue {
        var object: [String: JSONValue] = [
            "import_id": .string(importID), "account_id": .string(accountID), "region": .string(region),
            "key_id": .string(keyID), "key_arn": .string(keyARN), "alias_name": .string(aliasName),
            "state": .string(state.rawValue), "origin": .string(origin.rawValue),
            "snapshot_account_id": .string(effectiveSnapshotAccountID),
            "snapshot_region": .string(effectiveSnapshotRegion),
            "created_at": .time(createdAt), "updated_at": .time(updatedAt), "deadline_at": .time(deadlineAt),
            "completed_at": .time(completedAt), "completion": .string(completion?.rawValue),
            "key_deletion_date": .time(keyDeletionDate), "attempts": .int(Int64(attempts)),
            "next_attempt_at": .time(nextAttemptAt), "last_error": .string(lastError),
        ]
        if let snapshots { object["snapshots"] = .array(snapshots.map(\.json)) }
        return .object(object)
    }
}

extension SnapshotRecord {
    var json: JSONValue {
        ["snapshot_id": .string(snapshotID), "state": .string(state), "checked_at": .time(checkedAt)]
    }
}

extension AuditEvent {
    /// One timeline entry; `detail` is the stored JSON object, parsed back when possible.
    var json: JSONValue {
        [
            "seq": .int(seq), "at": .string(at), "import_id": .string(importID), "kind": .string(kind),
            "actor": .string(actor), "detail": .string(detail), "hash": .string(hash),
        ]
    }
}
