import Foundation
import GRDB

/// The one entry point to the database: opens, configures and migrates.
///
/// Every write goes through `write(_:)`, one IMMEDIATE transaction, so the daemon and the CLI
/// serialise cleanly across processes and the audit chain stays linear. The connection and `write`/`read`
/// are internal to this module: other modules change the database only through `TransferStore`'s
/// intention-named methods (each one transition with its audit event), and read it through them or the
/// few named reads here.
public final class AppDatabase: Sendable {
    /// The connection (a WAL `DatabasePool` on disk; anything in tests).
    let writer: any DatabaseWriter

    /// A read-only view of the database.
    var reader: any DatabaseReader { writer }

    /// The database file, or nil in memory.
    public let path: String?
    /// The key of the audit chain (`audit_key_file`): every event written through this connection carries its MAC.
    public let auditKey: AuditKey?

    /// Wraps any writer (tests: `DatabaseQueue()` in memory) and migrates it.
    public convenience init(_ writer: any DatabaseWriter, auditKey: AuditKey? = nil) throws {
        let path = Self.filePath(of: writer)
        do {
            try Self.migrate(writer, path: path)
        } catch {
            throw StoreError(error, path: path) ?? error
        }
        self.init(unmigrated: writer, path: path, auditKey: auditKey)
    }

    init(unmigrated writer: any DatabaseWriter, path: String?, auditKey: AuditKey? = nil) {
        self.writer = writer
        self.path = path
        self.auditKey = auditKey
    }

    /// The same connection, writing with `key`.
    public func keyed(with key: AuditKey?) -> AppDatabase {
        AppDatabase(unmigrated: writer, path: path, auditKey: key)
    }

    /// Names of the applied migrations, oldest first.
    public func appliedMigrations() throws -> [String] {
        try read { db in try Self.appliedMigrationNames(db) }
    }

    /// Walks the audit chain from its first event, in one read transaction: intact (with the number of
    /// events) or the first link that breaks.
    public func verifyAuditTrail() throws -> AuditVerification {
        let key = auditKey
        return try read { db in try AuditLog.verify(db, key: key) }
    }

    /// Where the chain stands for keying: its last event and the first one that carries a MAC.
    public func keyingState() throws -> (lastSeq: Int64, firstKeyed: Int64?) {
        try read { db in
            (
                try Int64.fetchOne(db, sql: "SELECT max(seq) FROM events") ?? 0,
                try Int64.fetchOne(db, sql: "SELECT min(seq) FROM events WHERE mac IS NOT NULL")
            )
        }
    }

    /// Runs `body` in one IMMEDIATE write transaction (so two processes serialise cleanly and the
    /// audit chain stays linear); commits when it returns, rolls back when it throws.
    ///
    /// Database errors that mean the store is unusable (busy beyond the timeout, disk full,
    /// read-only, I/O) are rethrown as `StoreError`; everything else unchanged.
    func write<T: Sendable>(_ body: @Sendable (Database) throws -> T) throws -> T {
        try write(synced: true, body)
    }

    /// `write(_:)` for a record whose loss on a power cut is harmless — the daemon's heartbeat (a daemon that lost
    /// power is not running), a best-effort mark — committed without waiting for the disk (`synchronous = NORMAL`,
    /// then `FULL` again): the next durable commit's `fdatasync` of the WAL carries it to the disk, and a crash of
    /// the process loses nothing either way. Every record the audit trail needs stays a `write(_:)`.
    func writeWithoutSync<T: Sendable>(_ body: @Sendable (Database) throws -> T) throws -> T {
        try write(synced: false, body)
    }

    /// One IMMEDIATE write transaction, its commit synced to the disk or not (`write`, `writeWithoutSync`).
    private func write<T: Sendable>(synced: Bool, _ body: @Sendable (Database) throws -> T) throws -> T {
        do {
            return try writer.writeWithoutTransaction { db in
                // Compiled once, as the statements of the heartbeat and the key-seen mark they surround.
                if !synced { try db.cachedStatement(sql: "PRAGMA synchronous = NORMAL").execute() }
                defer { if !synced { try? db.cachedStatement(sql: "PRAGMA synchronous = FULL").execute() } }
                var result: T?
                try db.inTransaction(.immediate) {
                    result = try body(db)
                    return .commit
                }
                // inTransaction ran body or threw.
                return result!
            }
        } catch {
            throw StoreError(error, path: path) ?? error
        }
    }

