import Foundation
import Testing

@testable import TransferKeyAWS

@Suite("Paging, profile parsing and credential refresh")
struct PagingAndRefreshTests {
    @Test("DescribeSnapshots follows nextToken within a batch")
    func describeSnapshotsNextToken() async throws {
        let transport = FakeTransport { request, number in
            let form = FakeTransport.form(request)
            #expect(form["NextToken"] == (number == 1 ? nil : "page2"))
            let id = number == 1 ? "snap-0000000000000000a" : "snap-0000000000000000b"
            let next = number == 1 ? "<nextToken>page2</nextToken>" : ""
            return AWSHTTPResponse(
                status: 200,
                text: "<DescribeSnapshotsResponse><snapshotSet><item><snapshotId>\(id)</snapshotId>"
                    + "<status>pending</status><progress>42%</progress></item></snapshotSet>\(next)"
                    + "</DescribeSnapshotsResponse>")
        }
        let states = try await AWSClient.fake(transport).ec2(region: "eu-west-1").describeSnapshots(ids: [
            "snap-0000000000000000a", "snap-0000000000000000b",
        ])
        #expect(states.found.count == 2)
        #expect(states.found["snap-0000000000000000a"]?.progress == "42%")
        #expect(transport.requests.count == 2)
    }

    @Test("ListResourceTags follows NextMarker")
    func listResourceTagsPaging() async throws {
        let transport = FakeTransport { request, number in
            #expect((FakeTransport.json(request)["Marker"] as? String) == (number == 1 ? nil : "t1"))
            return AWSHTTPResponse(
                status: 200,
                text: number == 1
                    ? #"{"Tags":[{"TagKey":"a","TagValue":"1"}],"Truncated":true,"NextMarker":"t1"}"#
                    : #"{"Tags":[{"TagKey":"b","TagValue":"2"}],"Truncated":false}"#)
        }
        let tags = try await AWSClient.fake(transport).kms(region: "eu-west-1").listResourceTags(keyID: "k")
        #expect(tags == [KMSTag(key: "a", value: "1"), KMSTag(key: "b", value: "2")])
    }

    @Test("ListAliases stops with an error when the service repeats a marker")
    func listAliasesLoop() async throws {
        let transport = FakeTransport { _, _ in
            AWSHTTPResponse(status: 200, text: #"{"Aliases":[],"Truncated":true,"NextMarker":"same"}"#)
        }
        let error = await #expect(throws: AWSError.self) {
            try await AWSClient.fake(transport).kms(region: "eu-west-1").listAliases()
        }
        #expect(error?.code == "PagingLoop")
        #expect(transport.requests.count == 2)
    }

    @Test("the shared files parse profiles, comments and non-profile sections")
    func configParsing() {
        let config = AWSConfigFile.parse(
            """
            ; comment
            [default]
            region = eu-west-1
            [profile ops]
            role_arn = arn:aws:iam::1:role/R
            credential_source = Environment
            [sso-session corp]
            sso_start_url = https://example
            """, isConfigFile: true)
        #expect(config["default"]?["region"] == "eu-west-1")
        #expect(config["ops"]?["credential_source"] == "Environment")
        #expect(config["sso-session corp"] == nil)
        #expect(config.count == 2)
    }

    @Test("a profile with credential_source = Environment assumes its role with the environment's keys")
    func credentialSourceEnvironment() async throws {
        let folder = try TemporaryDirectoryForTests()
        defer { folder.remove() }
        try "[profile ops]\nrole_arn = arn:aws:iam::444455556666:role/Ops\ncredential_source = Environment\n"
            .write(toFile: folder.path + "/config", atomically: true, encoding: .utf8)
        let transport = FakeTransport { request, _ in
            #expect(request.header("Authorization")?.contains("AKIAENV/") == true)
            return AWSHTTPResponse(status: 200, text: CredentialProviderTests.stsResponse)
        }
        let executor = AWSRequestExecutor(
            transport: transport, endpoints: AWSEndpointResolver(environment: ["AWS_ENDPOINT_URL": "http://aws.test"]),
            pacer: RequestPacer(quotas: .unlimited), clock: ManualClock(), randomSeed: 1)
        let provider = ProfileCredentialProvider(
            environment: [
                "AWS_PROFILE": "ops", "AWS_CONFIG_FILE": folder.path + "/config",
                "AWS_SHARED_CREDENTIALS_FILE": folder.path + "/none", "AWS_ACCESS_KEY_ID": "AKIAENV",
                "AWS_SECRET_ACCESS_KEY": "env-secret",
            ], executor: executor)
        #expect(try await provider.credentials().accessKeyID == "ASIAROLE")
    }

    @Test("an expired session makes the account's role be assumed again, once")
    func expiredRoleCredentialsAreRefreshed() async throws {
        let counter = ExpiryCounter()
        let transport = FakeTransport { request, _ in
            if FakeTransport.form(request)["Action"] == "AssumeRole" {
                return AWSHTTPResponse(status: 200, text: CredentialProviderTests.stsResponse)
            }
            let expiredSoFar = await counter.next()
            return expiredSoFar == 0
                ? AWSHTTPResponse(status: 400, text: #"{"__type":"ExpiredTokenException","message":"expired"}"#)
                : AWSHTTPResponse(status: 200, text: #"{"KeyMetadata":{"KeyId":"k","KeyState":"Enabled"}}"#)
        }
        let client = AWSClient.fake(transport)
        let account = AWSAccount(id: "777788889999", roleARN: "arn:aws:iam::777788889999:role/R")
        let key = try await client.kms(account: account, region: "eu-west-1").describeKey(keyID: "k")
        #expect(key.keyState == "Enabled")
        let actions = transport.requests.map { FakeTransport.form($0)["Action"] ?? $0.header("X-Amz-Target") ?? "" }
        #expect(
            actions == [
                "AssumeRole", "TrentService.DescribeKey", "AssumeRole", "TrentService.DescribeKey",
            ])
        #expect(try await client.credentialSource(for: account).hasPrefix("role arn:aws:iam::777788889999:role/R"))
    }
}

/// Counts KMS calls in `expiredRoleCredentialsAreRefreshed`.
actor ExpiryCounter {
    private var count = 0
    func next() -> Int {
        defer { count += 1 }
        return count
    }
}

/// A temporary folder (Foundation only).
struct TemporaryDirectoryForTests {
    let path: String
    init() throws {
        path = NSTemporaryDirectory() + "transferkeyd-aws-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

@Suite("Profile selection")
struct ProfileSelectionTests {
    @Test("an AWS_PROFILE that does not exist is an error, a missing default profile is merely not configured")
    func missingProfiles() async throws {
        let transport = FakeTransport { _, _ in AWSHTTPResponse(status: 500) }
        let executor = AWSRequestExecutor(
            transport: transport, endpoints: AWSEndpointResolver(environment: [:]),
            pacer: RequestPacer(quotas: .unlimited), clock: ManualClock(), randomSeed: 1)
        let named = ProfileCredentialProvider(
            environment: ["HOME": "/nonexistent", "AWS_PROFILE": "nope"], executor: executor)
        let implicit = ProfileCredentialProvider(environment: ["HOME": "/nonexistent"], executor: executor)
        let namedError = await #expect(throws: CredentialProviderError.self) { try await named.credentials() }
        let implicitError = await #expect(throws: CredentialProviderError.self) { try await implicit.credentials() }
        #expect(namedError?.isNotConfigured == false)
        #expect(namedError?.message.contains("[nope]") == true)
        #expect(implicitError?.isNotConfigured == true)
    }
}
