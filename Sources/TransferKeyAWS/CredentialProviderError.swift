/// Why a credential provider gave no credentials.
public struct CredentialProviderError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The provider's source, e.g. `environment`.
    public var source: String
    /// What is wrong and what to do, without secrets.
    public var message: String
    /// `true` when the source is simply not set up here (the chain then tries the next one quietly).
    public var isNotConfigured: Bool

    /// Creates an error.
    public init(source: String, message: String, isNotConfigured: Bool = false) {
        self.source = source
        self.message = message
        self.isNotConfigured = isNotConfigured
    }

    /// `source: message`.
    public var description: String { "\(source): \(message)" }
}
