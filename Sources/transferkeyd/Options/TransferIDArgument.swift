import ArgumentParser
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
