import Foundation
import GRDB
import Logging
import Testing
import TransferKeyCore
import TransferKeyStore

@testable import TransferKeyDaemon

private let prefix = "alias/CadoResponse-KMS-Alias"
private let account = "111122223333"
private let start = Date(timeIntervalSince1970: 1_795_000_000)

/// `create` when `CreateKey` fails ambiguously (it may have made a key) and when the alias name is taken.
@Suite("Create: ambiguous CreateKey failures and a lost alias")
struct CreateAmbiguityTests {
    let store: TransferStore
    let aws = FakeAWS()
    let settings = CleanupSettings(aliasPrefix: prefix, pendingWindowDays: 7)

    init() throws {
        store = TransferStore(try AppDatabase(DatabaseQueue()))
    }

    private var region: any CloudRegion { FakeCloud(aws: aws).region(accountID: account, region: "eu-west-1") }

    private func creator() -> KeyCreator {
        KeyCreator(
            store: store, cloud: FakeCloud(aws: aws), settings: settings,
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }), grace: 300, clock: { start },
            createAttempts: 4, createRetryPause: 0)
    }

    private func intent(_ importID: String) throws -> TransferRecord {
        try store.record(
            NewTransfer(
                importID: importID, accountID: account, region: "eu-west-1", keyID: nil,
                aliasName: "\(prefix)-\(importID)", origin: .created, deadline: start.addingTimeInterval(86400)),
            now: start, actor: "test")
    }

    /// A key an earlier `CreateKey` attempt made although its answer never arrived.
    private func lostKey(_ importID: String) async throws -> CloudKey {
        try await region.createKey(
            description: KeyCreator.description(importID: importID), policy: "{}",
            tags: [KeyCreator.importIDTag: importID])
    }

    private func details(_ importID: String, kind: String) throws -> [[String: Any]] {
        try store.events(importID: importID).filter { $0.kind == kind }.compactMap {
            try JSONSerialization.jsonObject(with: Data($0.detail.utf8)) as? [String: Any]
        }
    }

    @Test(
        "after a timed-out CreateKey the key is looked for by its tag, not made again; a second lost key is scheduled")
    func ambiguousFailureFindsTheKey() async throws {
        let transfer = try intent("imp-1")
        let first = try await lostKey("imp-1")
        let second = try await lostKey("imp-1")
        await aws.fail("CreateKey", with: CloudError(kind: .transient, code: "RequestTimeout", operation: "CreateKey"))

        let record = try await creator().create(transfer, granteeAccounts: ["444455556666"])

        #expect(record.state == .active)
        let kept = try #require(record.keyID)
        #expect([first.keyID, second.keyID].contains(kept))
        let other = kept == first.keyID ? second.keyID : first.keyID
        #expect(await aws.calls("CreateKey").count == 3, "the failed attempt only; nothing made again")
        #expect(await aws.key(kept)?.keyState == "Enabled")
        #expect(await aws.key(other)?.keyState == "PendingDeletion")
        #expect(await aws.aliasNames() == ["\(prefix)-imp-1"])
        let scheduled = try details("imp-1", kind: "aws_call").filter {
            $0["operation"] as? String == "ScheduleKeyDeletion"
        }
        #expect(scheduled.count == 1)
        #expect(scheduled.first?["key_id"] as? String == other)
        #expect((scheduled.first?["reason"] as? String)?.contains("duplicate") == true)
        let created = try details("imp-1", kind: "aws_call").first { $0["operation"] as? String == "CreateKey" }
        #expect(created?["outcome"] as? String == "found_after_ambiguous_failure")
        #expect(try details("imp-1", kind: "step_retried").count == 1)
    }

    @Test("a timed-out CreateKey that made nothing is tried again, once the tag search found no key")
    func ambiguousFailureWithNoKeyRetries() async throws {
        let transfer = try intent("imp-2")
        await aws.fail(
            "CreateKey", with: CloudError(kind: .transient, code: "InternalFailure", operation: "CreateKey"), times: 2)

        let record = try await creator().create(transfer, granteeAccounts: ["444455556666"])

        #expect(record.state == .active)
        #expect(await aws.calls("CreateKey").count == 3)
        #expect(await aws.calls("ListKeys").count == 3, "searched before each retry and once more after success")
        #expect(await aws.calls("ScheduleKeyDeletion").isEmpty)
    }

    @Test("a throttled CreateKey made nothing: retried without a search")
    func throttledIsNotAmbiguous() async throws {
        let transfer = try intent("imp-3")
        await aws.fail(
            "CreateKey", with: CloudError(kind: .throttled, code: "ThrottlingException", operation: "CreateKey"))

        let record = try await creator().create(transfer, granteeAccounts: ["444455556666"])

        #expect(record.state == .active)
        #expect(await aws.calls("CreateKey").count == 2)
        #expect(await aws.calls("ListKeys").isEmpty)
    }

    @Test("CreateAlias answers AlreadyExists: the key just made is scheduled, the transfer is stuck with why")
    func lostAliasSchedulesTheKey() async throws {
        let transfer = try intent("imp-4")
        await aws.addKey(CloudKey(keyID: "someone-elses"), aliases: ["\(prefix)-imp-4"])

        await #expect(throws: KeyCreator.CreateConflict.self) {
            _ = try await creator().create(transfer, granteeAccounts: ["444455556666"])
        }

        let record = try #require(try store.transfer(matching: "imp-4"))
        #expect(record.state == .stuck)
        #expect(record.lastError?.contains("already exists") == true, "\(record.lastError ?? "")")
        let made = try #require(record.keyID)
        #expect(made != "someone-elses")
        #expect(await aws.key(made)?.keyState == "PendingDeletion")
        #expect(await aws.key("someone-elses")?.keyState == "Enabled")
        let scheduled = try details("imp-4", kind: "aws_call").filter {
            $0["operation"] as? String == "ScheduleKeyDeletion"
        }
        #expect(scheduled.first?["key_id"] as? String == made)
        #expect((scheduled.first?["reason"] as? String)?.contains("already exists") == true)
    }

    @Test("settling a create whose alias name went to another key: the key (tagged, no alias) is scheduled, stuck")
    func settleLostAliasSchedulesTheKey() async throws {
        let transfer = try intent("imp-6")
        let made = try await lostKey("imp-6")
        try store.attachKey(importID: "imp-6", keyID: made.keyID, keyARN: made.arn, now: start, actor: "test")
        await aws.addKey(CloudKey(keyID: "someone-elses"), aliases: ["\(prefix)-imp-6"])

        let outcome = await creator().settle(try #require(try store.transfer(matching: transfer.importID)))

        #expect(outcome == .advanced(.stuck))
        let record = try #require(try store.transfer(matching: "imp-6"))
        #expect(record.state == .stuck)
        #expect(record.lastError?.contains("already exists") == true, "\(record.lastError ?? "")")
        #expect(await aws.key(made.keyID)?.keyState == "PendingDeletion")
        #expect(await aws.key("someone-elses")?.keyState == "Enabled")
    }

    @Test("a running create moves its row's updated_at; a finished one does not")
    func heartbeatTouchesOnlyCreatingRows() throws {
        let transfer = try intent("imp-5")
        let later = start.addingTimeInterval(120)
        #expect(try store.touchCreation(importID: transfer.importID, now: later))
        #expect(try store.stalledCreations(updatedBefore: start.addingTimeInterval(60), limit: 10).isEmpty)
        try store.attachKey(importID: "imp-5", keyID: "k-5", keyARN: nil, now: later, actor: "test")
        _ = try store.apply(.keyCreated, to: "imp-5", now: later, actor: "test")
        #expect(!(try store.touchCreation(importID: transfer.importID, now: later)))
    }
}
