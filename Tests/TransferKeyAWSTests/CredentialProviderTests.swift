import Foundation
import Testing
import TransferKeyTestSupport

@testable import TransferKeyAWS

@Suite("Credential providers and endpoints")
struct CredentialProviderTests {
    static let stsResponse = """
        <AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>ASIAROLE</AccessKeyId>
        <SecretAccessKey>role-secret</SecretAccessKey><SessionToken>role-token</SessionToken>
        <Expiration>2099-01-01T00:00:00Z</Expiration></Credentials></AssumeRoleResult></AssumeRoleResponse>
        """

    func executor(_ transport: FakeTransport) -> AWSRequestExecutor {
        AWSRequestExecutor(
            transport: transport, endpoints: AWSEndpointResolver(environment: ["AWS_ENDPOINT_URL": "http://aws.test"]),
            pacer: RequestPacer(quotas: .unlimited), clock: ManualClock(), randomSeed: 1)
    }

    @Test("environment variables give credentials with the session token")
    func environment() async throws {
        let provider = EnvironmentCredentialProvider(environment: [
            "AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": "env-secret", "AWS_SESSION_TOKEN": "env-token",
        ])
        let credentials = try await provider.credentials()
        #expect(
            credentials == Credentials(accessKeyID: "AKIAENV", secretAccessKey: "env-secret", sessionToken: "env-token")
        )
        #expect(provider.source == "environment")
    }

    @Test("the chain prefers the environment over a profile and reports the source it used")
    func chainOrder() async throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }
        try FileManager.default.createDirectory(atPath: home.path(".aws"), withIntermediateDirectories: true)
        try "[default]\naws_access_key_id = AKIAFILE\naws_secret_access_key = file-secret\n"
            .write(toFile: home.path(".aws/credentials"), atomically: true, encoding: .utf8)
        let transport = FakeTransport { _, _ in AWSHTTPResponse(status: 500) }
        var environment = ["HOME": home.url.path(), "AWS_EC2_METADATA_DISABLED": "true"]

        let fromFile = CredentialProviderChain.standard(environment: environment, executor: executor(transport))
        #expect(try await fromFile.credentials().accessKeyID == "AKIAFILE")
        #expect(try await fromFile.resolvedSource() == "shared-file profile default")

        environment["AWS_ACCESS_KEY_ID"] = "AKIAENV"
        environment["AWS_SECRET_ACCESS_KEY"] = "env-secret"
        let fromEnvironment = CredentialProviderChain.standard(environment: environment, executor: executor(transport))
        #expect(try await fromEnvironment.credentials().accessKeyID == "AKIAENV")
        #expect(try await fromEnvironment.resolvedSource() == "environment")
        #expect(transport.requests.isEmpty)
    }

    @Test("AWS_PROFILE picks a config-file profile whose role_arn is assumed from its source_profile")
    func profileWithRole() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        try """
        [base]
        aws_access_key_id = AKIABASE
        aws_secret_access_key = base-secret
        """.write(toFile: folder.path("credentials"), atomically: true, encoding: .utf8)
        try """
        # comment
        [profile ops]
        role_arn = arn:aws:iam::222233334444:role/Ops
        source_profile = base
        external_id = ext-1
        region = eu-west-1
        """.write(toFile: folder.path("config"), atomically: true, encoding: .utf8)
        let transport = FakeTransport { request, _ in
            let form = FakeTransport.form(request)
            #expect(form["RoleArn"] == "arn:aws:iam::222233334444:role/Ops")
            #expect(form["ExternalId"] == "ext-1")
            #expect(request.header("Authorization")?.contains("AKIABASE/") == true)
            #expect(request.header("Authorization")?.contains("/eu-west-1/sts/") == true)
            return AWSHTTPResponse(status: 200, text: Self.stsResponse)
        }
        let provider = ProfileCredentialProvider(
            environment: [
                "AWS_PROFILE": "ops", "AWS_SHARED_CREDENTIALS_FILE": folder.path("credentials"),
                "AWS_CONFIG_FILE": folder.path("config"),
            ], executor: executor(transport))
        let credentials = try await provider.credentials()
        #expect(credentials.accessKeyID == "ASIAROLE")
        #expect(credentials.sessionToken == "role-token")
        #expect(provider.source.hasPrefix("shared-file profile ops (role arn:aws:iam::222233334444:role/Ops"))
        _ = try await provider.credentials()
        #expect(transport.requests.count == 1)
    }

    @Test("web identity reads the token file and calls AssumeRoleWithWebIdentity unsigned")
    func webIdentity() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        try "oidc-token\n".write(toFile: folder.path("token"), atomically: true, encoding: .utf8)
        let transport = FakeTransport { request, _ in
            let form = FakeTransport.form(request)
            #expect(form["Action"] == "AssumeRoleWithWebIdentity")
            #expect(form["WebIdentityToken"] == "oidc-token")
            #expect(form["RoleSessionName"] == "pod-1")
            #expect(request.header("Authorization") == nil)
            return AWSHTTPResponse(
                status: 200,
                text: Self.stsResponse.replacingOccurrences(
                    of: "AssumeRoleResult", with: "AssumeRoleWithWebIdentityResult"))
        }
        let provider = WebIdentityCredentialProvider(
            environment: [
                "AWS_WEB_IDENTITY_TOKEN_FILE": folder.path("token"), "AWS_ROLE_ARN": "arn:aws:iam::1:role/Web",
                "AWS_ROLE_SESSION_NAME": "pod-1",
            ], executor: executor(transport))
        #expect(try await provider.credentials().accessKeyID == "ASIAROLE")
    }

    @Test("IMDSv2 takes a token, finds the role and reads its credentials from a local stub")
    func instanceMetadata() async throws {
        let stub = try MetadataStub()
        defer { stub.stop() }
        let credentials = try await withHTTPTransport { transport in
            try await InstanceMetadataCredentialProvider(
                environment: ["AWS_EC2_METADATA_SERVICE_ENDPOINT": stub.baseURL], transport: transport
            ).credentials()
        }
        #expect(credentials.accessKeyID == "ASIAIMDS")
        #expect(credentials.sessionToken == "stub-session-token")
        #expect(credentials.expiration == Date(timeIntervalSince1970: 4_070_908_800))
    }

    @Test("IMDS is skipped when AWS_EC2_METADATA_DISABLED is true")
    func instanceMetadataDisabled() async throws {
        let transport = FakeTransport { _, _ in AWSHTTPResponse(status: 500) }
        let provider = InstanceMetadataCredentialProvider(
            environment: ["AWS_EC2_METADATA_DISABLED": "true"], transport: transport)
        let error = await #expect(throws: CredentialProviderError.self) { try await provider.credentials() }
        #expect(error?.isNotConfigured == true)
        #expect(transport.requests.isEmpty)
    }

    @Test("ECS credentials come from the relative URI, or the full URI with its authorization token file")
    func container() async throws {
        let stub = try MetadataStub()
        defer { stub.stop() }
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        try "ecs-auth-token".write(toFile: folder.path("auth"), atomically: true, encoding: .utf8)
        let (relativeKey, fullKey) = try await withHTTPTransport { transport in
            let relative = ContainerCredentialProvider(
                environment: ["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/ecs/relative"], transport: transport,
                relativeURIHost: stub.baseURL)
            let full = ContainerCredentialProvider(
                environment: [
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI": stub.baseURL + "/ecs/full",
                    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": folder.path("auth"),
                ], transport: transport)
            let withoutToken = ContainerCredentialProvider(
                environment: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": stub.baseURL + "/ecs/full"], transport: transport)
            await #expect(throws: CredentialProviderError.self) { try await withoutToken.credentials() }
            return (try await relative.credentials().accessKeyID, try await full.credentials().accessKeyID)
        }
        #expect(relativeKey == "ASIAECSRELATIVE")
        #expect(fullKey == "ASIAECSFULL")
    }

    @Test("a chain with nothing configured says what to set")
    func nothingConfigured() async throws {
        let transport = FakeTransport { _, _ in AWSHTTPResponse(status: 500) }
        let chain = CredentialProviderChain.standard(
            environment: ["HOME": "/nonexistent", "AWS_EC2_METADATA_DISABLED": "true"], executor: executor(transport))
        let error = await #expect(throws: CredentialProviderError.self) { try await chain.credentials() }
        #expect(error?.message.contains("AWS_ACCESS_KEY_ID") == true)
    }

    @Test("role credentials are cached, refreshed five minutes before expiry, and concurrent callers share one refresh")
    func assumeRoleCaching() async throws {
        let clock = WallClock(Date(timeIntervalSince1970: 1_000_000))
        let transport = FakeTransport { _, number in
            try await Task.sleep(for: .milliseconds(20))
            let expiry = Date(timeIntervalSince1970: 1_000_000 + 3600).ISO8601Format()
            return AWSHTTPResponse(
                status: 200,
                text: Self.stsResponse.replacingOccurrences(of: "ASIAROLE", with: "ASIAROLE\(number)")
                    .replacingOccurrences(of: "2099-01-01T00:00:00Z", with: expiry))
        }
        let provider = AssumeRoleCredentialProvider(
            roleARN: "arn:aws:iam::333344445555:role/R",
            base: StaticCredentialProvider(Credentials(accessKeyID: "A", secretAccessKey: "S")),
            executor: executor(transport), stsRegion: "us-east-1", now: { clock.now })
        let keys = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<20 { group.addTask { try await provider.credentials().accessKeyID } }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(keys == ["ASIAROLE1"])
        #expect(transport.requests.count == 1)
        clock.now = Date(timeIntervalSince1970: 1_000_000 + 3600 - 301)
        #expect(try await provider.credentials().accessKeyID == "ASIAROLE1")
        clock.now = Date(timeIntervalSince1970: 1_000_000 + 3600 - 299)
        #expect(try await provider.credentials().accessKeyID == "ASIAROLE2")
        #expect(transport.requests.count == 2)
        #expect(provider.source == "role arn:aws:iam::333344445555:role/R via static")
    }

    @Test(
        "endpoints: service variable beats AWS_ENDPOINT_URL beats config, else the partition's regional host",
        arguments: [
            (
                ["AWS_ENDPOINT_URL_KMS": "http://kms.local:1", "AWS_ENDPOINT_URL": "http://all.local:2"], "cfg",
                AWSService.kms, "us-east-1", "http://kms.local:1"
            ),
            (
                ["AWS_ENDPOINT_URL_KMS": "http://kms.local:1", "AWS_ENDPOINT_URL": "http://all.local:2/"], "cfg", .ec2,
                "us-east-1", "http://all.local:2"
            ),
            ([:], "http://cfg.local:3", .sts, "us-east-1", "http://cfg.local:3"),
            ([:], nil, .kms, "us-east-1", "https://kms.us-east-1.amazonaws.com"),
            ([:], nil, .kms, "cn-north-1", "https://kms.cn-north-1.amazonaws.com.cn"),
            ([:], nil, .kms, "us-gov-west-1", "https://kms.us-gov-west-1.amazonaws.com"),
            ([:], nil, .sts, "eu-west-1", "https://sts.eu-west-1.amazonaws.com"),
            ([:], nil, .ec2, "ap-southeast-2", "https://ec2.ap-southeast-2.amazonaws.com"),
        ] as [([String: String], String?, AWSService, String, String)])
    func endpoints(
        environment: [String: String], config: String?, service: AWSService, region: String, expected: String
    ) {
        let resolver = AWSEndpointResolver(environment: environment, configEndpointURL: config)
        #expect(resolver.endpoint(for: service, region: region) == expected)
    }

    @Test("partitions follow the region prefix")
    func partitions() {
        #expect(AWSEndpointResolver.partition(region: "cn-northwest-1") == "aws-cn")
        #expect(AWSEndpointResolver.partition(region: "us-gov-east-1") == "aws-us-gov")
        #expect(AWSEndpointResolver.partition(region: "eu-central-1") == "aws")
    }
}

