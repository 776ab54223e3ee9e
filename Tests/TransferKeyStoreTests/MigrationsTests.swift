import GRDB
import Testing

@testable import TransferKeyStore

@Suite("Embedded migrations")
struct MigrationsTests {
    @Test("the binary carries every migration, numbered and in order")
    func embedded() {
        let names = Migrations.all.map(\.name)
        #expect(names.first == "0001_init")
        #expect(names == names.sorted())
        #expect(Migrations.all.allSatisfy { $0.sql.contains("CREATE") })
    }
}

/// Applies the migrations before `number`, inserts `rows` (import id, key id, state, attempts) into `transfers`,
/// runs `setUp` (more rows of that schema), then applies migration `number` and hands the database to `body`.
private func migrating(
    to number: String, rows: [(String, String, String, Int)], setUp: (Database) throws -> Void = { _ in },
    _ body: (Database) throws -> Void
) throws {
    let queue = try DatabaseQueue()
    let migration = try #require(Migrations.all.first { $0.name.hasPrefix(number) })
    try queue.write { db in
        for step in Migrations.all where step.name < number { try db.execute(sql: step.sql) }
        for row in rows { try insertTransfer(db, row) }
        try setUp(db)
        try db.execute(sql: migration.sql)
        try body(db)
    }
}

/// One `transfers` row with the columns every migration knows: (import id, key id, state, attempts).
private func insertTransfer(_ db: Database, _ row: (String, String, String, Int)) throws {
    try db.execute(
        sql: """
            INSERT INTO transfers (import_id, account_id, region, key_id, state, origin, created_at,
              updated_at, deadline_at, attempts)
            VALUES (?, '111122223333', 'eu-west-1', ?, ?, 'tracked', 'a', 'a', 'a', ?)
            """,
        arguments: [row.0, row.1, row.2, row.3])
}

@Suite("Migration 0005: failing_since")
struct FailingSinceMigrationTests {
    @Test("an existing failing transfer gets the time of its run's first failure from its audit trail")
    func backfill() throws {
        let rows = [("imp-1", "k", "cleanup_due", 2), ("imp-2", "k2", "cleanup_due", 0)]
        try migrating(to: "0005", rows: rows) { db in
            for (seq, at, attempts) in [(1, "2026-12-01T00:00:00.000Z", 1), (2, "2026-12-01T00:10:00.000Z", 2)] {
                try db.execute(
                    sql: """
                        INSERT INTO events (seq, at, import_id, kind, detail, actor, prev_hash, hash)
                        VALUES (?, ?, 'imp-1', 'step_failed', ?, 'daemon', ?, ?)
                        """,
                    arguments: [
                        seq, at, "{\"attempts\":\(attempts)}", String(repeating: "0", count: 64),
                        String(repeating: "\(seq)", count: 64),
                    ])
            }
        } _: { db in
            let since = try Row.fetchAll(db, sql: "SELECT import_id, failing_since FROM transfers ORDER BY import_id")
            #expect(since.map { $0["failing_since"] as String? } == ["2026-12-01T00:00:00.000Z", nil])
        }
    }
}

@Suite("Migration 0006: per-state counts")
struct StateCountsMigrationTests {
    @Test("0006 counts the rows already there by state, and its triggers keep the counts with every change")
    func stateCounts() throws {
        let rows = [("imp-1", "k1", "cleaned", 0), ("imp-2", "k2", "cleaned", 0), ("imp-3", "k3", "active", 0)]
        try migrating(to: "0006", rows: rows) { db in
            func counts(_ sql: String) throws -> [String: Int] {
                Dictionary(
                    uniqueKeysWithValues: try Row.fetchAll(db, sql: sql).map { ($0["state"] as String, $0["n"] as Int) }
                )
            }
            let kept = "SELECT state, n FROM transfer_state_counts WHERE n > 0"
            #expect(try counts(kept) == ["cleaned": 2, "active": 1])
            try db.execute(sql: "UPDATE transfers SET state = 'deleted' WHERE import_id = 'imp-1'")
            try db.execute(sql: "UPDATE transfers SET attempts = 3, state = 'active' WHERE import_id = 'imp-3'")
            try insertTransfer(db, ("imp-4", "k4", "active", 0))
            #expect(try counts(kept) == ["cleaned": 1, "active": 2, "deleted": 1])
            #expect(try counts(kept) == counts("SELECT state, count(*) AS n FROM transfers GROUP BY state"))
        }
    }
}

@Suite("Migration 0007: alias and poll lookups")
struct AliasLookupMigrationTests {
    @Test("0007 indexes transfers by account and alias: the live-alias check reads the alias's rows, not the account's")
    func aliasIndex() throws {
        try migrating(to: "0007", rows: [("imp-1", "key-1", "active", 0)]) { db in
            let plan = try Row.fetchAll(
                db,
                sql: """
                    EXPLAIN QUERY PLAN SELECT DISTINCT alias_name FROM transfers
                    WHERE account_id = '111122223333' AND import_id != 'x' AND state IN ('active', 'stuck')
                      AND alias_name IN ('alias/a', 'alias/b')
                    """
            ).map { $0["detail"] as String? ?? "" }.joined(separator: " ")
            #expect(plan.contains("transfers_account_alias (account_id=? AND alias_name=?)"), "\(plan)")
        }
    }

    @Test("0007 indexes the active transfers' import ids: the poll's join reads index entries, not each transfer's row")
    func activeImportsIndex() throws {
        try migrating(to: "0007", rows: [("imp-1", "key-1", "active", 0), ("imp-2", "key-2", "deleted", 0)]) { db in
            let plan = try Row.fetchAll(
                db,
                sql: """
                    EXPLAIN QUERY PLAN SELECT s.import_id FROM transfer_snapshots s
                    JOIN transfers t INDEXED BY transfers_active_imports ON t.import_id = s.import_id
                    WHERE t.state = 'active'
                    """
            ).map { $0["detail"] as String? ?? "" }.joined(separator: " ")
            #expect(plan.contains("COVERING INDEX transfers_active_imports"), "\(plan)")
            #expect(
                try String.fetchAll(
                    db,
                    sql: "SELECT import_id FROM transfers INDEXED BY transfers_active_imports WHERE state = 'active'")
                    == ["imp-1"])
        }
    }
}
