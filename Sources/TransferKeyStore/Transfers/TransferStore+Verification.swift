import Foundation
import GRDB
import TransferKeyCore

/// What a transfer's audit events say its deciding fields are, replayed from the events that set them.
struct RecordedFields: Equatable {
    var origin: String?
    var accountID: String?
    var region: String?
    var keyID: String?
    var aliasName: String?
    var state: String?

    /// Replays one event: `recorded` sets every field; `key_found` and the `CreateKey` call attach the key;
    /// `alias_abandoned` drops the alias; every state change names the state it went `to`.
    mutating func replay(kind: String, detail: [String: Any]) {
        switch AuditEventKind(rawValue: kind) {
        case .recorded:
            origin = detail["origin"] as? String
            accountID = detail["account_id"] as? String
            region = detail["region"] as? String
            keyID = detail["key_id"] as? String
            aliasName = detail["alias_name"] as? String
            state = detail["state"] as? String
        case .keyFound:
            // `attachKey`'s event for a key found after a lost answer.
            keyID = detail["key_id"] as? String ?? keyID
        case .awsCall where detail["operation"] as? String == "CreateKey":
            keyID = detail["key_id"] as? String ?? keyID
        case .aliasAbandoned:
            aliasName = nil
        default:
            break
        }
        if detail["from"] is String, let to = detail["to"] as? String { state = to }
    }
}

extension TransferStore {
    /// Checks the fields of `record` that decide a deletion — origin, account, region, key id, alias, state —
    /// against the transfer's own audit events, and each of those events against its hash (and, with the audit key,
    /// its MAC). Nil when the row is what its events say; otherwise why not, in one line naming the field or event.
    ///
    /// Whoever can write the file can edit a row (a refused discovered key turned into a tracked one due for
    /// cleanup); the events that recorded it cannot be rewritten without the key. The daemon reads only rows that
    /// pass. Costs one indexed read of the transfer's few events.
    public func rowDisagreement(_ record: TransferRecord) throws -> String? {
        let events = try database.readOneStatement { db in try AuditLog.events(db, importID: record.importID) }
        let key = database.auditKey
        var fields = RecordedFields()
        for event in events {
            let recomputed = AuditLog.hash(
                prevHash: event.prevHash, seq: event.seq, at: event.at, importID: event.importID, kind: event.kind,
                detail: event.detail, actor: event.actor)
            guard recomputed == event.hash else { return "its event \(event.seq) (\(event.kind)) was edited" }
            if let key {
                if let mac = event.mac {
                    guard mac == key.mac(hash: event.hash) else {
                        return "its event \(event.seq) (\(event.kind)) does not verify with the audit key: forged"
                    }
                } else if event.seq >= key.fromSeq {
                    return "its event \(event.seq) (\(event.kind)) carries no MAC: written without the audit key"
                }
            }
            let detail =
                (try? JSONSerialization.jsonObject(with: Data(event.detail.utf8))) as? [String: Any] ?? [:]
            fields.replay(kind: event.kind, detail: detail)
        }
        guard fields.origin != nil else { return "no `recorded` event stands behind the row" }
        let row = RecordedFields(
            origin: record.origin.rawValue, accountID: record.accountID, region: record.region, keyID: record.keyID,
            aliasName: record.aliasName, state: record.state.rawValue)
        let checks: [(String, String?, String?)] = [
            ("origin", row.origin, fields.origin), ("account_id", row.accountID, fields.accountID),
            ("region", row.region, fields.region), ("key_id", row.keyID, fields.keyID),
            ("alias_name", row.aliasName, fields.aliasName), ("state", row.state, fields.state),
        ]
        for (name, stored, recorded) in checks where stored != recorded {
            return "its \(name) is \(stored ?? "NULL") but its audit events recorded \(recorded ?? "NULL")"
        }
        return nil
    }

    /// Every unfinished transfer whose row disagrees with its audit events (`rowDisagreement`), oldest first, as
    /// (import id, why): what `audit verify` reports beside the chain.
    public func disagreeingRows() throws -> [(importID: String, reason: String)] {
        let rows = try database.read { db in
            try TransferRecord
                .filter(
                    TransferState.allCases.filter(\.isUnfinished).map(\.rawValue).contains(TransferRecord.Columns.state)
                )
                .order(TransferRecord.Columns.id).fetchAll(db)
        }
        return try rows.compactMap { record in try rowDisagreement(record).map { (record.importID, $0) } }
    }

    /// When the ledger's last event was written (host clock), or nil for an empty ledger.
    public func lastEventDate() throws -> Date? {
        try database.read { db in
            try String.fetchOne(db, sql: "SELECT at FROM events ORDER BY seq DESC LIMIT 1").flatMap(Timestamp.date)
        }
    }
}
