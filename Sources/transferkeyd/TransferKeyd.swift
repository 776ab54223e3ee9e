import ArgumentParser

@main
struct TransferKeyd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transferkeyd",
        abstract: "Makes sure temporary AWS KMS transfer keys always die.",
        version: "0.1.0"
    )
}
