/// What is at a database path and how its schema compares with this binary's migrations, found out
/// without writing a byte or creating a file (for `transferkeyd check`).
public enum DatabaseSchemaState: Sendable, Equatable {
    /// No file: the daemon or `transferkeyd migrate` creates it.
    case absent
    /// An empty file (or an SQLite file without tables): initialised on first open.
    case empty
    /// Every migration this binary knows is applied.
    case current(applied: [String])
    /// An older schema: `pending` migrations are applied when the daemon (or `migrate`) opens it.
    case older(applied: [String], pending: [String])

    /// Looks at `path`.
    ///
    /// Throws `StoreError` for a file that is not (transferkeyd's) database, a newer or unknown
    /// schema, or a file that cannot be read.
    public static func inspect(path: String) throws -> DatabaseSchemaState {
        switch try DatabaseFileProbe.probe(path: path) {
        case .absent:
            return .absent
        case .empty:
            return .empty
        case .database(let tables, let applied):
            guard tables.contains("grdb_migrations") else {
                if tables.isEmpty { return .empty }
                throw StoreError.foreignDatabase(path: path)
            }
            try AppDatabase.checkSchema(applied: applied, path: path)
            let pending = AppDatabase.knownMigrations.filter { !applied.contains($0) }
            return pending.isEmpty
                ? .current(applied: applied.sorted()) : .older(applied: applied.sorted(), pending: pending)
        }
    }
}
