import Foundation
import Testing
import TransferKeyTestSupport

@testable import TransferKeyAWS

/// moto in signature-verification mode: after a few unauthenticated set-up calls every request's SigV4 signature
/// is checked against the IAM user's real secret, so these tests prove the signer against a verifier.
@Suite("Signed calls against an emulator that verifies signatures", .serialized)
struct SignatureVerificationTests {
    /// Creates an admin IAM user with the unauthenticated calls moto allows and returns its access key.
    static func adminKeys(_ emulator: Emulator, transport: any AWSTransport) async throws -> Credentials {
        let setup = Credentials(accessKeyID: "AKIASETUPSETUPSETUP1", secretAccessKey: "setup")
        func iam(_ parameters: [(String, String)]) async throws -> AWSHTTPResponse {
            let response = try await RawAWS.query(
                endpoint: emulator.endpoint, service: "iam", credentials: setup,
                parameters: [("Version", "2010-05-08")] + parameters, transport: transport)
            guard response.isSuccess else {
                throw AWSError.decode(response, service: "iam", operation: parameters[0].1)
            }
            return response
        }
        _ = try await iam([("Action", "CreateUser"), ("UserName", "transferkeyd")])
        let policy = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#
        _ = try await iam([
            ("Action", "PutUserPolicy"), ("UserName", "transferkeyd"), ("PolicyName", "admin"),
            ("PolicyDocument", policy),
        ])
        let key = try await iam([("Action", "CreateAccessKey"), ("UserName", "transferkeyd")])
        return Credentials(
            accessKeyID: try #require(RawAWS.value("AccessKeyId", in: key)),
            secretAccessKey: try #require(RawAWS.value("SecretAccessKey", in: key)))
    }

    @Test("KMS, EC2 and STS calls signed with real keys pass; a wrong secret fails with the verifier's code")
    func verifiedSignatures() async throws {
        let emulator = try await Emulator.start(environment: ["INITIAL_NO_AUTH_ACTION_COUNT": "3"])
        defer { emulator.stop() }
        try await withHTTPTransport { transport in
            let keys = try await Self.adminKeys(emulator, transport: transport)
            let good = AWSClient(
                environment: ["AWS_ENDPOINT_URL": emulator.endpoint], credentials: StaticCredentialProvider(keys),
                transport: transport, quotas: .unlimited, randomSeed: 1)
            let wrong = Credentials(accessKeyID: keys.accessKeyID, secretAccessKey: "not-" + keys.secretAccessKey)
            let bad = AWSClient(
                environment: ["AWS_ENDPOINT_URL": emulator.endpoint], credentials: StaticCredentialProvider(wrong),
                transport: transport, quotas: .unlimited, randomSeed: 1)

            let key = try await good.kms(region: "eu-west-1").createKey(description: "signed")
            try await good.kms(region: "eu-west-1").createAlias(
                aliasName: "alias/CadoResponse-KMS-Alias-signed", targetKeyID: key.keyID)
            #expect(try await good.kms(region: "eu-west-1").listAliases(keyID: key.keyID).count == 1)
            #expect(try await good.ec2(region: "eu-west-1").canDescribeSnapshots())
            #expect(try await good.sts(region: "us-east-1").getCallerIdentity().arn.hasSuffix("user/transferkeyd"))

            let kmsError = await #expect(throws: AWSError.self) {
                try await bad.kms(region: "eu-west-1").describeKey(keyID: key.keyID)
            }
            let ec2Error = await #expect(throws: AWSError.self) {
                _ = try await bad.ec2(region: "eu-west-1").describeSnapshots(ids: ["snap-0123456789abcdef0"])
            }
            let stsError = await #expect(throws: AWSError.self) {
                try await bad.sts(region: "us-east-1").getCallerIdentity()
            }
            for error in [kmsError, ec2Error, stsError] {
                #expect(error?.category == .auth)
                #expect(error?.attempts == 1)
                #expect(error?.description.contains(wrong.secretAccessKey) == false)
            }
            #expect(kmsError?.code == "SignatureDoesNotMatch" || kmsError?.code == "UnrecognizedClientException")
            #expect(ec2Error?.code == "AuthFailure" || ec2Error?.code == "SignatureDoesNotMatch")
            #expect(stsError?.code == "SignatureDoesNotMatch")
        }
    }
}
