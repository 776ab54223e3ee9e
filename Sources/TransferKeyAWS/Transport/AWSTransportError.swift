/// A failure below HTTP: no response arrived (refused, reset, timed out, TLS failure).
public struct AWSTransportError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A stable code: `ConnectionRefused`, `ConnectionReset`, `ConnectionClosed`, `ConnectTimeout`,
    /// `RequestTimeout`, `TLSFailure`, `Shutdown` or `NetworkError`.
    public var code: String
    /// What went wrong, without request contents.
    public var message: String

    /// Creates a transport error.
    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    /// `code: message`.
    public var description: String { "\(code): \(message)" }
}
