import Foundation
import Testing

@testable import TransferKeyAWS

@Suite("KMS, EC2 and STS protocols over a fake transport")
struct ProtocolTests {
    @Test("a KMS call is a signed JSON 1.1 POST with the TrentService target")
    func kmsRequestShape() async throws {
        let transport = FakeTransport { _, _ in
            AWSHTTPResponse(
                status: 200, headers: [("Content-Type", "text/html")],
                text: #"{"KeyId":"arn:aws:kms:eu-west-1:111122223333:key/k1","DeletionDate":1.7646e9,"#
                    + #""KeyState":"PendingDeletion","PendingWindowInDays":7}"#)
        }
        let kms = AWSClient.fake(transport).kms(
            region: "eu-west-1", extraHeaders: ["x-moto-account-id": "111122223333"])
        let result = try await kms.scheduleKeyDeletion(keyID: "k1", pendingWindowDays: 7)
        #expect(result.keyState == "PendingDeletion")
        #expect(result.deletionDate == Date(timeIntervalSince1970: 1.7646e9))
        let request = try #require(transport.requests.first)
        #expect(request.method == "POST")
        #expect(request.url == "http://aws.test/")
        #expect(request.header("X-Amz-Target") == "TrentService.ScheduleKeyDeletion")
        #expect(request.header("Content-Type") == "application/x-amz-json-1.1")
        #expect(request.header("x-moto-account-id") == "111122223333")
        let authorization = try #require(request.header("Authorization"))
        #expect(authorization.contains("/eu-west-1/kms/aws4_request"))
        #expect(authorization.contains("x-amz-target"))
        let body = FakeTransport.json(request)
        #expect(body["KeyId"] as? String == "k1")
        #expect(body["PendingWindowInDays"] as? Int == 7)
        #expect(request.redactedHeaders.first { $0.name == "Authorization" }?.value == "<redacted>")
    }

    @Test("DescribeKey decodes metadata with multi-Region configuration")
    func describeKey() async throws {
        let transport = FakeTransport { _, _ in
            AWSHTTPResponse(
                status: 200,
                text: """
                    {"KeyMetadata":{"KeyId":"mrk-1","Arn":"arn:aws:kms:us-east-1:1:key/mrk-1","KeyManager":"CUSTOMER",
                    "KeyState":"Enabled","CreationDate":1700000000.5,"MultiRegion":true,
                    "MultiRegionConfiguration":{"MultiRegionKeyType":"PRIMARY",
                    "PrimaryKey":{"Arn":"arn:aws:kms:us-east-1:1:key/mrk-1","Region":"us-east-1"},
                    "ReplicaKeys":[{"Arn":"arn:aws:kms:eu-west-1:1:key/mrk-1","Region":"eu-west-1"}]}}}
                    """)
        }
        let key = try await AWSClient.fake(transport).kms(region: "us-east-1").describeKey(keyID: "mrk-1")
        #expect(key.keyManager == "CUSTOMER")
        #expect(key.isMultiRegion == true)
        #expect(key.multiRegionConfiguration?.replicaKeys.map(\.region) == ["eu-west-1"])
        #expect(key.creationDate == Date(timeIntervalSince1970: 1_700_000_000.5))
    }

    @Test("ListAliases follows NextMarker to the end with Limit 100 and filters by key")
    func listAliasesPaging() async throws {
        let transport = FakeTransport { request, number in
            let body = FakeTransport.json(request)
            #expect(body["Limit"] as? Int == 100)
            #expect(body["KeyId"] as? String == "k1")
            let marker = body["Marker"] as? String
            #expect(marker == (number == 1 ? nil : "m\(number - 1)"))
            let aliases = (0..<(number < 3 ? 100 : 50)).map {
                #"{"AliasName":"alias/a-\#(number)-\#($0)","TargetKeyId":"k1","CreationDate":1700000000}"#
            }
            let more = number < 3 ? #","Truncated":true,"NextMarker":"m\#(number)""# : #","Truncated":false"#
            return AWSHTTPResponse(status: 200, text: #"{"Aliases":[\#(aliases.joined(separator: ","))]\#(more)}"#)
        }
        let aliases = try await AWSClient.fake(transport).kms(region: "eu-west-1").listAliases(keyID: "k1")
        #expect(aliases.count == 250)
        #expect(Set(aliases.map(\.aliasName)).count == 250)
        #expect(aliases.first?.creationDate == Date(timeIntervalSince1970: 1_700_000_000))
        #expect(transport.requests.count == 3)
    }

    @Test("DeleteAlias on a missing alias surfaces NotFoundException without retrying")
    func deleteAliasNotFound() async throws {
        let transport = FakeTransport { _, _ in
            AWSHTTPResponse(status: 400, text: #"{"__type":"NotFoundException","message":"Alias not found"}"#)
        }
        let error = await #expect(throws: AWSError.self) {
            try await AWSClient.fake(transport).kms(region: "eu-west-1").deleteAlias(aliasName: "alias/x")
        }
        #expect(error?.category == .notFound)
        #expect(transport.requests.count == 1)
    }

    /// An EC2 stand-in that knows `known` snapshots and fails whole calls naming (or not) the missing ones.
    static func ec2(known: Set<String>, namesMissing: Bool = true) -> FakeTransport {
        FakeTransport { request, _ in
            let form = FakeTransport.form(request)
            #expect(form["Action"] == "DescribeSnapshots")
            #expect(form["Version"] == "2016-11-15")
            let ids = form.keys.filter { $0.hasPrefix("SnapshotId.") }.compactMap { form[$0] }
            #expect(ids.count <= 200)
            let missing = ids.filter { !known.contains($0) }.sorted()
            if !missing.isEmpty {
                let message =
                    namesMissing
                    ? "The snapshot '\(missing[0])' does not exist." : "One or more snapshots do not exist."
                return AWSHTTPResponse(
                    status: 400,
                    text: "<Response><Errors><Error><Code>InvalidSnapshot.NotFound</Code><Message>\(message)"
                        + "</Message></Error></Errors><RequestID>r</RequestID></Response>")
            }
            let items = ids.map {
                "<item><snapshotId>\($0)</snapshotId><status>completed</status><progress>100%</progress>"
                    + "<ownerId>123456789012</ownerId></item>"
            }
            return AWSHTTPResponse(
                status: 200,
                text: "<DescribeSnapshotsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">"
                    + "<requestId>r</requestId><snapshotSet>\(items.joined())</snapshotSet></DescribeSnapshotsResponse>"
            )
        }
    }

    @Test("450 snapshot ids take three calls of at most 200")
    func describeSnapshotsBatches() async throws {
        let ids = (0..<450).map { String(format: "snap-%017x", $0) }
        let transport = Self.ec2(known: Set(ids))
        let states = try await AWSClient.fake(transport).ec2(region: "eu-west-1").describeSnapshots(ids: ids)
        #expect(states.found.count == 450)
        #expect(states.missing.isEmpty)
        #expect(states.found[ids[0]]?.state == "completed")
        #expect(states.found[ids[0]]?.ownerID == "123456789012")
        #expect(transport.requests.count == 3)
    }

    @Test("one missing id named in the message costs one extra call and is reported")
    func describeSnapshotsMissingNamed() async throws {
        let ids = (0..<300).map { String(format: "snap-%017x", $0) }
        let transport = Self.ec2(known: Set(ids).subtracting([ids[17]]))
        let states = try await AWSClient.fake(transport).ec2(region: "eu-west-1").describeSnapshots(ids: ids)
        #expect(states.missing == [ids[17]])
        #expect(states.found.count == 299)
        #expect(transport.requests.count == 3)
    }

    @Test("when the message names no id the batch is halved until the missing ones are isolated")
    func describeSnapshotsMissingUnnamed() async throws {
        let ids = (0..<64).map { String(format: "snap-%017x", $0) }
        let transport = Self.ec2(known: Set(ids).subtracting([ids[5], ids[40]]), namesMissing: false)
        let states = try await AWSClient.fake(transport).ec2(region: "eu-west-1").describeSnapshots(ids: ids)
        #expect(states.missing == [ids[5], ids[40]].sorted())
        #expect(states.found.count == 62)
        #expect(transport.requests.count < 30)
    }

    @Test("DryRunOperation means the permission is granted, UnauthorizedOperation that it is not")
    func dryRun() async throws {
        let allowed = FakeTransport { request, _ in
            #expect(FakeTransport.form(request)["DryRun"] == "true")
            return AWSHTTPResponse(
                status: 412,
                text: "<Response><Errors><Error><Code>DryRunOperation</Code><Message>Request would have succeeded"
                    + "</Message></Error></Errors></Response>")
        }
        #expect(try await AWSClient.fake(allowed).ec2(region: "eu-west-1").canDescribeSnapshots())
        let denied = FakeTransport { _, _ in
            AWSHTTPResponse(
                status: 403,
                text: "<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>no</Message></Error>"
                    + "</Errors></Response>")
        }
        #expect(try await !AWSClient.fake(denied).ec2(region: "eu-west-1").canDescribeSnapshots())
    }

    @Test("AssumeRole sends the role, session name and external id and parses the credentials")
    func assumeRole() async throws {
        let transport = FakeTransport { request, _ in
            let form = FakeTransport.form(request)
            #expect(form["Action"] == "AssumeRole")
            #expect(form["RoleArn"] == "arn:aws:iam::111122223333:role/R")
            #expect(form["ExternalId"] == "ext")
            #expect(form["RoleSessionName"]?.hasPrefix("transferkeyd-111122223333-") == true)
            return AWSHTTPResponse(
                status: 200,
                text: """
                    <AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>
                    <Credentials><AccessKeyId>ASIAEXAMPLE</AccessKeyId><SecretAccessKey>sec</SecretAccessKey>
                    <SessionToken>tok</SessionToken><Expiration>2030-01-01T00:00:00Z</Expiration></Credentials>
                    <AssumedRoleUser><Arn>arn:aws:sts::111122223333:assumed-role/R/s</Arn>
                    <AssumedRoleId>AROA:s</AssumedRoleId></AssumedRoleUser></AssumeRoleResult></AssumeRoleResponse>
                    """)
        }
        let role = try await AWSClient.fake(transport).sts(region: "us-east-1").assumeRole(
            roleARN: "arn:aws:iam::111122223333:role/R",
            sessionName: STSClient.sessionName(account: "111122223333"), externalID: "ext", durationSeconds: 900)
        #expect(role.credentials.accessKeyID == "ASIAEXAMPLE")
        #expect(role.credentials.sessionToken == "tok")
        #expect(role.credentials.expiration == Date(timeIntervalSince1970: 1_893_456_000))
        #expect(role.assumedRoleARN == "arn:aws:sts::111122223333:assumed-role/R/s")
    }
}
