import Foundation
import PropertyBased
import Testing

@testable import TransferKeyAWS

/// One AWS operation whose answer the client decodes, with a well-formed answer to start from.
struct DecodedOperation: Sendable, CustomTestStringConvertible {
    var name: String
    var validBody: String
    var call: @Sendable (AWSClient) async throws -> Void

    var testDescription: String { name }

    static let all: [DecodedOperation] = [
        .init(
            name: "KMS DescribeKey",
            validBody: #"{"KeyMetadata":{"KeyId":"k1","Arn":"arn:aws:kms:us-east-1:111122223333:key/k1","#
                + #""KeyManager":"CUSTOMER","KeyState":"Enabled","CreationDate":1700000000.5,"MultiRegion":true,"#
                + #""MultiRegionConfiguration":{"MultiRegionKeyType":"PRIMARY","PrimaryKey":{"Arn":"a","Region":"us-east-1"},"#
                + #""ReplicaKeys":[{"Arn":"b","Region":"eu-west-1"}]}}}"#
        ) { _ = try await $0.kms(region: "us-east-1").describeKey(keyID: "k1") },
        .init(
            name: "KMS ListAliases",
            validBody: #"{"Aliases":[{"AliasName":"alias/CadoResponse-KMS-Alias-1","TargetKeyId":"k1","#
                + #""CreationDate":1700000000}],"Truncated":false}"#
        ) { _ = try await $0.kms(region: "us-east-1").listAliases() },
        .init(
            name: "KMS ScheduleKeyDeletion",
            validBody: #"{"KeyId":"arn:aws:kms:us-east-1:111122223333:key/k1","DeletionDate":1.7646e9,"#
                + #""KeyState":"PendingDeletion","PendingWindowInDays":7}"#
        ) { _ = try await $0.kms(region: "us-east-1").scheduleKeyDeletion(keyID: "k1", pendingWindowDays: 7) },
        .init(
            name: "KMS ListResourceTags",
            validBody: #"{"Tags":[{"TagKey":"transferkeyd:import-id","TagValue":"imp-1"}],"Truncated":false}"#
        ) { _ = try await $0.kms(region: "us-east-1").listResourceTags(keyID: "k1") },
        .init(
            name: "EC2 DescribeSnapshots",
            validBody: "<DescribeSnapshotsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>r"
                + "</requestId><snapshotSet><item><snapshotId>snap-0123456789abcdef0</snapshotId><status>completed"
                + "</status><progress>100%</progress></item></snapshotSet></DescribeSnapshotsResponse>"
        ) { _ = try await $0.ec2(region: "us-east-1").describeSnapshots(ids: ["snap-0123456789abcdef0"]) },
        .init(
            name: "STS GetCallerIdentity",
            validBody: "<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::111122223333:user/u"
                + "</Arn><UserId>AIDA</UserId><Account>111122223333</Account></GetCallerIdentityResult>"
                + "</GetCallerIdentityResponse>"
        ) { _ = try await $0.sts(region: "us-east-1").getCallerIdentity() },
        .init(
            name: "STS AssumeRole",
            validBody: "<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>ASIA</AccessKeyId>"
                + "<SecretAccessKey>s</SecretAccessKey><SessionToken>t</SessionToken><Expiration>2030-01-01T00:00:00Z"
                + "</Expiration></Credentials><AssumedRoleUser><Arn>arn:aws:sts::111122223333:assumed-role/R/s</Arn>"
                + "<AssumedRoleId>AROA:s</AssumedRoleId></AssumedRoleUser></AssumeRoleResult></AssumeRoleResponse>"
        ) {
            _ = try await $0.sts(region: "us-east-1").assumeRole(
                roleARN: "arn:aws:iam::111122223333:role/R", sessionName: "s")
        },
    ]

    /// Calls the operation once (no retries) against a transport that answers `status` and `body`.
    func answer(status: Int, body: [UInt8]) async {
        let transport = FakeTransport { _, _ in AWSHTTPResponse(status: status, body: body) }
        let client = AWSClient.fake(transport, maxAttempts: 1)
        do {
            try await call(client)
        } catch is AWSError {
            // The one acceptable failure: a decoded AWS error (or the client's own "invalid response").
        } catch {
            Issue.record("\(name): \(error) is not an AWSError (status \(status), \(body.count) bytes)")
        }
        try? await client.shutdown()
    }
}

/// Hostile bytes for decoders.
enum HostileBytes {
    static func mutate(_ body: String, operation: Int, position: Int, byte: UInt8) -> [UInt8] {
        var bytes = Array(body.utf8)
        let index = position % (bytes.count + 1)
        switch operation % 5 {
        case 0: return Array(bytes.prefix(index))  // truncated, as a dropped connection leaves it
        case 1: bytes.insert(byte, at: index)
        case 2: if index < bytes.count { bytes[index] = byte }
        case 3: if index < bytes.count { bytes.remove(at: index) }
        default: return bytes + bytes
        }
        return bytes
    }

    /// Bytes that matter to JSON and XML.
    static let awkward: [UInt8] = Array("{}[]<>/\"':,=&;!?-#0 \n".utf8) + [0x00, 0x7F, 0xC3, 0xFF, 0xE2]

    static let randomBodies = Gen<UInt8>.value(in: 0...255).array(of: 0...300)
    static let statuses = Gen<Int?>.element(of: [200, 200, 200, 400, 403, 404, 429, 500, 503, 302, 204]).map { $0! }
}

