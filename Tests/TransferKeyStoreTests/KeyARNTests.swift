import Foundation
import GRDB
import Testing
import TransferKeyCore

@testable import TransferKeyStore

private let start = Date(timeIntervalSince1970: 1_795_000_000)
private let keyID = "1234abcd-12ab-34cd-56ef-1234567890ab"
private let arn = "arn:aws:kms:eu-west-1:111122223333:key/\(keyID)"

private func storeWithTransfer(keyARN: String? = nil) throws -> TransferStore {
    let store = TransferStore(try AppDatabase(DatabaseQueue()))
    try store.record(
        NewTransfer(
            importID: "imp-1", accountID: "111122223333", region: "eu-west-1", keyID: keyID, keyARN: keyARN,
            aliasName: "alias/CadoResponse-KMS-Alias-imp-1", origin: .tracked, snapshotIDs: [],
            deadline: start.addingTimeInterval(3600)),
        now: start, actor: "cli:test")
    return store
}

@Suite("Transfer store: key ARNs")
struct KeyARNTests {
    @Test("recordKeyARN fills an empty key_arn with the ARN AWS reported, and writes no audit event")
    func fillsEmpty() throws {
        let store = try storeWithTransfer()
        #expect(try store.recordKeyARN(arn, for: "imp-1"))
        #expect(try store.transfer(matching: "imp-1")?.keyARN == arn)
        #expect(try store.events(importID: "imp-1").map(\.kind) == ["recorded"])
    }

    @Test("recordKeyARN never overwrites a recorded ARN")
    func keepsRecorded() throws {
        let recorded = "arn:aws:kms:eu-west-1:111122223333:key/\(keyID)"
        let store = try storeWithTransfer(keyARN: recorded)
        #expect(try store.recordKeyARN(arn, for: "imp-1") == false)
        #expect(try store.transfer(matching: "imp-1")?.keyARN == recorded)
    }

    @Test(
        "recordKeyARN refuses an ARN of another key, account or region, and an unknown import id",
        arguments: [
            "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ac",
            "arn:aws:kms:eu-west-1:444455556666:key/\(keyID)", "arn:aws:kms:us-east-1:111122223333:key/\(keyID)",
            "not an arn",
        ])
    func refusesMismatch(other: String) throws {
        let store = try storeWithTransfer()
        #expect(throws: TransferStoreError.self) { try store.recordKeyARN(other, for: "imp-1") }
        #expect(try store.transfer(matching: "imp-1")?.keyARN == nil)
        #expect(throws: TransferStoreError.self) { try store.recordKeyARN(arn, for: "imp-2") }
    }

    @Test("a key ARN finds a transfer whose key_arn is empty by key id, account and region; nothing else")
    func lookupByARN() throws {
        let store = try storeWithTransfer()
        #expect(try store.transfer(matching: arn)?.importID == "imp-1")
        #expect(try store.transfer(matching: arn.replacingOccurrences(of: "eu-west-1", with: "us-east-1")) == nil)
        #expect(
            try store.transfer(matching: arn.replacingOccurrences(of: "111122223333", with: "444455556666")) == nil)
        #expect(try store.transfer(matching: keyID)?.importID == "imp-1")
    }

    @Test("the ARN built for a key id is the one AWS gives, partition by region")
    func builtARN() {
        #expect(KeyReference.arn(keyID: keyID, accountID: "111122223333", region: "eu-west-1") == arn)
        #expect(
            KeyReference.arn(keyID: keyID, accountID: "111122223333", region: "cn-north-1")
                == "arn:aws-cn:kms:cn-north-1:111122223333:key/\(keyID)")
        #expect(
            KeyReference.arn(keyID: keyID, accountID: "111122223333", region: "us-gov-west-1")
                == "arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/\(keyID)")
    }
}
