import ArgumentParser
import Foundation
import TransferKeyStore

/// `transferkeyd migrate`: creates or upgrades the database.
struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create the database or apply the migrations this binary carries.",
        discussion: """
            The daemon and `track` migrate by themselves; use this to prepare a database ahead of \
            time. A database written by a newer transferkeyd is refused and left untouched (exit 3).
            """)

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let loaded = try global.loadConfig()
        let store = try loaded.openStore()
        let applied = try withExitCodes { try store.database.appliedMigrations() }
        Console.out("\(loaded.databasePath): schema at \(applied.last ?? "none") (\(applied.count) migrations applied)")
    }
}
