import Foundation
import GRDB
import TransferKeyCore

extension TransferStore {
    /// The EC2 states `transfer_snapshots.state` accepts from a poll (its CHECK constraint, minus `unknown`).
    static let observableSnapshotStates: Set<String> = Set(SnapshotState.observable.map(\.rawValue))

    /// The snapshots of `active` transfers that are not in a final state yet, grouped by the account × region
    /// that holds them (sorted by account, then region): one group is one `DescribeSnapshots` batch.
    ///
    /// This and ``activeSnapshotStates()`` run at every poll: they find the active transfers through the partial
    /// index `transfers_active_imports` (migration 0007), whose entries hold the import id, so the join reads a
    /// few index pages instead of seeking every active transfer's row (3,000 page reads every 30 s at 100,000
    /// transfers, most of an idle daemon's CPU). The state is written into the SQL, not bound: only then may
    /// SQLite use a partial index.
    public func pendingSnapshots() throws -> [SnapshotGroup] {
        try database.read { db in
            let rows = try SQLRequest<Row>(
                literal: """
                    SELECT coalesce(t.snapshot_account_id, t.account_id) AS account_id,
                           coalesce(t.snapshot_region, t.region) AS region,
                           s.import_id, s.snapshot_id
                    FROM transfer_snapshots s JOIN transfers t INDEXED BY transfers_active_imports
                      ON t.import_id = s.import_id
                    WHERE t.state = '\(sql: TransferState.active.rawValue)'
                      AND s.state NOT IN \(SnapshotState.final.map(\.rawValue))
                    ORDER BY 1, 2
                    """
            ).fetchAll(db)
            var groups: [SnapshotGroup] = []
            var snapshotIDs: Set<String> = []
            var importIDs: Set<String> = []
            func flush() {
                guard var last = groups.popLast() else { return }
                last.snapshotIDs = snapshotIDs.sorted()
                last.importIDs = importIDs.sorted()
                groups.append(last)
            }
            for row in rows {
                let accountID: String = row["account_id"]
                let region: String = row["region"]
                if groups.last?.accountID != accountID || groups.last?.region != region {
                    flush()
                    snapshotIDs = []
                    importIDs = []
                    groups.append(SnapshotGroup(accountID: accountID, region: region, snapshotIDs: [], importIDs: []))
                }
                snapshotIDs.insert(row["snapshot_id"])
                importIDs.insert(row["import_id"])
            }
            flush()
            return groups
        }
    }

    /// Stores what one `DescribeSnapshots` batch said about `group`, in one transaction.
    ///
    /// A row is rewritten only when its state changed; `checked_at` of every row EC2 answered for
    /// moves to `now` in one statement per chunk, so an operator sees when a pending copy was last looked at.
    /// A state the schema does not know (a new EC2 value) is ignored and the row keeps its last state.
    /// - Parameter states: snapshot id → EC2 state, with `missing` for `InvalidSnapshot.NotFound`.
    /// - Returns: how many rows changed state.
    @discardableResult
    public func updateSnapshotStates(_ states: [String: String], in group: SnapshotGroup, now: Date) throws -> Int {
        let answered = states.filter { Self.observableSnapshotStates.contains($0.value) }
        guard !answered.isEmpty, !group.importIDs.isEmpty else { return 0 }
        let stamp = Timestamp.string(now)
        let importIDs = group.importIDs
        return try database.write { db in
            var changed = 0
            for (snapshotID, state) in answered.sorted(by: { $0.key < $1.key }) {
                for chunk in importIDs.chunks(of: 500) {
                    if state == SnapshotState.missing.rawValue {
                        // Only a snapshot EC2 once reported can go missing. One it never reported may not exist
                        // yet (EC2 is eventually consistent after CopySnapshot) or live in another account: it
                        // stays `unknown`, the first NotFound is remembered for `status`, and the lease decides.
                        try db.execute(
                            sql: """
                                UPDATE transfer_snapshots SET first_missing_at = coalesce(first_missing_at, ?)
                                WHERE snapshot_id = ? AND first_seen_at IS NULL
                                  AND import_id IN \(placeholders(chunk.count))
                                """,
                            arguments: StatementArguments([stamp, snapshotID] + chunk))
                    } else {
                        try db.execute(
                            sql: """
                                UPDATE transfer_snapshots SET first_seen_at = ?
                                WHERE snapshot_id = ? AND first_seen_at IS NULL
                                  AND import_id IN \(placeholders(chunk.count))
                                """,
                            arguments: StatementArguments([stamp, snapshotID] + chunk))
                    }
                    try db.execute(
                        sql: """
                            UPDATE transfer_snapshots SET state = ?, checked_at = ?
                            WHERE snapshot_id = ? AND state != ? AND import_id IN \(placeholders(chunk.count))
                              AND (? != 'missing' OR first_seen_at IS NOT NULL)
                            """,
                        arguments: StatementArguments([state, stamp, snapshotID, state] + chunk + [state]))
                    changed += db.changesCount
                }
            }
            for snapshotChunk in answered.keys.sorted().chunks(of: 400) {
                for importChunk in importIDs.chunks(of: 400) {
                    try db.execute(
                        sql: """
                            UPDATE transfer_snapshots SET checked_at = ?
                            WHERE snapshot_id IN \(placeholders(snapshotChunk.count))
                              AND import_id IN \(placeholders(importChunk.count))
                            """,
                        arguments: StatementArguments([stamp] + snapshotChunk + importChunk))
                }
            }
            return changed
        }
    }

