import Foundation

/// The test harness could not run the command.
public struct CommandRunnerError: Error, CustomStringConvertible {
    public var message: String

    /// Creates an error with `message`.
    public init(message: String) { self.message = message }

    public var description: String { message }
}
