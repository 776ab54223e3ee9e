import ArgumentParser
import Foundation
import TransferKeyCore
import TransferKeyStore

/// `transferkeyd migrate`: creates or upgrades the database.
struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create the database or apply the migrations this binary carries.",
        discussion: """
            The daemon and `track` migrate by themselves; use this to prepare a database ahead of \
            time. The database's folder must exist (a typo'd path would otherwise hold tracked keys \
            the daemon never reads), except the packaged state directory \(Migrate.packagedStateDirectory), \
            which is created. A file that is not a transferkeyd database, or one written by a newer \
            transferkeyd, is refused and left untouched (exit 2, like any bad input). So is a damaged \
            ledger: a file with content but no tables (a lost WAL), or an audit chain that no longer \
            starts at its genesis. Restore it (`litestream restore`, a backup), or, only once you know \
            what was lost, --reinitialise.
            """)

    /// The folder the unit's StateDirectory= names; `migrate` may create it before the first start.
    static let packagedStateDirectory = LoadedConfig.packagedStateDirectory

    @OptionGroup var global: GlobalOptions

    @Flag(
        name: .customLong("reinitialise"),
        help: """
            Move the database aside (PATH.damaged-TIMESTAMP, with its -wal and -shm) and create a new, \
            empty ledger whose first event names the file moved aside. Refused while a daemon runs on it. \
            Tracked transfers are not carried over: re-track them, or let the orphan scan find their keys.
            """)
    var reinitialise = false

    func run() async throws {
        let loaded = try global.loadConfig()
        let path = loaded.databasePath
        try loaded.requireDatabaseFolder()
        if reinitialise { try moveAside(path, loaded: loaded) }
        let store = try loaded.openStore()
        let applied = try store.database.appliedMigrations()
        Console.out(
            "\(path): schema at \(applied.last ?? "none") (\(plural(applied.count, "migration")) applied)")
    }

    /// Moves the database (and its -wal, -shm) aside under the writer lock, and records where in the new ledger.
    private func moveAside(_ path: String, loaded: LoadedConfig) throws {
        guard FileManager.default.fileExists(atPath: path) else { return }
        let lock = try WriterLock.acquire(databasePath: path)
        defer { withExtendedLifetime(lock) {} }
        let stamp = Timestamp.string(Date()).replacingOccurrences(of: ":", with: "")
        let aside = "\(path).damaged-\(stamp)"
        for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: path + suffix) {
            guard rename(path + suffix, aside + suffix) == 0 else {
                throw CLIFailure.unavailable(
                    "transferkeyd: cannot move \(path + suffix) aside: \(String(cString: strerror(errno)))")
            }
        }
        let store = try loaded.openStore()
        try store.noteLedgerStart(movedAside: aside, now: Date(), actor: "transferkeyd migrate --reinitialise")
        Console.out("moved the damaged database aside to \(aside); a new ledger starts at \(path)")
    }
}
