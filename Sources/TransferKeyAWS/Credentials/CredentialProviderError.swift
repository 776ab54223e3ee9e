/// Why a credential provider gave no credentials.
public struct CredentialProviderError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The provider's source, e.g. `environment`.
    public var source: String
    /// What is wrong and what to do, without secrets.
    public var message: String
    /// `true` when the source is simply not set up here (the chain then tries the next one quietly).
    public var isNotConfigured: Bool
    /// `true` when the source did not answer (a network blip, a 5xx): the caller may retry later, and still-valid
    /// cached credentials stay in use.
    public var isTransient: Bool

    /// Creates an error.
    public init(source: String, message: String, isNotConfigured: Bool = false, isTransient: Bool = false) {
        self.source = source
        self.message = message
        self.isNotConfigured = isNotConfigured
        self.isTransient = isTransient
    }

    /// `source: message`.
    public var description: String { "\(source): \(message)" }
}
