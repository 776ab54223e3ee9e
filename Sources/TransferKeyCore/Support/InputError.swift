/// Bad input from an operator, a script or a config file: names the field, and the line when known.
///
/// Its `description` is the one line printed before exiting with code 2.
public struct InputError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The flag, argument or config key that was wrong, e.g. `--account` or `accounts[1].id`.
    public var field: String
    /// What is wrong and what is expected, e.g. `must be 12 digits, got "1234"`.
    public var message: String
    /// The 1-based line in the config file, where the parser knows it.
    public var line: Int?

    /// Creates an error for `field`.
    public init(field: String, _ message: String, line: Int? = nil) {
        self.field = field
        self.message = message
        self.line = line
    }

    public var description: String {
        if let line { return "invalid \(field) (line \(line)): \(message)" }
        return "invalid \(field): \(message)"
    }
}
