import ArgumentParser
import TransferKeyCore

/// `transferkeyd policy`: the least-privilege IAM policy for the daemon's role.
struct Policy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the least-privilege IAM policy for the daemon's role, as JSON.",
        discussion: """
            Built from the config: the alias prefix and the configured accounts and roles. Attach it \
            to the role the daemon runs as (or assumes). KMS deletion calls are allowed only on keys \
            whose aliases all match the prefix, so even a bug in transferkeyd could not delete \
            another key.
            """)

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let loaded = try global.loadConfig()
        Console.out(IAMPolicy.document(for: loaded.config).prettyText)
    }
}
