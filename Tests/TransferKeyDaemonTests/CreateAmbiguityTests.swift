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

    /// The ownership marks of an HMAC key in the fake (any id verifies there with the fake's secret).
    private var marks: OwnershipMarks? {
        OwnershipMarks(
            markKeyARN: "arn:aws:kms:eu-west-1:\(account):key/0000beef-0000-4000-8000-000000000000",
            cloud: FakeCloud(aws: aws))
    }

    private func creator(marked: Bool = true) -> KeyCreator {
        KeyCreator(
            store: store, cloud: FakeCloud(aws: aws), settings: settings,
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }), grace: 300, clock: { start },
            createAttempts: 4, createRetryPause: 0, marks: marked ? marks : nil)
    }

    private func worker(limit: Int = 25) -> (TransferWorker, DeletionBudget) {
        (
            TransferWorker(
                store: store, cloud: FakeCloud(aws: aws), settings: settings,
                logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }), clock: { start },
                jitter: { 0 }),
            DeletionBudget(limit: limit)
        )
    }

    private func intent(_ importID: String) throws -> TransferRecord {
        try store.record(
            NewTransfer(
                importID: importID, accountID: account, region: "eu-west-1", keyID: nil,
                aliasName: "\(prefix)-\(importID)", origin: .created, deadline: start.addingTimeInterval(86400)),
            now: start, actor: "test")
    }

    /// A key an earlier `CreateKey` attempt made although its answer never arrived: the request carried the intent
    /// mark (`marked`), as create sends it, or only the import-id tag.
    private func lostKey(_ transfer: TransferRecord, marked: Bool = true) async throws -> CloudKey {
        var tags = [KeyCreator.importIDTag: transfer.importID]
        if marked, let marks { tags[OwnershipMark.intentTag] = try await marks.intentMark(of: transfer) }
        return try await region.createKey(
            description: KeyCreator.description(importID: transfer.importID), policy: "{}", tags: tags)
    }

    /// A production key somebody tagged with the import id (`kms:TagResource` is all it takes).
    private func plantedKey(_ id: String, importID: String, created: Date, origin: String? = "AWS_KMS") async {
        await aws.addKey(CloudKey(keyID: id, creationDate: created, origin: origin), aliases: [])
        await aws.setTags([KeyCreator.importIDTag: importID], key: id)
    }

    private func details(_ importID: String, kind: String) throws -> [[String: Any]] {
        try store.events(importID: importID).filter { $0.kind == kind }.compactMap {
            try JSONSerialization.jsonObject(with: Data($0.detail.utf8)) as? [String: Any]
        }
    }

    @Test(
        "after a timed-out CreateKey the key is found by its mark, not made again; a second lost key becomes a transfer of its own, retired through the gate"
    )
    func ambiguousFailureFindsTheKey() async throws {
        let transfer = try intent("imp-1")
        let first = try await lostKey(transfer)
        let second = try await lostKey(transfer)
        await aws.fail("CreateKey", with: CloudError(kind: .transient, code: "RequestTimeout", operation: "CreateKey"))

        let record = try await creator().create(transfer, granteeAccounts: ["444455556666"])

        #expect(record.state == .active)
        let kept = try #require(record.keyID)
        #expect([first.keyID, second.keyID].contains(kept))
        let other = kept == first.keyID ? second.keyID : first.keyID
        #expect(await aws.calls("CreateKey").count == 3, "the failed attempt only; nothing made again")
        #expect(await aws.calls("ScheduleKeyDeletion").isEmpty, "create schedules nothing itself")
        #expect(await aws.aliasNames() == ["\(prefix)-imp-1"])
        let created = try details("imp-1", kind: "aws_call").first { $0["operation"] as? String == "CreateKey" }
        #expect(created?["outcome"] as? String == "found_after_ambiguous_failure")
        #expect((created?["proof"] as? [String: Any])?["mark"] as? String == "intent_mark")
        #expect(try details("imp-1", kind: "step_retried").count == 1)
        #expect(try details("imp-1", kind: "duplicate_recorded").first?["key_id"] as? String == other)

        // The duplicate is a transfer row: seen by status/show/cancel-deletion, worked by the cleanup loop.
        let duplicateID = KeyCreator.duplicateImportID(accountID: account, region: "eu-west-1", keyID: other)
        let duplicate = try #require(try store.transfer(importID: duplicateID))
        #expect(duplicate.origin == .created && duplicate.aliasName == nil && duplicate.keyID == other)
        #expect(try store.transfer(matching: other)?.importID == duplicateID)
        let (worker, budget) = worker()
        _ = await worker.work(on: duplicate, budget: budget)
        #expect(await aws.key(other)?.keyState == "PendingDeletion")
        #expect(await aws.key(kept)?.keyState == "Enabled")
        #expect(try store.transfer(importID: duplicateID)?.state == .cleaned)
        let scheduled = try details(duplicateID, kind: "key_scheduled")
        #expect(scheduled.count == 1)
    }

    @Test("duplicates go through the deletion budget like every other key")
    func duplicatesObeyTheBudget() async throws {
        let transfer = try intent("imp-budget")
        var made: [CloudKey] = []
        for _ in 0..<5 { made.append(try await lostKey(transfer)) }
        await aws.fail("CreateKey", with: CloudError(kind: .transient, code: "RequestTimeout", operation: "CreateKey"))
        let record = try await creator().create(transfer, granteeAccounts: ["444455556666"])
        let duplicates = try store.transfers().filter { $0.importID.hasPrefix("duplicate-") }
        #expect(duplicates.count == 4)
        let (worker, budget) = worker(limit: 3)
        for duplicate in duplicates { _ = await worker.work(on: duplicate, budget: budget) }
        #expect(await aws.calls("ScheduleKeyDeletion").count == 3, "the cycle's cap holds")
        #expect(await aws.key(try #require(record.keyID))?.keyState == "Enabled")
    }

    @Test(
        "keys an attacker tagged with the import id are never adopted nor scheduled: old, foreign origin, forged mark, or no mark key"
    )
    func plantedTagsAreClaims() async throws {
        let transfer = try intent("imp-9")
        // A 400-day-old production key, and an imported-material key: tag copied onto them.
        await plantedKey(
            "00000009-0000-4000-8000-000000000001", importID: "imp-9", created: start.addingTimeInterval(-400 * 86400))
        await plantedKey(
            "00000009-0000-4000-8000-000000000002", importID: "imp-9", created: start.addingTimeInterval(-400 * 86400),
            origin: "EXTERNAL")
        await aws.fail("CreateKey", with: CloudError(kind: .transient, code: "RequestTimeout", operation: "CreateKey"))

        let record = try await creator().create(transfer, granteeAccounts: ["444455556666"])

        // Keys made before the intent are not this create's: a fresh key is made, nothing else touched.
        #expect(record.state == .active)
        #expect(record.keyID?.hasPrefix("00000009") == false)
        #expect(await aws.calls("ScheduleKeyDeletion").isEmpty)
        #expect(await aws.calls("CreateAlias").count == 1)
        #expect(try store.transfers().filter { $0.importID.hasPrefix("duplicate-") }.isEmpty)
    }

    @Test("a fresh key with the tag and a forged mark parks the create: named, nothing made again, nothing touched")
    func forgedMarkParks() async throws {
        let transfer = try intent("imp-10")
        await aws.addKey(CloudKey(keyID: "00000010-0000-4000-8000-000000000001", creationDate: start), aliases: [])
        await aws.setTags(
            [KeyCreator.importIDTag: "imp-10", OwnershipMark.intentTag: "Zm9yZ2Vk"],
            key: "00000010-0000-4000-8000-000000000001")
        await aws.fail("CreateKey", with: CloudError(kind: .transient, code: "RequestTimeout", operation: "CreateKey"))

        await #expect(throws: KeyCreator.CreateConflict.self) {
            _ = try await creator().create(transfer, granteeAccounts: ["444455556666"])
        }
        let record = try #require(try store.transfer(importID: "imp-10"))
        #expect(record.state == .stuck && record.keyID == nil)
        #expect(record.lastError?.contains("00000010-0000-4000-8000-000000000001") == true)
        #expect(await aws.calls("CreateKey").count == 1)
        #expect(await aws.calls("ScheduleKeyDeletion").isEmpty)
        #expect(await aws.calls("CreateAlias").isEmpty)
    }

    @Test("without a mark key, a lost answer's key is never adopted: the create parks, naming it")
    func noMarkKeyParks() async throws {
        let transfer = try intent("imp-11")
        let lost = try await lostKey(transfer, marked: false)
        await aws.fail("CreateKey", with: CloudError(kind: .transient, code: "RequestTimeout", operation: "CreateKey"))

        await #expect(throws: KeyCreator.CreateConflict.self) {
            _ = try await creator(marked: false).create(transfer, granteeAccounts: ["444455556666"])
        }
        let record = try #require(try store.transfer(importID: "imp-11"))
        #expect(record.state == .stuck)
        #expect(record.lastError?.contains(lost.keyID) == true)
        #expect(record.lastError?.contains("ownership_mark_key") == true)
        #expect(await aws.key(lost.keyID)?.keyState == "Enabled")
        #expect(await aws.calls("CreateKey").count == 2, "the lost one and the failed attempt; nothing made again")
    }

    @Test("a created key carries a mark bound to its ARN that verifies, and one copied onto another key does not")
    func markBindsTheARN() async throws {
        let record = try await creator().create(try intent("imp-12"), granteeAccounts: ["444455556666"])
        let keyID = try #require(record.keyID)
        let tags = try await region.keyTags(keyID)
        let marks = try #require(marks)
        #expect(await marks.check(tags: tags, keyARN: record.keyARN) == .valid(importID: "imp-12"))
        let other = "arn:aws:kms:eu-west-1:\(account):key/00000012-0000-4000-8000-000000000000"
        guard case .invalid = await marks.check(tags: tags, keyARN: other) else {
            Issue.record("a mark copied onto another key must not verify")
            return
        }
        var renamed = tags
        renamed[KeyCreator.importIDTag] = "imp-other"
        guard case .invalid = await marks.check(tags: renamed, keyARN: record.keyARN) else {
            Issue.record("a mark with another import id must not verify")
            return
        }
        #expect(await OwnershipMarks.check(nil, tags: tags, keyARN: record.keyARN) != .valid(importID: "imp-12"))
        #expect(await aws.calls("GenerateMac").count == 2 + 3, "intent mark, ARN mark; then three checks")
        #expect(await aws.calls("TagResource").count == 1)
    }

    @Test("CreateKey answering with a key of another account than --account: recorded, parked naming both, no alias")
    func keyInAnotherAccount() async throws {
        let transfer = try intent("imp-13")
        await aws.makeKeys(inAccount: "999988887777")
        await #expect(throws: KeyCreator.CreateConflict.self) {
            _ = try await creator().create(transfer, granteeAccounts: ["444455556666"])
        }
        let record = try #require(try store.transfer(importID: "imp-13"))
        #expect(record.state == .stuck)
        #expect(record.keyID != nil, "the key is recorded, so status and show point at it")
        #expect(record.lastError?.hasPrefix("account_mismatch:") == true)
        #expect(record.lastError?.contains("999988887777") == true && record.lastError?.contains(account) == true)
        #expect(await aws.calls("CreateAlias").isEmpty)
        #expect(await aws.calls("ScheduleKeyDeletion").isEmpty)
    }

    @Test("a timed-out CreateKey that made nothing is tried again, once the search found no key")
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

    @Test(
        "CreateAlias answers AlreadyExists: the transfer gives up the alias and its import ends; the cleanup loop retires the key through the gate"
    )
    func lostAliasRetiresTheKeyThroughTheGate() async throws {
        let transfer = try intent("imp-4")
        await aws.addKey(CloudKey(keyID: "someone-elses"), aliases: ["\(prefix)-imp-4"])

        await #expect(throws: KeyCreator.CreateConflict.self) {
            _ = try await creator().create(transfer, granteeAccounts: ["444455556666"])
        }

        let record = try #require(try store.transfer(matching: "imp-4"))
        #expect(record.state == .cleanupDue)
        #expect(record.aliasName == nil)
        let made = try #require(record.keyID)
        #expect(made != "someone-elses")
        #expect(await aws.calls("ScheduleKeyDeletion").isEmpty, "create itself schedules nothing")
        #expect(try details("imp-4", kind: "alias_abandoned").first?["holder_key_id"] as? String == "someone-elses")

        let (worker, budget) = worker()
        _ = await worker.work(on: record, budget: budget)
        #expect(await aws.key(made)?.keyState == "PendingDeletion")
        #expect(await aws.key("someone-elses")?.keyState == "Enabled")
        #expect(await aws.aliasNames() == ["\(prefix)-imp-4"], "the holder's alias is never touched")
        #expect(try store.transfer(importID: "imp-4")?.state == .cleaned)
    }

    @Test("settling a create whose alias name went to another key: the key (no alias) is handed to the cleanup loop")
    func settleLostAliasRetiresTheKey() async throws {
        let transfer = try intent("imp-6")
        let made = try await lostKey(transfer)
        try store.attachKey(
            importID: "imp-6", keyID: made.keyID, keyARN: made.arn, recording: .found(detail: [:]), now: start,
            actor: "test")
        await aws.addKey(CloudKey(keyID: "someone-elses"), aliases: ["\(prefix)-imp-6"])

        let outcome = await creator().settle(try #require(try store.transfer(matching: transfer.importID)))

        #expect(outcome == .advanced(.cleanupDue))
        let record = try #require(try store.transfer(matching: "imp-6"))
        #expect(record.aliasName == nil)
        #expect(record.lastError == nil || record.lastError?.isEmpty == false)
        let (worker, budget) = worker()
        _ = await worker.work(on: record, budget: budget)
        #expect(await aws.key(made.keyID)?.keyState == "PendingDeletion")
        #expect(await aws.key("someone-elses")?.keyState == "Enabled")
    }

    @Test("a running create moves its row's updated_at; a finished one does not")
    func heartbeatTouchesOnlyCreatingRows() throws {
        let transfer = try intent("imp-5")
        let later = start.addingTimeInterval(120)
        #expect(try store.touchCreation(importID: transfer.importID, now: later))
        #expect(try store.stalledCreations(updatedBefore: start.addingTimeInterval(60), limit: 10).isEmpty)
        try store.attachKey(
            importID: "imp-5", keyID: "k-5", keyARN: nil, recording: .found(detail: [:]), now: later, actor: "test")
        _ = try store.apply(.keyCreated, to: "imp-5", now: later, actor: "test")
        #expect(!(try store.touchCreation(importID: transfer.importID, now: later)))
    }
}
