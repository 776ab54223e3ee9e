import TransferKeyCore
import TransferKeyStore

/// Ends a command with a contract exit code and one line on stderr.
struct CLIFailure: Error {
    var exitCode: Int32
    var message: String

    /// The command ran and found a problem (exit 1).
    static func problem(_ message: String) -> Self { Self(exitCode: 1, message: message) }
    /// Bad usage, config or input; nothing was changed (exit 2).
    static func badInput(_ message: String) -> Self { Self(exitCode: 2, message: message) }
    /// AWS or the database is unavailable (exit 3).
    static func unavailable(_ message: String) -> Self { Self(exitCode: 3, message: message) }

    /// Maps any error a command can meet to its exit code and message.
    static func from(_ error: any Error) -> Self {
        switch error {
        case let failure as CLIFailure: return failure
        case let input as InputError: return .badInput("transferkeyd: \(input)")
        case let store as TransferStoreError: return .badInput("transferkeyd: \(store)")
        case let store as StoreError:
            switch store.code {
            // A corrupt or newer-schema database is bad input (README, "exit code"): exit 2, untouched.
            case .notADatabase, .newerSchema, .unknownMigration:
                return .badInput("transferkeyd: invalid database: \(store)")
            case .unavailable, .busy, .readOnly, .diskFull:
                return .unavailable("transferkeyd: \(store)")
            }
        default: return .unavailable("transferkeyd: \(error)")
        }
    }
}
