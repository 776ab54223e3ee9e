import Foundation
import GRDB
import Logging
import ServiceLifecycle
import Testing
import TransferKeyCore
import TransferKeyStore

@testable import TransferKeyDaemon

private let prefix = "alias/CadoResponse-KMS-Alias"
private let account = "111122223333"
private let start = Date(timeIntervalSince1970: 1_795_000_000)
private let grantee = "444455556666"

/// A store in memory, a fake AWS, and a key creator with a clock the test moves.
private struct Harness {
    let store: TransferStore
    let aws = FakeAWS()
    let settings = CleanupSettings(aliasPrefix: prefix, pendingWindowDays: 7)

    init() throws {
        store = TransferStore(try AppDatabase(DatabaseQueue()))
    }

    var region: any CloudRegion { FakeCloud(aws: aws).region(accountID: account, region: "eu-west-1") }

    /// The ownership marks of an HMAC key in the fake.
    var marks: OwnershipMarks? {
        OwnershipMarks(
            markKeyARN: "arn:aws:kms:eu-west-1:\(account):key/0000beef-0000-4000-8000-000000000000",
            cloud: FakeCloud(aws: aws))
    }

    func creator(now: Date = start, marked: Bool = true) -> KeyCreator {
        KeyCreator(
            store: store, cloud: FakeCloud(aws: aws), settings: settings,
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }), grace: 300, clock: { now },
            marks: marked ? marks : nil)
    }

    /// Step 1 of `create`: the intent row (AWS's time of it known, as once create's first call answered).
    @discardableResult
    func intent(_ importID: String) throws -> TransferRecord {
        try store.record(
            NewTransfer(
                importID: importID, accountID: account, region: "eu-west-1", keyID: nil,
                aliasName: "\(prefix)-\(importID)", origin: .created, deadline: start.addingTimeInterval(86400),
                awsRecordedAt: start),
            now: start, actor: "test")
    }

    /// What a `create` that got past `CreateKey` left in AWS (and, if `recorded`, in the store): the key with the
    /// import-id tag and the intent mark its request carried.
    func madeKey(_ importID: String, recorded: Bool) async throws -> CloudKey {
        var tags = [KeyCreator.importIDTag: importID]
        if let intent = try store.transfer(importID: importID), let marks {
            tags[OwnershipMark.intentTag] = try await marks.intentMark(of: intent)
        }
        let key = try await region.createKey(
            description: KeyCreator.description(importID: importID), policy: "{}", tags: tags)
        if recorded {
            try store.attachKey(
                importID: importID, keyID: key.keyID, keyARN: key.arn, recording: .found(detail: [:]), now: start,
                actor: "test")
        }
        return key
    }

    func record(_ importID: String) throws -> TransferRecord { try #require(try store.transfer(matching: importID)) }
    func kinds(_ importID: String) throws -> [String] { try store.events(importID: importID).map(\.kind) }
    func mutatingCalls() async -> [String] {
        await aws.calls.filter {
            $0.hasPrefix("Create") || $0.hasPrefix("Schedule") || $0.hasPrefix("Delete") || $0.hasPrefix("Cancel")
        }
    }
}

private let later = start.addingTimeInterval(301)

