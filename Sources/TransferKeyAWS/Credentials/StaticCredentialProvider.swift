/// Fixed credentials (tests, or keys obtained elsewhere).
public struct StaticCredentialProvider: CredentialProvider {
    /// The credentials handed out.
    public let fixed: Credentials
    /// The source name reported.
    public let source: String

    /// Creates a provider that always returns `credentials`.
    public init(_ credentials: Credentials, source: String = "static") {
        fixed = credentials
        self.source = source
    }

    /// The fixed credentials.
    public func credentials() async throws -> Credentials { fixed }
}
