import Foundation
import PackagePlugin

/// Embeds the package's `migrations/*.sql` files into the target that uses this plugin,
/// so an installed binary carries its schema and needs no file beside it.
@main
struct EmbedMigrations: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        let folder = context.package.directoryURL.appending(path: "migrations")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path())
            .filter { $0.hasSuffix(".sql") }
            .sorted()
        let inputs = names.map { folder.appending(path: $0) }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedMigrations.swift")
        return [
            .buildCommand(
                displayName: "Embedding \(names.count) migrations",
                executable: try context.tool(named: "MigrationEmbedder").url,
                // The folder, listed again by the embedder when it runs (this listing may be cached).
                arguments: [output.path(), folder.path()],
                // The folder itself is an input too, so adding a file re-runs the generator.
                inputFiles: inputs + [folder],
                outputFiles: [output]
            )
        ]
    }
}
