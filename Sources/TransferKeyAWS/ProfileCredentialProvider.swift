/// Credentials from a profile of the shared files (`AWS_PROFILE`, else `default`): static keys, or
/// `role_arn` with `source_profile` (or `credential_source = Environment`) assumed through STS.
public struct ProfileCredentialProvider: CredentialProvider {
    /// The profile used.
    public let profileName: String
    private let resolved: Result<any CredentialProvider, CredentialProviderError>

    /// Reads the files now and resolves the profile (role chains up to 5 deep).
    public init(environment: [String: String], executor: AWSRequestExecutor) {
        let name = environment["AWS_PROFILE"] ?? environment["AWS_DEFAULT_PROFILE"] ?? "default"
        profileName = name
        let file = AWSConfigFile(environment: environment)
        resolved = Self.resolve(name, file: file, environment: environment, executor: executor, depth: 0)
    }

    /// `shared-file profile <name>`, plus the role when the profile assumes one.
    public var source: String {
        switch resolved {
        case .success(let provider as AssumeRoleCredentialProvider):
            return "shared-file profile \(profileName) (\(provider.source))"
        default:
            return "shared-file profile \(profileName)"
        }
    }

    /// The profile's credentials.
    public func credentials() async throws -> Credentials {
        try await resolved.get().credentials()
    }

    /// Forwards to the resolved provider.
    public func invalidate() async {
        if case .success(let provider) = resolved { await provider.invalidate() }
    }

    private static func resolve(
        _ name: String, file: AWSConfigFile, environment: [String: String], executor: AWSRequestExecutor,
        depth: Int
    ) -> Result<any CredentialProvider, CredentialProviderError> {
        let source = "shared-file profile \(name)"
        guard depth < 5 else {
            return .failure(CredentialProviderError(source: source, message: "source_profile chain is too deep"))
        }
        guard let profile = file.profiles[name] else {
            return .failure(
                CredentialProviderError(
                    source: source, message: "no profile [\(name)] in the shared files",
                    // A profile named by AWS_PROFILE must exist; the implicit `default` may not.
                    isNotConfigured: depth == 0 && environment["AWS_PROFILE"] == nil))
        }
        let staticKeys = profile["aws_access_key_id"].flatMap { keyID in
            profile["aws_secret_access_key"].map {
                Credentials(accessKeyID: keyID, secretAccessKey: $0, sessionToken: profile["aws_session_token"])
            }
        }
        if let roleARN = profile["role_arn"], depth == 0 || staticKeys == nil {
            let base: any CredentialProvider
            if let sourceProfile = profile["source_profile"] {
                if sourceProfile == name, let staticKeys {
                    base = StaticCredentialProvider(staticKeys, source: source)
                } else {
                    switch resolve(
                        sourceProfile, file: file, environment: environment, executor: executor, depth: depth + 1)
                    {
                    case .success(let provider): base = provider
                    case .failure(let error): return .failure(error)
                    }
                }
            } else if profile["credential_source"]?.lowercased() == "environment" {
                base = EnvironmentCredentialProvider(environment: environment)
            } else {
                return .failure(
                    CredentialProviderError(
                        source: source, message: "profile has role_arn but no source_profile or credential_source"))
            }
            let region =
                profile["region"] ?? environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"] ?? "us-east-1"
            return .success(
                AssumeRoleCredentialProvider(
                    roleARN: roleARN, externalID: profile["external_id"],
                    durationSeconds: profile["duration_seconds"].flatMap { Int($0) }, base: base, executor: executor,
                    stsRegion: region))
        }
        if let staticKeys { return .success(StaticCredentialProvider(staticKeys, source: source)) }
        return .failure(
            CredentialProviderError(
                source: source, message: "profile [\(name)] has neither keys nor role_arn", isNotConfigured: depth == 0)
        )
    }
}
