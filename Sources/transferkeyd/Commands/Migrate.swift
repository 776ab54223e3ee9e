import ArgumentParser
import Foundation
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
            transferkeyd, is refused and left untouched (exit 2, like any bad input).
            """)

    /// The folder the unit's StateDirectory= names; `migrate` may create it before the first start.
    static let packagedStateDirectory = "/var/lib/transferkeyd"

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let loaded = try global.loadConfig()
        let path = loaded.databasePath
        let folder = (path as NSString).deletingLastPathComponent
        var isFolder: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder)
        if !exists, folder != Self.packagedStateDirectory {
            throw CLIFailure.badInput(
                "transferkeyd: invalid database: the folder \(folder) of \(path) does not exist; "
                    + "create it, or fix `database` in \(loaded.path)")
        }
        if exists, !isFolder.boolValue {
            throw CLIFailure.badInput(
                "transferkeyd: invalid database: \(folder) (the folder of \(path)) is not a folder")
        }
        let store = try loaded.openStore()
        let applied = try store.database.appliedMigrations()
        Console.out(
            "\(path): schema at \(applied.last ?? "none") (\(plural(applied.count, "migration")) applied)")
    }
}