@Suite("AWS response decoders: property-based fuzzing", .timeLimit(.minutes(5)))
struct DecoderPropertyTests {
    @Test("a well-formed answer decodes (the mutations below start from real shapes)", arguments: DecodedOperation.all)
    func validAnswer(_ operation: DecodedOperation) async throws {
        let transport = FakeTransport { _, _ in AWSHTTPResponse(status: 200, text: operation.validBody) }
        try await operation.call(AWSClient.fake(transport, maxAttempts: 1))
    }

    @Test("truncated, edited and doubled answers end in a value or an AWSError", arguments: DecodedOperation.all)
    func mutatedAnswers(_ operation: DecodedOperation) async {
        await propertyCheck(
            count: 300, input: HostileBytes.statuses, Gen.int(in: 0...4), Gen.int(in: 0...2_000),
            Gen<UInt8?>.element(of: HostileBytes.awkward).map { $0! }
        ) { status, edit, position, byte in
            await operation.answer(
                status: status,
                body: HostileBytes.mutate(operation.validBody, operation: edit, position: position, byte: byte))
        }
    }

    @Test("random bytes, deep nesting and huge answers end in a value or an AWSError", arguments: DecodedOperation.all)
    func hostileAnswers(_ operation: DecodedOperation) async {
        await propertyCheck(count: 200, input: HostileBytes.statuses, HostileBytes.randomBodies) { status, body in
            await operation.answer(status: status, body: body)
        }
        for depth in [1_000, 100_000] {
            await operation.answer(status: 200, body: Array(String(repeating: "[", count: depth).utf8))
            await operation.answer(status: 200, body: Array(String(repeating: "<a>", count: depth).utf8))
            await operation.answer(status: 500, body: Array(String(repeating: "{\"a\":", count: depth).utf8))
        }
        let huge = operation.validBody + String(repeating: " ", count: 2_000_000)
        await operation.answer(status: 200, body: Array(huge.utf8))
    }

    @Test("error decoding: any status, headers and body give a non-empty code and keep the status")
    func errorDecoding() async {
        await propertyCheck(
            count: 2_000, input: HostileBytes.statuses, HostileBytes.randomBodies,
            Gen.ascii.string(of: 0...40).optional
        ) { status, body, errorType in
            let headers = errorType.map { [(name: "X-Amzn-ErrorType", value: $0)] } ?? []
            let error = AWSError.decode(
                AWSHTTPResponse(status: status, headers: headers, body: body), service: "kms", operation: "DescribeKey")
            #expect(!error.code.isEmpty)
            #expect(error.httpStatus == status)
        }
    }

    @Test("the XML reader, the shared-config reader and the credentials document take any bytes")
    func smallParsers() async {
        await propertyCheck(count: 2_000, input: HostileBytes.randomBodies) { body in
            _ = XMLNode.parse(body)
            _ = AWSConfigFile.parse(String(decoding: body, as: UTF8.self), isConfigFile: true)
            #expect(throws: (any Error).self) {
                _ = try MetadataCredentialsDocument.decode(body + Array("{".utf8), source: "fuzz")
            }
        }
    }

    @Test("an X-Amzn-ErrorType header without a code falls back to the body, not a crash")
    func emptyErrorTypeHeader() {
        for header in [":", ":http://internal.amazon.com/", " ", ""] {
            let error = AWSError.decode(
                AWSHTTPResponse(
                    status: 400, headers: [(name: "X-Amzn-ErrorType", value: header)],
                    text: #"{"__type":"NotFoundException","message":"gone"}"#),
                service: "kms", operation: "DeleteAlias")
            #expect(error.code == "NotFoundException", "header \(header.debugDescription)")
        }
    }

    @Test("XML that would crash or blow up FoundationXML is refused before it gets there")
    func hostileXML() {
        // Invalid UTF-8 in a tag name: FoundationXML force-unwraps the name and the process dies.
        #expect(XMLNode.parse(Array("<Response><Err".utf8) + [0xC3] + Array("or>x</Error></Response>".utf8)) == nil)
        let laughs = """
            <?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
            <r>&b;</r>
            """
        #expect(XMLNode.parse(Array(laughs.utf8)) == nil, "no DTD, so no entity expansion")
        #expect(XMLNode.parse(Array(#"<?xml version="1.0" encoding="ISO-8859-1"?><r>x</r>"#.utf8)) == nil)
        let plain = XMLNode.parse(Array(#"<?xml version="1.0" encoding="UTF-8"?><r><Code>x</Code></r>"#.utf8))
        #expect(plain?.value("Code") == "x")
        #expect(XMLNode.parse(Array("<r><Code>é</Code></r>".utf8))?.value("Code") == "é")
    }

    @Test("a server that pages for ever with new markers is stopped, not followed for ever")
    func endlessPaging() async {
        let transport = FakeTransport { _, number in
            AWSHTTPResponse(
                status: 200, text: #"{"Aliases":[],"Truncated":true,"NextMarker":"m\#(number)"}"#)
        }
        let client = AWSClient.fake(transport, maxAttempts: 1)
        await #expect(throws: AWSError.self) { _ = try await client.kms(region: "us-east-1").listAliases() }
        #expect(transport.requests.count <= KMSClient.maximumPages)
    }
}