/// A settable wall clock for credential expiry.
final class WallClock: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Date
    init(_ start: Date) { value = start }
    var now: Date {
        get {
            lock.lock()
            defer { lock.unlock() }
            return value
        }
        set {
            lock.lock()
            value = newValue
            lock.unlock()
        }
    }
}

@Suite("Container credentials safety")
struct ContainerCredentialSafetyTests {
    @Test(
        "a full URI over plain HTTP is only trusted towards loopback and the container agents",
        arguments: [
            ("http://127.0.0.1:8080/creds", true), ("http://localhost/creds", true), ("http://[::1]:9/x", true),
            ("http://169.254.170.23/v1/credentials", true), ("http://169.254.170.2/x", true),
            ("http://10.0.0.7/creds", false), ("http://evil.example/creds", false), ("https://evil.example/x", false),
        ])
    func plainHTTPHosts(url: String, allowed: Bool) {
        #expect(ContainerCredentialProvider.isAllowedPlainHTTP(url) == allowed)
    }

    @Test("a full URI to a foreign plain-HTTP host is refused without a request")
    func refusesForeignHost() async throws {
        let transport = FakeTransport { _, _ in AWSHTTPResponse(status: 200, text: "{}") }
        let provider = ContainerCredentialProvider(
            environment: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://10.1.2.3/creds"], transport: transport)
        let error = await #expect(throws: CredentialProviderError.self) { try await provider.credentials() }
        #expect(error?.isNotConfigured == false)
        #expect(transport.requests.isEmpty)
    }
}