    /// Snapshots of `active` transfers that EC2 has answered NotFound for since before `before` without ever
    /// reporting them: probably a wrong `--snapshot-account` or `--snapshot-region`. Only the lease ends such imports.
    public func snapshotsNeverSeen(missingSince before: Date) throws -> [(
        importID: String, snapshotID: String, place: String
    )] {
        try database.read { db in try Self.snapshotsNeverSeen(db, missingSince: before) }
    }

    static func snapshotsNeverSeen(
        _ db: Database, missingSince before: Date
    ) throws -> [(importID: String, snapshotID: String, place: String)] {
        try SQLRequest<Row>(
            literal: """
                SELECT s.import_id, s.snapshot_id,
                       coalesce(t.snapshot_account_id, t.account_id) || '/' || coalesce(t.snapshot_region, t.region) AS place
                FROM transfer_snapshots s INDEXED BY transfer_snapshots_missing
                JOIN transfers t ON t.import_id = s.import_id
                WHERE t.state = \(TransferState.active.rawValue) AND s.first_seen_at IS NULL
                  AND s.first_missing_at IS NOT NULL AND s.first_missing_at <= \(Timestamp.string(before))
                ORDER BY s.import_id, s.snapshot_id
                """
        ).fetchAll(db).map { (importID: $0["import_id"], snapshotID: $0["snapshot_id"], place: $0["place"]) }
    }

    /// The last seen state of every snapshot of every `active` transfer that has snapshots:
    /// import id → snapshot id → state.
    public func activeSnapshotStates() throws -> [String: [String: String]] {
        try database.read { db in
            let rows = try SQLRequest<Row>(
                literal: """
                    SELECT s.import_id, s.snapshot_id, s.state
                    FROM transfer_snapshots s JOIN transfers t INDEXED BY transfers_active_imports
                      ON t.import_id = s.import_id
                    WHERE t.state = '\(sql: TransferState.active.rawValue)'
                    """
            ).fetchAll(db)
            var states: [String: [String: String]] = [:]
            for row in rows { states[row["import_id"], default: [:]][row["snapshot_id"]] = row["state"] }
            return states
        }
    }
}

/// `(?, ?, …)` with `count` placeholders.
func placeholders(_ count: Int) -> String {
    "(" + Array(repeating: "?", count: count).joined(separator: ", ") + ")"
}

extension TransferStore {
    /// Runs `query` once per chunk of at most 400 of the distinct `values` (an `IN (…)` list stays under SQLite's
    /// variable limit), and returns the union of what it found; nothing is asked for no values.
    static func union(
        overChunksOf values: [String], _ query: ([String]) throws -> [String]
    ) rethrows -> Set<String> {
        var found: Set<String> = []
        for chunk in Array(Set(values)).sorted().chunks(of: 400) { found.formUnion(try query(chunk)) }
        return found
    }
}

extension Array {
    /// Consecutive slices of at most `size` elements, so an `IN (…)` list stays under SQLite's variable limit.
    func chunks(of size: Int) -> [[Element]] {
        stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) }
    }
}