@Suite("Create: making the key, and settling a create that died")
struct CreateSettlerTests {
    @Test("create: CreateKey with the policy and tag, CreateAlias, then active, each call recorded")
    func create() async throws {
        let h = try Harness()
        let intent = try h.intent("imp-1")
        #expect(intent.state == .creating && intent.keyID == nil)

        let record = try await h.creator().create(intent, granteeAccounts: [grantee])
        #expect(record.state == .active)
        #expect(record.origin == .created)
        let keyID = try #require(record.keyID)
        #expect(record.keyARN == "arn:aws:kms:eu-west-1:\(account):key/\(keyID)")
        #expect(await h.aws.aliasNames() == ["\(prefix)-imp-1"])
        let tags = try await h.region.keyTags(keyID)
        #expect(tags[KeyCreator.importIDTag] == "imp-1")
        #expect(await h.marks?.check(tags: tags, keyARN: record.keyARN) == .valid(importID: "imp-1"))
        let policy = try #require(await h.aws.policies[keyID])
        #expect(
            policy
                == TransferKeyPolicy.document(accountID: account, region: "eu-west-1", granteeAccounts: [grantee]).text)
        #expect(
            await h.mutatingCalls() == [
                "CreateKey 111122223333/eu-west-1 transferkeyd transfer key for import imp-1",
                "CreateAlias 111122223333/eu-west-1 \(prefix)-imp-1",
            ])
        #expect(try h.kinds("imp-1") == ["recorded", "aws_call", "aws_call", "aws_call", "key_created"])
    }

    @Test("CreateKey fails: the row stays creating without a key; after the grace it is stuck, nothing made")
    func createKeyFails() async throws {
        let h = try Harness()
        let intent = try h.intent("imp-2")
        await h.aws.fail("CreateKey", with: CloudError(kind: .auth, code: "AccessDeniedException"))
        await #expect(throws: CloudError.self) { try await h.creator().create(intent, granteeAccounts: [grantee]) }
        #expect(try h.record("imp-2").state == .creating)
        #expect(try h.record("imp-2").keyID == nil)
        #expect(try h.record("imp-2").lastError?.contains("AccessDeniedException") == true)
        #expect(try h.kinds("imp-2") == ["recorded", "step_failed"])

        // Within the grace a create may still be running: left alone.
        #expect(await h.creator(now: start.addingTimeInterval(60)).settleStalled().isEmpty)
        let outcomes = await h.creator(now: later).settleStalled()
        #expect(outcomes == [.advanced(.stuck)])
        let record = try h.record("imp-2")
        #expect(record.lastError == "creation never completed: no key was made")
        #expect(
            await h.mutatingCalls() == ["CreateKey 111122223333/eu-west-1 transferkeyd transfer key for import imp-2"])
    }

    @Test("crash after the intent (no AWS call yet): stuck after the grace, no key, nothing touched")
    func crashAfterIntent() async throws {
        let h = try Harness()
        try h.intent("imp-3")
        #expect(await h.creator(now: later).settleStalled() == [.advanced(.stuck)])
        #expect(try h.record("imp-3").keyID == nil)
        #expect(await h.mutatingCalls().isEmpty)
        #expect(try h.kinds("imp-3") == ["recorded", "step_failed"])
    }

    @Test("crash after CreateKey was recorded: the settler creates the alias and the transfer becomes active")
    func crashAfterCreateKey() async throws {
        let h = try Harness()
        try h.intent("imp-4")
        let key = try await h.madeKey("imp-4", recorded: true)
        #expect(await h.creator(now: later).settleStalled() == [.advanced(.active)])
        #expect(await h.aws.aliasNames() == ["\(prefix)-imp-4"])
        let record = try h.record("imp-4")
        #expect(record.keyID == key.keyID)
        #expect(await h.mutatingCalls().filter { $0.hasPrefix("CreateAlias") }.count == 1)
        #expect(try h.kinds("imp-4").suffix(2) == ["aws_call", "key_created"])
    }

    @Test("crash after CreateAlias, before it was recorded: no second CreateAlias, the transfer becomes active")
    func crashAfterCreateAlias() async throws {
        let h = try Harness()
        try h.intent("imp-5")
        let key = try await h.madeKey("imp-5", recorded: true)
        _ = try await h.region.createAlias("\(prefix)-imp-5", targetKeyID: key.keyID)
        #expect(await h.creator(now: later).settleStalled() == [.advanced(.active)])
        #expect(await h.mutatingCalls().filter { $0.hasPrefix("CreateAlias") }.count == 1)
        #expect(try h.record("imp-5").state == .active)
    }

    @Test("key id never recorded, but the alias exists on a key tagged for this import: found and attached")
    func foundByAlias() async throws {
        let h = try Harness()
        try h.intent("imp-6")
        let key = try await h.madeKey("imp-6", recorded: false)
        _ = try await h.region.createAlias("\(prefix)-imp-6", targetKeyID: key.keyID)
        #expect(await h.creator(now: later).settleStalled() == [.advanced(.active)])
        let record = try h.record("imp-6")
        #expect(record.keyID == key.keyID)
        #expect(record.keyARN == key.arn)
        #expect(try h.kinds("imp-6") == ["recorded", "key_found", "aws_call", "key_created"], "the ARN mark added")
    }

    @Test("crash between CreateKey and recording it (no alias yet): found by its intent mark, alias made")
    func foundByTag() async throws {
        let h = try Harness()
        try h.intent("imp-10")
        // Someone else's keys in the region: an untagged one, and one tagged for another import.
        await h.aws.addKey(CloudKey(keyID: "00000010-0000-4000-8000-000000000000"), aliases: [])
        _ = try await h.madeKey("imp-other", recorded: false)
        let key = try await h.madeKey("imp-10", recorded: false)
        #expect(await h.creator(now: later).settleStalled() == [.advanced(.active)])
        let record = try h.record("imp-10")
        #expect(record.keyID == key.keyID)
        #expect(await h.aws.aliasNames() == ["\(prefix)-imp-10"])
        #expect(try h.kinds("imp-10") == ["recorded", "key_found", "aws_call", "aws_call", "key_created"])
        let found = try #require(try h.store.events(importID: "imp-10").first { $0.kind == "key_found" })
        #expect(found.detail.contains("\"found_by\":\"mark\""))
    }

    @Test("the alias targets a key not tagged for this import: never attached, stuck, nothing touched")
    func foreignKeyBehindAlias() async throws {
        let h = try Harness()
        try h.intent("imp-7")
        await h.aws.addKey(CloudKey(keyID: "00000007-0000-4000-8000-000000000000"), aliases: ["\(prefix)-imp-7"])
        #expect(await h.creator(now: later).settleStalled() == [.advanced(.stuck)])
        let record = try h.record("imp-7")
        #expect(record.keyID == nil)
        #expect(record.lastError?.contains("not proven made by this create") == true)
        #expect(await h.mutatingCalls().isEmpty)
        #expect(await h.aws.aliasNames() == ["\(prefix)-imp-7"])
    }

    @Test("a 400-day-old production key tagged with the import id (and aliased) is never found, attached or touched")
    func plantedOldKey() async throws {
        let h = try Harness()
        try h.intent("imp-20")
        let planted = "00000020-0000-4000-8000-000000000000"
        await h.aws.addKey(
            CloudKey(keyID: planted, creationDate: start.addingTimeInterval(-400 * 86400)),
            aliases: ["\(prefix)-imp-20"])
        await h.aws.setTags([KeyCreator.importIDTag: "imp-20"], key: planted)
        #expect(await h.creator(now: later).settleStalled() == [.advanced(.stuck)])
        #expect(try h.record("imp-20").keyID == nil)
        #expect(await h.mutatingCalls().isEmpty)
        #expect(await h.aws.calls("TagResource").isEmpty)

        // Without the alias: the tag alone finds nothing either.
        try h.intent("imp-21")
        let other = "00000021-0000-4000-8000-000000000000"
        await h.aws.addKey(CloudKey(keyID: other, creationDate: start.addingTimeInterval(-400 * 86400)), aliases: [])
        await h.aws.setTags([KeyCreator.importIDTag: "imp-21"], key: other)
        #expect(await h.creator(now: later).settleStalled() == [.advanced(.stuck)])
        #expect(try h.record("imp-21").lastError == "creation never completed: no key was made")
        #expect(await h.mutatingCalls().isEmpty)
    }

    @Test("without a mark key the settler adopts nothing by tag: stuck, the key named, nothing touched")
    func noMarkKey() async throws {
        let h = try Harness()
        try h.intent("imp-22")
        let key = try await h.madeKey("imp-22", recorded: false)
        #expect(await h.creator(now: later, marked: false).settleStalled() == [.advanced(.stuck)])
        let record = try h.record("imp-22")
        #expect(record.keyID == nil)
        #expect(record.lastError?.contains(key.keyID) == true)
        #expect(await h.mutatingCalls().filter { !$0.hasPrefix("CreateKey") }.isEmpty)
    }

    @Test("a transient error while settling keeps the row creating, to be tried again after the grace")
    func transient() async throws {
        let h = try Harness()
        try h.intent("imp-8")
        _ = try await h.madeKey("imp-8", recorded: true)
        await h.aws.fail("CreateAlias", with: CloudError(kind: .transient, code: "InternalFailure"))
        #expect(await h.creator(now: later).settleStalled().count == 1)
        #expect(try h.record("imp-8").state == .creating)
        #expect(try h.record("imp-8").attempts == 1)
        // Touched just now: not stalled again until another grace has passed.
        #expect(await h.creator(now: later.addingTimeInterval(10)).settleStalled().isEmpty)
        #expect(await h.creator(now: later.addingTimeInterval(301)).settleStalled() == [.advanced(.active)])
    }

    @Test("the create settler runs as a service of its own: a stalled creation is settled without other work")
    func settlerService() async throws {
        let h = try Harness()
        try h.intent("imp-9")
        _ = try await h.madeKey("imp-9", recorded: true)
        let gate = WorkGate(open: true)
        let creator = h.creator(now: later)
        let settler = PeriodicJob(name: "create settler", interval: .seconds(60), tick: .milliseconds(10), gate: gate) {
            await !creator.settleStalled().isEmpty
        }
        let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        let group = ServiceGroup(configuration: .init(services: [.init(service: settler)], logger: logger))
        let running = Task { try await group.run() }
        let deadline = ContinuousClock.now + .seconds(30)
        while gate.wakes == 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(gate.wakes == 1, "ran once: the next run is a minute away")
        #expect(try h.record("imp-9").state == .active)
    }
}
