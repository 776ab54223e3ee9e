import Foundation
import Synchronization
import Testing
import TransferKeyTestSupport

@testable import TransferKeyAWS

/// The chain stops on anything but "not configured" (issue 12, items 1, 6 and 11), and the profile kinds the
/// SDKs support are supported; the rest are refused with one line naming the profile and the key.
@Suite("Credential chain: stop on errors, profile kinds, refusals")
struct CredentialChainTests {
    static let imdsDocument = """
        {"Code":"Success","AccessKeyId":"ASIAIMDS","SecretAccessKey":"imds-secret","Token":"imds-token",
        "Expiration":"2099-01-01T00:00:00Z"}
        """

    /// A transport that plays instance metadata and STS, and records what was asked.
    static func metadataAndSTS() -> FakeTransport {
        FakeTransport { request, _ in
            if request.url.hasSuffix("/latest/api/token") { return AWSHTTPResponse(status: 200, text: "tok") }
            if request.url.hasSuffix("/security-credentials/") { return AWSHTTPResponse(status: 200, text: "role") }
            if request.url.hasSuffix("/security-credentials/role") {
                return AWSHTTPResponse(status: 200, text: imdsDocument)
            }
            return AWSHTTPResponse(status: 200, text: CredentialProviderTests.stsResponse)
        }
    }

    func executor(_ transport: FakeTransport) -> AWSRequestExecutor {
        AWSRequestExecutor(
            transport: transport, endpoints: AWSEndpointResolver(environment: ["AWS_ENDPOINT_URL": "http://aws.test"]),
            pacer: RequestPacer(quotas: .unlimited), clock: ManualClock(), randomSeed: 1)
    }

