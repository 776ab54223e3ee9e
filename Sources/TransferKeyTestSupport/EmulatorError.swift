import Foundation

/// A failure to start or to control the AWS emulator (`emulator/fault_moto.py`).
public struct EmulatorError: Error, Sendable, CustomStringConvertible {
    /// What went wrong and what to check, in one sentence.
    public var message: String
    /// The last lines the emulator wrote to stderr, when they help explain the failure.
    public var logTail: String?

    /// Creates an error; `logTail` is appended to the description when present.
    public init(_ message: String, logTail: String? = nil) {
        self.message = message
        self.logTail = logTail
    }

    public var description: String {
        guard let logTail, !logTail.isEmpty else { return "emulator: \(message)" }
        return "emulator: \(message)\n--- emulator stderr (tail) ---\n\(logTail)"
    }
}
