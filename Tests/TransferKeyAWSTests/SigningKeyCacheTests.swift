import Crypto
import Foundation
import Testing

@testable import TransferKeyAWS

@Suite("SigV4 signing-key cache")
struct SigningKeyCacheTests {
    let request = SigV4Request(
        method: "POST", path: "/", headers: [("Host", "kms.eu-west-1.amazonaws.com")], body: Array("{}".utf8))

    func signer(secret: String, region: String = "eu-west-1", service: String = "kms") -> SigV4Signer {
        SigV4Signer(
            credentials: Credentials(accessKeyID: "AKIDCACHE", secretAccessKey: secret), region: region,
            service: service)
    }

    @Test("a cached key is the derived key of its own scope: a new secret, day, region or service derives anew")
    func scopes() {
        let day = Date(timeIntervalSince1970: 1_764_374_400)
        let variants = [
            (signer(secret: "first"), day), (signer(secret: "second"), day),
            (signer(secret: "first"), day.addingTimeInterval(86_400)),
            (signer(secret: "first", region: "us-east-1"), day),
            (signer(secret: "first", service: "sts"), day),
        ]
        var signatures = Set<String>()
        for _ in 0..<2 {  // the second round reads every key from the cache
            for (signer, date) in variants {
                let shortDate = SigV4Signer.timestamps(date).shortDate
                #expect(
                    signer.signingKey(shortDate: shortDate).withUnsafeBytes { Array($0) }
                        == signer.deriveSigningKey(shortDate: shortDate).withUnsafeBytes { Array($0) })
                signatures.insert(signer.sign(request, date: date).signature)
            }
        }
        #expect(signatures.count == variants.count, "one signature per scope, the same in both rounds")
    }
}
