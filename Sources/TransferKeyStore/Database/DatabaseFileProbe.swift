import Foundation

#if canImport(GRDBSQLite)
    import GRDBSQLite
#elseif canImport(SQLite3)
    import SQLite3
#endif

/// What is at a database path, found out without writing a byte or creating a file.
///
/// GRDB cannot do this: opening any GRDB connection, even read-only, on a WAL database makes SQLite
/// create `-wal` and `-shm` files, and opening a pool writes. So this reads the file header itself and
/// then, only for real SQLite files, asks SQLite through a raw read-only connection
/// (`immutable=1` when no `-wal` file exists, so no lock or `-shm` file is created either).
enum DatabaseFileProbe {
    /// The state of the file at a path.
    enum State: Equatable {
        /// Nothing is there.
        case absent
        /// A 0-byte file, which SQLite treats as an empty database.
        case empty
        /// An SQLite database with these user tables and these rows in `grdb_migrations`.
        case database(tables: Set<String>, appliedMigrations: Set<String>)
    }

    /// The 16 bytes every SQLite 3 database file starts with.
    static let header = Array("SQLite format 3\0".utf8)

    /// Looks at `path`; throws `StoreError` when it is not usable as a database.
    static func probe(path: String) throws -> State {
        var info = stat()
        guard stat(path, &info) == 0 else {
            let code = errno
            if code == ENOENT { return .absent }
            throw StoreError.unavailable(path: path, reason: String(cString: strerror(code)))
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw StoreError.notADatabase(path: path, reason: "not a regular file")
        }
        if info.st_size == 0 { return .empty }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw StoreError.unavailable(path: path, reason: "the file cannot be read (permissions?)")
        }
        defer { try? handle.close() }
        let start = (try? handle.read(upToCount: header.count)).map(Array.init) ?? []
        guard start == header else { throw StoreError.notADatabase(path: path) }
        return try inspect(path: path)
    }

    private static func inspect(path: String) throws -> State {
        // Without a -wal file every committed page is in the main file: read it as immutable, which
        // takes no lock and creates no -shm. With one, a normal read-only connection sees the WAL too.
        let hasWAL = FileManager.default.fileExists(atPath: path + "-wal")
        let uri = "file:\(percentEncoded(path))?mode=ro" + (hasWAL ? "" : "&immutable=1")
        var connection: OpaquePointer?
        let flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX
        let opened = sqlite3_open_v2(uri, &connection, flags, nil)
        defer { sqlite3_close_v2(connection) }
        guard opened == SQLITE_OK, let connection else {
            throw failure(path: path, code: opened, connection: connection)
        }
        sqlite3_busy_timeout(connection, 5000)
        let tables = try strings(
            connection, path: path,
            sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'")
        let applied =
            tables.contains("grdb_migrations")
            ? try strings(connection, path: path, sql: "SELECT identifier FROM grdb_migrations") : []
        return .database(tables: tables, appliedMigrations: applied)
    }

    private static func strings(_ connection: OpaquePointer, path: String, sql: String) throws -> Set<String> {
        var statement: OpaquePointer?
        let prepared = sqlite3_prepare_v2(connection, sql, -1, &statement, nil)
        defer { sqlite3_finalize(statement) }
        guard prepared == SQLITE_OK, let statement else {
            throw failure(path: path, code: prepared, connection: connection)
        }
        var result: Set<String> = []
        while true {
            let step = sqlite3_step(statement)
            if step == SQLITE_DONE { return result }
            guard step == SQLITE_ROW else { throw failure(path: path, code: step, connection: connection) }
            if let text = sqlite3_column_text(statement, 0) { result.insert(String(cString: text)) }
        }
    }

    private static func failure(path: String, code: Int32, connection: OpaquePointer?) -> StoreError {
        let message = connection.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(code))
        switch code & 0xff {
        case SQLITE_NOTADB: return .notADatabase(path: path)
        case SQLITE_CORRUPT: return .notADatabase(path: path, reason: "a corrupt database (\(message))")
        case SQLITE_BUSY, SQLITE_LOCKED: return .busy(path: path)
        default: return .unavailable(path: path, reason: message)
        }
    }

    /// `path` as the path part of an SQLite `file:` URI.
    static func percentEncoded(_ path: String) -> String {
        var result = ""
        for byte in path.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "/"), UInt8(ascii: "-"), UInt8(ascii: "_"),
                UInt8(ascii: "."), UInt8(ascii: "~"):
                result.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                result += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return result
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
