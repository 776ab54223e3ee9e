/// Credentials from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and optional `AWS_SESSION_TOKEN`.
public struct EnvironmentCredentialProvider: CredentialProvider {
    private let environment: [String: String]

    /// Creates the provider over an environment dictionary (the process's, in production).
    public init(environment: [String: String]) { self.environment = environment }

    /// `environment`.
    public var source: String { "environment" }

    /// The credentials in the environment, or not-configured when neither key variable is set; one without the
    /// other is an error.
    public func credentials() async throws -> Credentials {
        guard let keyID = environment["AWS_ACCESS_KEY_ID"], !keyID.isEmpty else {
            if let secret = environment["AWS_SECRET_ACCESS_KEY"], !secret.isEmpty {
                throw CredentialProviderError(
                    source: source, message: "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not: set both")
            }
            throw CredentialProviderError(
                source: source, message: "AWS_ACCESS_KEY_ID is not set", isNotConfigured: true)
        }
        guard let secret = environment["AWS_SECRET_ACCESS_KEY"], !secret.isEmpty else {
            throw CredentialProviderError(
                source: source, message: "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not: set both")
        }
        let token = environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        return Credentials(accessKeyID: keyID, secretAccessKey: secret, sessionToken: token)
    }
}
