import Foundation
import GRDB

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension AppDatabase {
    /// Opens (creating if absent, with the parent folder; file mode 0600 whatever the umask) a WAL
    /// `DatabasePool` at `path` and migrates it.
    ///
    /// Refuses, without changing a byte or creating a `-wal`/`-shm` file: a file that is not an
    /// SQLite database, an SQLite database with other tables that transferkeyd never migrated, and a
    /// database migrated by a newer (or different) transferkeyd. A 0-byte file is initialised.
    ///
    /// - Parameter pooled: a `DatabasePool` (concurrent readers, for the daemon) or a single
    ///   connection (for short CLI commands). GRDB's pool writes a throw-away table whenever it
    ///   finds no WAL file, so a CLI command that ends up changing nothing would still alter the
    ///   file; a single connection on a file already in WAL mode writes only what the command writes.
    public static func open(path: String, pooled: Bool = true) throws -> AppDatabase {
        // Two processes creating the same fresh file at once (the daemon's first start and a
        // `track`) can meet SQLite lock states that return SQLITE_BUSY without waiting (switching
        // to WAL, upgrading a read lock): opening again then finds the other's work done.
        var attempt = 1
        while true {
            do {
                return try openOnce(path: path, pooled: pooled)
            } catch let error as StoreError where error.code == .busy && attempt < 4 {
                attempt += 1
                Thread.sleep(forTimeInterval: 0.2 * Double(attempt))
            }
        }
    }

    private static func openOnce(path: String, pooled: Bool) throws -> AppDatabase {
        do {
            var isNew = false
            var hasMigrationTable = false
            switch try DatabaseFileProbe.probe(path: path) {
            case .absent:
                // Built aside and linked into place whole: a file at `path` always has its schema.
                try createInitialised(at: path)
                return try openOnce(path: path, pooled: pooled)
            case .empty:
                isNew = true
            case .database(let tables, let applied):
                if tables.isEmpty {
                    // Only a missing or 0-byte file is new. Content without a single table is what a truncated
                    // WAL leaves of a ledger whose schema never reached the main file.
                    throw StoreError.damaged(path: path, reason: "the file has content but no tables (a lost WAL?)")
                }
                if !tables.contains("grdb_migrations") {
                    throw StoreError.foreignDatabase(path: path)
                }
                hasMigrationTable = true
                try checkSchema(applied: applied, path: path)
            }
            let writer: any DatabaseWriter
            if pooled || isNew {
                // A new file gets WAL mode (persistent in the file) from the pool's set-up.
                writer = try DatabasePool(path: path, configuration: configuration(readOnly: false))
            } else {
                writer = try DatabaseQueue(path: path, configuration: configuration(readOnly: false))
            }
            // GRDB switches the writer to `synchronous = NORMAL` when it enables WAL, after
            // prepareDatabase ran: set FULL again, or a power cut could lose the last audit records.
            try writer.writeWithoutTransaction { try $0.execute(sql: "PRAGMA synchronous = FULL") }
            if !hasMigrationTable { try createMigrationTable(writer) }
            try migrate(writer, path: path)
            try checkChainStart(writer, path: path)
            return AppDatabase(unmigrated: writer, path: path)
        } catch {
            throw StoreError(error, path: path) ?? error
        }
    }

    /// Refuses a ledger whose audit chain no longer starts at its genesis (its first events are gone), or whose
    /// events are all gone while AUTOINCREMENT remembers some were written.
    static func checkChainStart(_ writer: any DatabaseWriter, path: String) throws {
        let (first, highWater) = try writer.read { db in
            (
                try Row.fetchOne(db, sql: "SELECT seq, prev_hash FROM events ORDER BY seq LIMIT 1"),
                try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'events'") ?? 0
            )
        }
        if let first, first["prev_hash"] as String? != AuditLog.genesisHash {
            let seq: Int64 = first["seq"]
            throw StoreError.damaged(
                path: path,
                reason: "its audit chain starts at event \(seq), not at the genesis (earlier events are gone)")
        }
        if first == nil, highWater > 0 {
            throw StoreError.damaged(
                path: path, reason: "all \(highWater) audit events are gone (the table is empty)")
        }
    }

    /// Creates the ledger at `path` whole: a new file beside it (`<path>.init-<pid>-<random>`, mode 0600) is migrated in
    /// rollback-journal mode, so every table is in the file itself, switched to WAL, closed, and then linked to
    /// `path` (link(2) refuses to replace anything: if another process got there first, its file is used and this
    /// one removed). A crash leaves at most the aside file, never a half-made ledger at `path` — so a file at
    /// `path` with content and no tables is damage, not a first start (`StoreError.damaged`).
    static func createInitialised(at path: String) throws {
        removeStaleAsideFiles(of: path)
        // Unique per opener: two openers in one process (or two processes) each build their own.
        let aside = path + ".init-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try createFile(at: aside)
        defer { unlink(aside) }
        do {
            var configuration = configuration(readOnly: false)
            configuration.journalMode = .default
            let queue = try DatabaseQueue(path: aside, configuration: configuration)
            try queue.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA journal_mode = DELETE")
                try db.execute(sql: "PRAGMA synchronous = FULL")
            }
            try createMigrationTable(queue)
            try migrate(queue, path: aside)
            try queue.writeWithoutTransaction { db in _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL") }
            try queue.close()
        } catch {
            throw StoreError(error, path: path) ?? error
        }
        try syncFile(aside)
        guard link(aside, path) == 0 else {
            let code = errno
            if code == EEXIST { return }  // Another process made it first: that one is used.
            throw fileError(code, path: path, doing: "put the new database in place")
        }
        syncFolder(of: path)
    }

    /// Removes the aside files of openers that died while building (a kill during the first start): their pid is
    /// gone.
    private static func removeStaleAsideFiles(of path: String) {
        let folder = (path as NSString).deletingLastPathComponent
        let prefix = (path as NSString).lastPathComponent + ".init-"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.isEmpty ? "." : folder)) ?? []
        for name in names where name.hasPrefix(prefix) {
            let rest = name.dropFirst(prefix.count)
            guard let pid = rest.split(separator: "-").first.flatMap({ Int32($0) }), pid > 0 else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH {
                unlink((folder as NSString).appendingPathComponent(name))
            }
        }
    }

    private static func syncFile(_ path: String) throws {
        let descriptor = posixOpen(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw fileError(errno, path: path, doing: "open the new database") }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw fileError(errno, path: path, doing: "sync the new database") }
    }

    private static func syncFolder(of path: String) {
        let folder = (path as NSString).deletingLastPathComponent
        let descriptor = posixOpen(folder.isEmpty ? "." : folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        _ = fsync(descriptor)
        close(descriptor)
    }

    private static func posixOpen(_ path: String, _ flags: Int32) -> Int32 {
        #if canImport(Glibc)
            Glibc.open(path, flags)
        #else
            Darwin.open(path, flags)
        #endif
    }

    /// Opens an EXISTING database without migrating or creating anything (for read commands like
    /// `status` that must not create a file).
    ///
    /// Refuses a missing, empty or never-migrated file (`StoreError.unavailable`), a non-database
    /// and a newer schema. An older schema is accepted: `appliedMigrations()` tells which.
    /// - Parameter pooled: as for `open(path:pooled:)`.
    public static func openExisting(path: String, readOnly: Bool, pooled: Bool = true) throws -> AppDatabase {
        do {
            switch try DatabaseFileProbe.probe(path: path) {
            case .absent:
                throw StoreError.missing(path: path)
            case .empty:
                throw StoreError.notInitialised(path: path)
            case .database(let tables, let applied):
                if !tables.contains("grdb_migrations") {
                    if tables.isEmpty { throw StoreError.notInitialised(path: path) }
                    throw StoreError.foreignDatabase(path: path)
                }
                try checkSchema(applied: applied, path: path)
            }
            let writer: any DatabaseWriter =
                pooled
                ? try DatabasePool(path: path, configuration: configuration(readOnly: readOnly))
                : try DatabaseQueue(path: path, configuration: configuration(readOnly: readOnly))
            if !readOnly {
                try writer.writeWithoutTransaction { try $0.execute(sql: "PRAGMA synchronous = FULL") }
            }
            return AppDatabase(unmigrated: writer, path: path)
        } catch {
            throw StoreError(error, path: path) ?? error
        }
    }

    /// Creates the table of applied migrations (as GRDB's migrator would) in a write transaction of its own,
    /// before anything reads it.
    ///
    /// Two processes opening a database that does not exist yet (the daemon's first start and a `track`, or two
    /// `track`s) would otherwise race: one could read the list of applied migrations while the other was
    /// creating it, and fail with "no such table: grdb_migrations" (exit 3). Once this transaction commits, every
    /// later read in either process sees the table; the migrations themselves are serialised as before.
    private static func createMigrationTable(_ writer: any DatabaseWriter) throws {
        try writer.writeWithoutTransaction { db in
            try db.inTransaction(.immediate) {
                try db.execute(
                    sql: "CREATE TABLE IF NOT EXISTS grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY)")
                return .commit
            }
        }
    }

    /// How every connection to the database file is set up.
    static func configuration(readOnly: Bool) -> Configuration {
        var configuration = Configuration()
        configuration.label = "transferkeyd"
        configuration.readonly = readOnly
        configuration.foreignKeysEnabled = true
        // The CLI and the daemon write side by side: wait for the other's transaction.
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA foreign_keys = ON")
            // An audit record must survive power loss, not only a crash of the process.
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        return configuration
    }

    /// Creates an empty file with mode 0600 (and its missing folders, 0700), whatever the umask.
    static func createFile(at path: String) throws {
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty && !FileManager.default.fileExists(atPath: folder) {
            do {
                try FileManager.default.createDirectory(
                    atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw StoreError.unavailable(
                    path: path, reason: "cannot create the folder \(folder): \(error.localizedDescription)")
            }
        }
        #if canImport(Glibc)
            let descriptor = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        #else
            let descriptor = Darwin.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        #endif
        guard descriptor >= 0 else {
            let code = errno
            // Another process created it first: it opens and migrates the same way.
            if code == EEXIST { return }
            throw fileError(code, path: path, doing: "create the file")
        }
        defer { close(descriptor) }
        // open(2) applies the umask to 0600; fchmod does not. SQLite gives -wal and -shm the same mode.
        guard fchmod(descriptor, 0o600) == 0 else { throw fileError(errno, path: path, doing: "set mode 0600") }
    }

    private static func fileError(_ code: Int32, path: String, doing action: String) -> StoreError {
        switch code {
        case EROFS: return .readOnly(path: path)
        case ENOSPC, EDQUOT: return .diskFull(path: path)
        default: return .unavailable(path: path, reason: "cannot \(action): \(String(cString: strerror(code)))")
        }
    }
}