    /// Runs `body`, which reads with one statement, outside a transaction of its own: SQLite's implicit transaction
    /// gives a single statement its consistent snapshot, and GRDB's `BEGIN` and `COMMIT` around it (compiled anew on
    /// every read) were a quarter of the cost of a step's reads (`make profile`, CPU per cleaned key). A body that
    /// runs two statements needs `read(_:)`: each would see the database as it is when it runs.
    func readOneStatement<T: Sendable>(_ body: @Sendable (Database) throws -> T) throws -> T {
        do {
            return try reader.unsafeRead(body)
        } catch {
            throw StoreError(error, path: path) ?? error
        }
    }

    /// Runs `body` in a read-only transaction that sees one consistent snapshot.
    func read<T: Sendable>(_ body: @Sendable (Database) throws -> T) throws -> T {
        do {
            return try reader.read(body)
        } catch {
            throw StoreError(error, path: path) ?? error
        }
    }
}

// MARK: - Migrations

extension AppDatabase {
    /// Thrown inside a migration whose transaction found it already applied by another process.
    private struct MigratedConcurrently: Error {}

    /// Every embedded migration, registered by name, each executing its SQL.
    static let migrator: DatabaseMigrator = {
        var migrator = DatabaseMigrator()
        // Never drop the audit trail because a migration changed: migrations are append-only.
        migrator.eraseDatabaseOnSchemaChange = false
        for (name, sql) in Migrations.all {
            migrator.registerMigration(name) { db in
                // GRDB reads the applied list before it takes the write lock, so two processes
                // starting on a fresh file could both decide to run this migration; the second one
                // finds it recorded once it holds the lock, and starts over instead of failing on
                // "table already exists".
                let recorded = try Bool.fetchOne(
                    db, sql: "SELECT EXISTS (SELECT 1 FROM grdb_migrations WHERE identifier = ?)",
                    arguments: [name])
                if recorded == true { throw MigratedConcurrently() }
                try db.execute(sql: sql)
            }
        }
        return migrator
    }()

    /// The names of the migrations this binary carries, oldest first.
    static var knownMigrations: [String] { Migrations.all.map(\.name) }

    static func appliedMigrationNames(_ db: Database) throws -> [String] {
        // Names are numbered (NNNN_…), so sorting them orders them, unknown ones included.
        try migrator.appliedIdentifiers(db).sorted()
    }

    /// Refuses a database that records migrations this binary does not know.
    static func checkSchema(applied: some Collection<String>, path: String?) throws {
        let known = knownMigrations
        let unknown = applied.filter { !known.contains($0) }.sorted()
        guard !unknown.isEmpty else { return }
        if let newest = known.last, unknown.allSatisfy({ $0 > newest }) {
            throw StoreError.newerSchema(path: path, applied: applied.sorted(), known: known)
        }
        throw StoreError.unknownMigration(path: path, unknown: unknown, known: known)
    }

    static func migrate(_ writer: any DatabaseWriter, path: String?) throws {
        try checkSchema(applied: try writer.read { try migrator.appliedIdentifiers($0) }, path: path)
        // Up to date: touch nothing (GRDB's migrate writes even when no migration is pending, and a
        // command that changes nothing must leave the file byte-identical).
        if try writer.read({ try migrator.hasCompletedMigrations($0) }) { return }
        // Each retry follows another process's progress by at least one migration.
        var attemptsLeft = Migrations.all.count + 1
        while true {
            do {
                try migrator.migrate(writer)
                return
            } catch is MigratedConcurrently {
                attemptsLeft -= 1
                // Cannot happen unless migrations keep appearing under us: report it as contention.
                guard attemptsLeft > 0 else { throw StoreError.busy(path: path) }
                try checkSchema(applied: try writer.read { try migrator.appliedIdentifiers($0) }, path: path)
            }
        }
    }

    private static func filePath(of writer: any DatabaseWriter) -> String? {
        let path = writer.path
        return path.isEmpty || path == ":memory:" || path.hasPrefix("file::memory:") ? nil : path
    }
}
