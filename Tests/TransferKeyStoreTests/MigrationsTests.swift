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

@Suite("Migration 0005: failing_since")
struct FailingSinceMigrationTests {
    @Test("an existing failing transfer gets the time of its run's first failure from its audit trail")
    func backfill() throws {
        let queue = try DatabaseQueue()
        let before = Migrations.all.filter { $0.name < "0005" }
        let migration = try #require(Migrations.all.first { $0.name.hasPrefix("0005") })
        try queue.write { db in
            for step in before { try db.execute(sql: step.sql) }
            try db.execute(
                sql: """
                    INSERT INTO transfers (import_id, account_id, region, key_id, state, origin, created_at,
                      updated_at, deadline_at, attempts)
                    VALUES ('imp-1', '111122223333', 'eu-west-1', 'k', 'cleanup_due', 'tracked', 'a', 'a', 'a', 2),
                           ('imp-2', '111122223333', 'eu-west-1', 'k2', 'cleanup_due', 'tracked', 'a', 'a', 'a', 0)
                    """)
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
            try db.execute(sql: migration.sql)
            let since = try Row.fetchAll(db, sql: "SELECT import_id, failing_since FROM transfers ORDER BY import_id")
            #expect(since.map { $0["failing_since"] as String? } == ["2026-12-01T00:00:00.000Z", nil])
        }
    }

    @Test("0006 counts the rows already there by state, and its triggers keep the counts with every change")
    func stateCounts() throws {
        let queue = try DatabaseQueue()
        let before = Migrations.all.filter { $0.name < "0006" }
        let migration = try #require(Migrations.all.first { $0.name.hasPrefix("0006") })
        try queue.write { db in
            for step in before { try db.execute(sql: step.sql) }
            try db.execute(
                sql: """
                    INSERT INTO transfers (import_id, account_id, region, key_id, state, origin, created_at,
                      updated_at, deadline_at, attempts)
                    VALUES ('imp-1', '111122223333', 'eu-west-1', 'k1', 'cleaned', 'tracked', 'a', 'a', 'a', 0),
                           ('imp-2', '111122223333', 'eu-west-1', 'k2', 'cleaned', 'tracked', 'a', 'a', 'a', 0),
                           ('imp-3', '111122223333', 'eu-west-1', 'k3', 'active', 'tracked', 'a', 'a', 'a', 0)
                    """)
            try db.execute(sql: migration.sql)
            func counts() throws -> [String: Int] {
                let rows = try Row.fetchAll(db, sql: "SELECT state, n FROM transfer_state_counts WHERE n > 0")
                return Dictionary(uniqueKeysWithValues: rows.map { ($0["state"] as String, $0["n"] as Int) })
            }
            func truth() throws -> [String: Int] {
                let rows = try Row.fetchAll(db, sql: "SELECT state, count(*) AS n FROM transfers GROUP BY state")
                return Dictionary(uniqueKeysWithValues: rows.map { ($0["state"] as String, $0["n"] as Int) })
            }
            #expect(try counts() == ["cleaned": 2, "active": 1])
            try db.execute(sql: "UPDATE transfers SET state = 'deleted' WHERE import_id = 'imp-1'")
            try db.execute(sql: "UPDATE transfers SET attempts = 3, state = 'active' WHERE import_id = 'imp-3'")
            try db.execute(
                sql: """
                    INSERT INTO transfers (import_id, account_id, region, key_id, state, origin, created_at,
                      updated_at, deadline_at, attempts)
                    VALUES ('imp-4', '111122223333', 'eu-west-1', 'k4', 'active', 'tracked', 'a', 'a', 'a', 0)
                    """)
            #expect(try counts() == ["cleaned": 1, "active": 2, "deleted": 1])
            #expect(try counts() == truth())
        }
    }
}