    /// A home folder with `~/.aws/config` holding `config`.
    func home(config: String, credentials: String = "") throws -> TemporaryDirectory {
        let home = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: home.path(".aws"), withIntermediateDirectories: true)
        try config.write(toFile: home.path(".aws/config"), atomically: true, encoding: .utf8)
        try credentials.write(toFile: home.path(".aws/credentials"), atomically: true, encoding: .utf8)
        return home
    }

    func chain(_ environment: [String: String], _ transport: FakeTransport) -> CredentialProviderChain {
        CredentialProviderChain.standard(
            environment: environment.merging(["AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://imds.test"]) { $1 },
            executor: executor(transport))
    }

    @Test("AWS_PROFILE with credential_process runs the command; instance metadata is never asked")
    func credentialProcess() async throws {
        let home = try home(
            config: """
                [profile ops]
                credential_process = printf '{"Version":1,"AccessKeyId":"AKIAPROC","SecretAccessKey":"proc-secret","SessionToken":"t","Expiration":"2099-01-01T00:00:00Z"}'
                """)
        defer { home.remove() }
        let transport = Self.metadataAndSTS()
        let chain = chain(["HOME": home.url.path(), "AWS_PROFILE": "ops"], transport)
        let credentials = try await chain.credentials()
        #expect(credentials.accessKeyID == "AKIAPROC")
        #expect(credentials.sessionToken == "t")
        #expect(try await chain.resolvedSource() == "shared-file profile ops (credential_process of profile ops)")
        #expect(transport.requests.isEmpty)
    }

    @Test("a failing credential_process stops the chain with the profile's name, not the instance role")
    func failingProcess() async throws {
        let home = try home(config: "[profile ops]\ncredential_process = exit 3\n")
        defer { home.remove() }
        let transport = Self.metadataAndSTS()
        let chain = chain(["HOME": home.url.path(), "AWS_PROFILE": "ops"], transport)
        let error = await #expect(throws: CredentialProviderError.self) { try await chain.credentials() }
        #expect(error?.description.contains("shared-file profile ops") == true)
        #expect(error?.message.contains("exited with status 3") == true)
        #expect(transport.requests.isEmpty)
    }

    @Test("a credential_process over its time limit is killed with the children it started, which hold its output open")
    func processTimeLimit() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let finished = folder.path("finished")
        let shell = folder.path("shell.pid")
        // The background job keeps the command's standard output open after the shell is gone; left alive, it would
        // end the read only when it finished and left its mark. (SIGTERM is not enough: the service group sets it to
        // ignored, a disposition children inherit, and here the shell outlived terminate(). SIGKILL always ends it.)
        let command = "echo $$ > '\(shell)'; (sleep 60; touch '\(finished)') & wait"
        let done = Mutex(false)
        let run = Task {
            defer { done.withLock { $0 = true } }
            return await #expect(throws: CredentialProviderError.self) {
                try await ProcessCredentialProvider.run(command, timeout: .seconds(1), source: "test")
            }
        }
        for _ in 0..<400 where !done.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(100)) }
        if !done.withLock({ $0 }) {
            Issue.record("the time limit did not end the command within 40 s")
            if let pid = Int32(try String(contentsOfFile: shell, encoding: .utf8).filter(\.isNumber)) {
                kill(-pid, SIGKILL)
            }
        }
        let error = await run.value
        #expect(error?.message.contains("time limit") == true, "\(String(describing: error))")
        #expect(!FileManager.default.fileExists(atPath: finished), "the command's child ran to its end")
    }

    @Test("role_arn with credential_source = Ec2InstanceMetadata assumes the role from the instance credentials")
    func credentialSourceInstanceMetadata() async throws {
        let home = try home(
            config: "[profile ops]\nrole_arn = arn:aws:iam::111122223333:role/Ops\n"
                + "credential_source = Ec2InstanceMetadata\n")
        defer { home.remove() }
        let transport = Self.metadataAndSTS()
        let chain = chain(["HOME": home.url.path(), "AWS_PROFILE": "ops"], transport)
        #expect(try await chain.credentials().accessKeyID == "ASIAROLE")
        #expect(
            try await chain.resolvedSource()
                == "shared-file profile ops (role arn:aws:iam::111122223333:role/Ops via instance metadata)")
        let assume = try #require(transport.requests.last)
        #expect(FakeTransport.form(assume)["Action"] == "AssumeRole")
        #expect(assume.headers.contains { $0.name == "X-Amz-Security-Token" && $0.value == "imds-token" })
    }

    @Test("role_arn with credential_source = EcsContainer uses the container agent")
    func credentialSourceContainer() async throws {
        let home = try home(
            config: "[profile ops]\nrole_arn = arn:aws:iam::111122223333:role/Ops\ncredential_source = EcsContainer\n")
        defer { home.remove() }
        let transport = FakeTransport { request, _ in
            request.url.hasPrefix("http://127.0.0.1:9/creds")
                ? AWSHTTPResponse(
                    status: 200, text: Self.imdsDocument.replacingOccurrences(of: "ASIAIMDS", with: "ASIAECS"))
                : AWSHTTPResponse(status: 200, text: CredentialProviderTests.stsResponse)
        }
        let chain = chain(
            [
                "HOME": home.url.path(), "AWS_PROFILE": "ops",
                "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:9/creds",
            ], transport)
        #expect(try await chain.credentials().accessKeyID == "ASIAROLE")
        #expect(
            try await chain.resolvedSource()
                == "shared-file profile ops (role arn:aws:iam::111122223333:role/Ops via container credentials)")
    }

    @Test(
        "unsupported or half-set profiles are refused with one line naming the profile and the key",
        arguments: [
            ("[profile ops]\nsso_start_url = https://x.awsapps.com/start\nsso_role_name = R\n", "sso_start_url"),
            ("[profile ops]\nsso_session = corp\n", "sso_session"),
            (
                "[profile ops]\nrole_arn = arn:aws:iam::1:role/R\ncredential_source = Lambda\n",
                "credential_source = Lambda is not supported"
            ),
            ("[profile ops]\naws_access_key_id = AKIA\n", "aws_access_key_id is set but aws_secret_access_key is not"),
            ("[profile ops]\naws_secret_access_key = s\n", "aws_secret_access_key is set but aws_access_key_id is not"),
            (
                "[profile ops]\nrole_arn = arn:aws:iam::1:role/R\nsource_profile = a\ncredential_source = Environment\n",
                "both source_profile and credential_source"
            ),
            ("[profile ops]\nrole_arn = arn:aws:iam::1:role/R\n", "role_arn is set but none of"),
        ])
    func refusals(config: String, expected: String) async throws {
        let home = try home(config: config)
        defer { home.remove() }
        let transport = Self.metadataAndSTS()
        let chain = chain(["HOME": home.url.path(), "AWS_PROFILE": "ops"], transport)
        let error = await #expect(throws: CredentialProviderError.self) { try await chain.credentials() }
        let line = error?.description ?? ""
        #expect(line.hasPrefix("shared-file profile ops: "), "\(line)")
        #expect(line.contains(expected), "\(line)")
        #expect(!line.contains("\n"))
        #expect(transport.requests.isEmpty, "no other source was asked")
    }

    @Test("AWS_ACCESS_KEY_ID without its secret stops the chain instead of using a profile or the instance role")
    func halfSetEnvironment() async throws {
        let home = try home(
            config: "", credentials: "[default]\naws_access_key_id = AKIAFILE\naws_secret_access_key = s\n")
        defer { home.remove() }
        let transport = Self.metadataAndSTS()
        for environment in [["AWS_ACCESS_KEY_ID": "AKIAENV"], ["AWS_SECRET_ACCESS_KEY": "env-secret"]] {
            let chain = chain(environment.merging(["HOME": home.url.path()]) { $1 }, transport)
            let error = await #expect(throws: CredentialProviderError.self) { try await chain.credentials() }
            #expect(error?.source == "environment")
            #expect(error?.message.contains("set both") == true)
        }
        #expect(transport.requests.isEmpty)
    }

    @Test("AWS_WEB_IDENTITY_TOKEN_FILE comes before the shared-file default profile, as in the SDKs")
    func webIdentityBeforeProfile() async throws {
        let home = try home(
            config: "", credentials: "[default]\naws_access_key_id = AKIAFILE\naws_secret_access_key = s\n")
        defer { home.remove() }
        try "oidc-token".write(toFile: home.path("token"), atomically: true, encoding: .utf8)
        let transport = FakeTransport { _, _ in
            AWSHTTPResponse(
                status: 200,
                text: CredentialProviderTests.stsResponse.replacingOccurrences(
                    of: "AssumeRoleResult", with: "AssumeRoleWithWebIdentityResult"))
        }
        let chain = chain(
            [
                "HOME": home.url.path(), "AWS_WEB_IDENTITY_TOKEN_FILE": home.path("token"),
                "AWS_ROLE_ARN": "arn:aws:iam::1:role/Web",
            ], transport)
        #expect(try await chain.credentials().accessKeyID == "ASIAROLE")
        #expect(try await chain.resolvedSource() == "web identity arn:aws:iam::1:role/Web")
    }

    @Test("a web identity token file without a role is an error, not a skip")
    func webIdentityWithoutRole() async throws {
        let transport = Self.metadataAndSTS()
        let chain = chain(["HOME": "/nonexistent", "AWS_WEB_IDENTITY_TOKEN_FILE": "/tmp/x"], transport)
        let error = await #expect(throws: CredentialProviderError.self) { try await chain.credentials() }
        #expect(error?.message.contains("AWS_ROLE_ARN") == true)
        #expect(transport.requests.isEmpty)
    }

    @Test("instance metadata that blips twice still answers on the third try")
    func metadataRetried() async throws {
        let transport = FakeTransport { request, number in
            if number <= 2 { throw AWSTransportError(code: "ConnectTimeout", message: "blip") }
            return try await Self.metadataAndSTS().send(request, timeout: .seconds(1))
        }
        let provider = InstanceMetadataCredentialProvider(
            environment: ["AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://imds.test"], transport: transport)
        #expect(try await provider.credentials().accessKeyID == "ASIAIMDS")
        #expect(transport.requests.count == 5)
    }

    @Test("a container agent that does not answer is transient; an AWS call retries it instead of failing as auth")
    func sourceOutageIsTransient() async throws {
        let transport = FakeTransport { request, number in
            if request.url.hasPrefix("http://127.0.0.1:9/") {
                if number <= 3 { throw AWSTransportError(code: "ConnectionRefused", message: "down") }
                return AWSHTTPResponse(status: 200, text: Self.imdsDocument)
            }
            return AWSHTTPResponse(status: 200, text: #"{"KeyMetadata":{"KeyId":"k1","KeyState":"Enabled"}}"#)
        }
        let provider = ContainerCredentialProvider(
            environment: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:9/creds"], transport: transport)
        // Three tries fail inside the provider; the call's retry asks again and gets the credentials.
        let kms = AWSClient.fake(transport, credentials: provider).kms(region: "eu-west-1")
        #expect(try await kms.describeKey(keyID: "k1").keyState == "Enabled")
        #expect(transport.requests.count == 5)

        let down = FakeTransport { _, _ in throw AWSTransportError(code: "ConnectionRefused", message: "down") }
        let failing = ContainerCredentialProvider(
            environment: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:9/creds"], transport: down)
        let direct = await #expect(throws: CredentialProviderError.self) { try await failing.credentials() }
        #expect(direct?.isTransient == true)
        let error = await #expect(throws: AWSError.self) {
            try await AWSClient.fake(down, maxAttempts: 2, credentials: failing).kms(region: "eu-west-1")
                .describeKey(keyID: "k1")
        }
        #expect(error?.code == "CredentialSourceUnavailable")
        #expect(error?.category == .transient)
        #expect(error?.attempts == 2)
    }

    @Test("dump() of credentials and of a signature shows no secret")
    func redactedMirrors() {
        let credentials = Credentials(
            accessKeyID: "AKIDEXAMPLE", secretAccessKey: "SECRETSECRET", sessionToken: "TOKENTOKEN")
        var credentialDump = ""
        dump(credentials, to: &credentialDump)
        #expect(credentialDump.contains("AKIDEXAMPLE"))
        #expect(!credentialDump.contains("SECRETSECRET") && !credentialDump.contains("TOKENTOKEN"))
        let signature = SigV4Signer(credentials: credentials, region: "eu-west-1", service: "kms").sign(
            SigV4Request(method: "POST", path: "/", headers: [("Host", "kms.eu-west-1.amazonaws.com")], body: []),
            date: Date(timeIntervalSince1970: 1_700_000_000))
        var signatureDump = ""
        dump(signature, to: &signatureDump)
        #expect(!signatureDump.contains(signature.signature))
        #expect(!signatureDump.contains("TOKENTOKEN"))
        #expect(signatureDump.contains("Signature=<redacted>"))
    }
}

@Suite("Container credentials: parsed, resolved address")
struct ContainerAddressTests {
    @Test(
        "plain http is trusted only when every address is loopback or a container agent",
        arguments: [
            ("http://127.0.0.1@192.0.2.2:18080/creds", false), ("http://user:pw@127.0.0.1/creds", false),
            ("http://[fd00:ec2::23]/v1/credentials", true), ("http://[::ffff:127.0.0.1]/x", true),
            ("http://127.5.6.7:80/x", true), ("http://169.254.170.3/x", false), ("http://[fd00:ec2::24]/x", false),
            ("ftp://127.0.0.1/x", false), ("not a url", false), ("https://agent.example/x", true),
        ])
    func literalHosts(url: String, allowed: Bool) {
        #expect((ContainerCredentialProvider.problem(withFullURI: url, resolve: { _ in [] }) == nil) == allowed)
    }

    @Test("a host name counts by what it resolves to: all addresses must be allowed")
    func resolvedNames() {
        #expect(
            ContainerCredentialProvider.problem(withFullURI: "http://agent.local/x", resolve: { _ in ["127.0.0.1"] })
                == nil)
        #expect(
            ContainerCredentialProvider.problem(
                withFullURI: "http://agent.local/x", resolve: { _ in ["127.0.0.1", "192.0.2.2"] }) != nil)
        #expect(
            ContainerCredentialProvider.problem(withFullURI: "http://agent.local/x", resolve: { _ in [] })?.contains(
                "does not resolve") == true)
        #expect(
            ContainerCredentialProvider.addresses(of: "localhost").allSatisfy {
                ContainerCredentialProvider.isAllowedPlainHTTPAddress($0)
            })
    }

    @Test("a user-info URL is refused before any request, so the token never leaves")
    func userInfoRefused() async throws {
        let transport = FakeTransport { _, _ in AWSHTTPResponse(status: 200, text: "{}") }
        let provider = ContainerCredentialProvider(
            environment: [
                "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1@192.0.2.2:18080/creds",
                "AWS_CONTAINER_AUTHORIZATION_TOKEN": "secret-token",
            ], transport: transport)
        let error = await #expect(throws: CredentialProviderError.self) { try await provider.credentials() }
        #expect(error?.message.contains("user info") == true)
        #expect(transport.requests.isEmpty)
    }

    @Test("an unreadable token file is an error, not a request without the token")
    func unreadableTokenFile() async throws {
        let transport = FakeTransport { _, _ in AWSHTTPResponse(status: 200, text: "{}") }
        let provider = ContainerCredentialProvider(
            environment: [
                "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:9/creds",
                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": "/nonexistent/token",
                "AWS_CONTAINER_AUTHORIZATION_TOKEN": "fallback",
            ], transport: transport)
        let error = await #expect(throws: CredentialProviderError.self) { try await provider.credentials() }
        #expect(error?.message.contains("cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") == true)
        #expect(error?.isNotConfigured == false)
        #expect(transport.requests.isEmpty)
    }
}

@Suite("Profile names")
struct ProfileNameTests {
    @Test("an empty AWS_PROFILE counts as unset: the missing implicit default is just not configured")
    func emptyProfileVariable() async throws {
        let transport = FakeTransport { _, _ in AWSHTTPResponse(status: 500) }
        let provider = ProfileCredentialProvider(
            environment: ["AWS_PROFILE": "", "HOME": "/nonexistent"],
            executor: AWSRequestExecutor(
                transport: transport, endpoints: AWSEndpointResolver(environment: [:]),
                pacer: RequestPacer(quotas: .unlimited)))
        #expect(provider.profileName == "default")
        let error = await #expect(throws: CredentialProviderError.self) { try await provider.credentials() }
        #expect(error?.isNotConfigured == true)
    }
}
