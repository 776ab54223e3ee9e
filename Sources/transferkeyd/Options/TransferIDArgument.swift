import ArgumentParser
import Foundation
import TransferKeyCore

/// The `ID` argument of `show`, `complete`, `retry` and `cancel-deletion`.
struct TransferIDArgument: ParsableArguments {
    @Argument(help: ArgumentHelp("Import id, key id or key ARN.", valueName: "id"))
    var id: String

    /// The validated reference; bad input is exit 2 naming `ID`.
    func reference() throws -> String {
        try Validator.transferReference(id, field: "ID")
    }
}

/// An operator's `--reason` and who gave it, as `accept` and `close` record them.
struct OperatorReason {
    /// The reason, trimmed.
    var text: String
    /// The person: under sudo `SUDO_USER (via sudo as cli:root)`, else the CLI actor.
    var person: String
    /// The CLI actor that writes the event (`cli:<user>`).
    var actor: String

    /// One line of 1…500 printable characters, else exit 2 naming --reason and what it is for.
    init(_ reason: String, purpose: String) throws {
        let why = reason.trimmingCharacters(in: .whitespaces)
        guard !why.isEmpty, why.count <= 500, why.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F })
        else {
            throw CLIFailure.badInput(
                "transferkeyd: invalid --reason: give one line of 1…500 printable characters saying \(purpose)")
        }
        let actor = cliActor()
        let sudoUser = ProcessInfo.processInfo.environment["SUDO_USER"]
        text = why
        self.actor = actor
        person = sudoUser.flatMap { $0.isEmpty ? nil : "\($0) (via sudo as \(actor))" } ?? actor
    }
}
