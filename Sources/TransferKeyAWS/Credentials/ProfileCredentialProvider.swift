/// Credentials from a profile of the shared files (`AWS_PROFILE`, else `default`): static keys,
/// `credential_process`, or `role_arn` assumed through STS from `source_profile`, from `credential_source =
/// Environment | Ec2InstanceMetadata | EcsContainer`, or with `web_identity_token_file`.
///
/// IAM Identity Center (`sso_*`) profiles, unknown `credential_source` values and half-set keys are refused
/// with one line naming the profile and the key.
public struct ProfileCredentialProvider: CredentialProvider {
    /// The profile used.
    public let profileName: String
    private let resolved: Result<any CredentialProvider, CredentialProviderError>

    /// Reads the files now and resolves the profile (role chains up to 5 deep).
    public init(environment: [String: String], executor: AWSRequestExecutor) {
        let name = Self.namedProfile(environment) ?? "default"
        profileName = name
        let file = AWSConfigFile(environment: environment)
        resolved = Self.resolve(name, file: file, environment: environment, executor: executor, depth: 0)
    }

    /// `shared-file profile <name>`, plus the source behind it when the profile does not hold keys itself.
    public var source: String {
        switch resolved {
        case .success(let provider as StaticCredentialProvider):
            return provider.source
        case .success(let provider):
            return "shared-file profile \(profileName) (\(provider.source))"
        default:
            return "shared-file profile \(profileName)"
        }
    }

    /// The profile's credentials. Once the profile is resolved, every failure of the source behind it is a
    /// configured failure: the chain stops there instead of silently moving on to another identity.
    public func credentials() async throws -> Credentials {
        let provider = try resolved.get()
        do {
            return try await provider.credentials()
        } catch var error as CredentialProviderError {
            error.isNotConfigured = false
            if !error.source.hasPrefix("shared-file profile") {
                error.source = "shared-file profile \(profileName) (\(error.source))"
            }
            throw error
        }
    }

    /// Forwards to the resolved provider.
    public func invalidate() async {
        if case .success(let provider) = resolved { await provider.invalidate() }
    }

    /// The profile named by `AWS_PROFILE`, else `AWS_DEFAULT_PROFILE` (empty counts as unset, as in the SDKs).
    static func namedProfile(_ environment: [String: String]) -> String? {
        for variable in ["AWS_PROFILE", "AWS_DEFAULT_PROFILE"] {
            if let name = environment[variable], !name.isEmpty { return name }
        }
        return nil
    }

    /// The IAM Identity Center (SSO) keys, which this daemon refuses.
    static let ssoKeys = ["sso_session", "sso_start_url", "sso_account_id", "sso_role_name", "sso_region"]

    private static func resolve(
        _ name: String, file: AWSConfigFile, environment: [String: String], executor: AWSRequestExecutor,
        depth: Int
    ) -> Result<any CredentialProvider, CredentialProviderError> {
        let source = "shared-file profile \(name)"
        func refuse(_ message: String) -> Result<any CredentialProvider, CredentialProviderError> {
            .failure(CredentialProviderError(source: source, message: message))
        }
        guard depth < 5 else { return refuse("source_profile chain is too deep (more than 5 profiles)") }
        guard let profile = file.profiles[name] else {
            return .failure(
                CredentialProviderError(
                    source: source, message: "no profile [\(name)] in the shared files",
                    // A profile named by AWS_PROFILE must exist; the implicit `default` may not.
                    isNotConfigured: depth == 0 && namedProfile(environment) == nil))
        }
        if let key = ssoKeys.first(where: { profile[$0] != nil }) {
            return refuse(
                "\(key) is set: IAM Identity Center (SSO) profiles are not supported; use a profile with "
                    + "credential_process = aws configure export-credentials --profile \(name) --format process")
        }
        switch (profile["aws_access_key_id"], profile["aws_secret_access_key"]) {
        case (.some, nil): return refuse("aws_access_key_id is set but aws_secret_access_key is not: set both")
        case (nil, .some): return refuse("aws_secret_access_key is set but aws_access_key_id is not: set both")
        default: break
        }
        let staticKeys = profile["aws_access_key_id"].flatMap { keyID in
            profile["aws_secret_access_key"].map {
                Credentials(accessKeyID: keyID, secretAccessKey: $0, sessionToken: profile["aws_session_token"])
            }
        }
        let region =
            profile["region"] ?? environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"] ?? "us-east-1"
        if let roleARN = profile["role_arn"], depth == 0 || staticKeys == nil {
            let base: any CredentialProvider
            switch (profile["source_profile"], profile["credential_source"], profile["web_identity_token_file"]) {
            case (.some, .some, _):
                return refuse("role_arn has both source_profile and credential_source: keep one")
            case (.some(let sourceProfile), nil, _):
                if sourceProfile == name, let staticKeys {
                    base = StaticCredentialProvider(staticKeys, source: source)
                } else {
                    switch resolve(
                        sourceProfile, file: file, environment: environment, executor: executor, depth: depth + 1)
                    {
                    case .success(let provider): base = provider
                    case .failure(var error):
                        error.isNotConfigured = false
                        return .failure(error)
                    }
                }
            case (nil, .some(let credentialSource), _):
                switch credentialSource.lowercased() {
                case "environment":
                    base = EnvironmentCredentialProvider(environment: environment)
                case "ec2instancemetadata":
                    base = InstanceMetadataCredentialProvider(environment: environment, transport: executor.transport)
                case "ecscontainer":
                    base = ContainerCredentialProvider(environment: environment, transport: executor.transport)
                default:
                    return refuse(
                        "credential_source = \(credentialSource) is not supported: use Environment, "
                            + "Ec2InstanceMetadata or EcsContainer")
                }
            case (nil, nil, .some(let tokenFile)):
                return .success(
                    WebIdentityCredentialProvider(
                        tokenFile: tokenFile, roleARN: roleARN, sessionName: profile["role_session_name"],
                        region: region, executor: executor, origin: "web_identity_token_file of profile \(name)"))
            case (nil, nil, nil):
                return refuse(
                    "role_arn is set but none of source_profile, credential_source, web_identity_token_file is")
            }
            return .success(
                AssumeRoleCredentialProvider(
                    roleARN: roleARN, externalID: profile["external_id"],
                    durationSeconds: profile["duration_seconds"].flatMap { Int($0) }, base: base, executor: executor,
                    stsRegion: region))
        }
        if let staticKeys { return .success(StaticCredentialProvider(staticKeys, source: source)) }
        if let command = profile["credential_process"], !command.isEmpty {
            return .success(ProcessCredentialProvider(command: command, profileName: name))
        }
        return .failure(
            CredentialProviderError(
                source: source, message: "profile [\(name)] has neither keys, credential_process nor role_arn",
                isNotConfigured: depth == 0))
    }
}
