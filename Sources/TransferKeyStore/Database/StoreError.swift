import GRDB

/// Why the store cannot be used. The CLI prints `description` and exits 2 for a file that is not
/// (our) database or has a newer schema (bad input, as the README's exit codes say), 3 when it is unavailable.
///
/// `description` is one line that names the file and says what to do about it.
public struct StoreError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The kind of problem, for callers that react differently (the daemon pauses on `diskFull`).
    public enum Code: Sendable, Equatable {
        /// The file exists but is not an SQLite database (or not transferkeyd's), or it is corrupt.
        case notADatabase
        /// A newer transferkeyd migrated the database: this binary must not touch it.
        case newerSchema
        /// The database records a migration this binary does not know and that is not newer.
        case unknownMigration
        /// The file or its folder cannot be opened or created, or the database does not exist.
        case unavailable
        /// Another process held the database locked for longer than the busy timeout.
        case busy
        /// The file, its folder or the file system is read-only.
        case readOnly
        /// The disk (or quota) is full.
        case diskFull
    }

    /// The kind of problem.
    public let code: Code
    /// The database file concerned, if known.
    public let path: String?
    /// What went wrong and what to do, in one line.
    public let message: String

    /// `message`, prefixed by the path when it does not already name it.
    public var description: String {
        guard let path, !message.contains(path) else { return message }
        return "database \(path): \(message)"
    }

    private init(_ code: Code, path: String?, _ message: String) {
        self.code = code
        self.path = path
        // One line, whatever SQLite or the OS said.
        self.message = message.split(whereSeparator: \.isNewline).joined(separator: " ")
    }

    /// The file at `path` is not an SQLite database.
    public static func notADatabase(path: String, reason: String = "not an SQLite database") -> StoreError {
        StoreError(
            .notADatabase, path: path,
            "\(path) is \(reason) — check the `database` setting; transferkeyd leaves the file untouched")
    }

    /// The file at `path` has content but is not a whole transferkeyd ledger any more: no schema (a truncated WAL
    /// lost every table), or an audit chain that no longer starts at its genesis. Never re-initialised silently.
    public static func damaged(path: String, reason: String) -> StoreError {
        StoreError(
            .notADatabase, path: path,
            "\(path) is damaged: \(reason) — restore it (from the replica: `litestream restore`, or a backup), or "
                + "move it aside and start a new ledger with `transferkeyd migrate --reinitialise`; the file is "
                + "left untouched")
    }

    /// The audit key file cannot be used (missing, unreadable, readable by anyone, not a key file).
    public static func auditKey(path: String, _ reason: String) -> StoreError {
        StoreError(
            .unavailable, path: nil,
            "audit key file \(path): \(reason) — it keys the audit chain (`audit_key_file`); see `man 8 transferkeyd`")
    }

    /// The file at `path` is an SQLite database that transferkeyd did not create.
    public static func foreignDatabase(path: String) -> StoreError {
        StoreError(
            .notADatabase, path: path,
            "\(path) is an SQLite database with other tables and no transferkeyd migrations"
                + " — check the `database` setting; transferkeyd leaves the file untouched")
    }

    /// A newer transferkeyd applied migrations `applied` that this binary, which knows `known`, lacks.
    public static func newerSchema(path: String?, applied: [String], known: [String]) -> StoreError {
        let unknown = applied.filter { !known.contains($0) }
        return StoreError(
            .newerSchema, path: path,
            "\(path ?? "the database") was migrated by a newer transferkeyd (migrations "
                + "\(unknown.joined(separator: ", ")) are unknown to this binary, which knows up to "
                + "\(known.last ?? "none")) — install that newer version; the database was not modified")
    }

    /// Applied migrations `unknown` are neither known to this binary nor newer than what it knows.
    public static func unknownMigration(path: String?, unknown: [String], known: [String]) -> StoreError {
        StoreError(
            .unknownMigration, path: path,
            "\(path ?? "the database") records migrations \(unknown.joined(separator: ", ")) that this "
                + "transferkeyd does not know (it knows \(known.joined(separator: ", "))) — it was migrated by a "
                + "different build; restore a backup or use that build; the database was not modified")
    }

    /// No database file exists at `path` and the command must not create one.
    public static func missing(path: String) -> StoreError {
        StoreError(
            .unavailable, path: path,
            "no database at \(path) — has the daemon or `transferkeyd migrate` run?")
    }

    /// Another `transferkeyd run` (process `pid`) is the writer of the database at `path`.
    public static func heldByAnotherDaemon(path: String, pid: String?) -> StoreError {
        StoreError(
            .busy, path: path,
            "another transferkeyd run\(pid.map { " (pid \($0))" } ?? "") is the daemon of \(path): one daemon per "
                + "database (two would schedule and delete under each other) — stop it first, or give this one its own "
                + "`database`")
    }

    /// The file at `path` exists but was never initialised (empty, or no migration applied).
    public static func notInitialised(path: String) -> StoreError {
        StoreError(
            .unavailable, path: path,
            "the database \(path) was never initialised — has the daemon or `transferkeyd migrate` run?")
    }

    /// The database at `path` cannot be opened or used, because of `reason`.
    public static func unavailable(path: String?, reason: String) -> StoreError {
        StoreError(
            .unavailable, path: path,
            "\(path.map { "database \($0)" } ?? "the database") is unavailable: \(reason)"
                + " — check that the file and its folder exist and are readable and writable by this user")
    }

    /// Another process kept the database locked beyond the busy timeout.
    public static func busy(path: String?) -> StoreError {
        StoreError(
            .busy, path: path,
            "\(path.map { "database \($0)" } ?? "the database") stayed locked by another process beyond the"
                + " busy timeout — retry; if it persists, look for a stuck `sqlite3` session or process")
    }

    /// The database or its file system refuses writes.
    public static func readOnly(path: String?) -> StoreError {
        StoreError(
            .readOnly, path: path,
            "\(path.map { "database \($0)" } ?? "the database") is read-only — check the permissions of the"
                + " file, its -wal/-shm files and its folder, and whether the file system is mounted read-only")
    }

    /// The disk holding the database is full.
    public static func diskFull(path: String?) -> StoreError {
        StoreError(
            .diskFull, path: path,
            "the disk holding \(path.map { "database \($0)" } ?? "the database") is full — free space;"
                + " nothing was written by the failed transaction")
    }

    /// Classifies an error thrown while opening or using the database; nil when it is not an
    /// availability problem (a constraint violation, a bug, an error thrown by the caller).
    public init?(_ error: any Error, path: String?) {
        if let error = error as? StoreError {
            self = error
            return
        }
        guard let error = error as? DatabaseError else { return nil }
        let detail = error.message ?? "\(error.resultCode)"
        switch error.resultCode {
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            self = .busy(path: path)
        case .SQLITE_READONLY:
            self = .readOnly(path: path)
        case .SQLITE_FULL:
            self = .diskFull(path: path)
        case .SQLITE_NOTADB:
            self = path.map { .notADatabase(path: $0) } ?? StoreError(.notADatabase, path: nil, detail)
        case .SQLITE_CORRUPT:
            self =
                path.map { .notADatabase(path: $0, reason: "a corrupt database (\(detail))") }
                ?? StoreError(.notADatabase, path: nil, "the database is corrupt: \(detail)")
        case .SQLITE_CANTOPEN, .SQLITE_IOERR, .SQLITE_PERM, .SQLITE_AUTH, .SQLITE_NOLFS, .SQLITE_PROTOCOL:
            self = .unavailable(path: path, reason: detail)
        default:
            return nil
        }
    }
}
