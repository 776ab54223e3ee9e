import Foundation
import Logging
import Testing
import TransferKeyCore
import TransferKeyStore
import TransferKeyTestSupport

@testable import TransferKeyDaemon

@Suite("Worker and work loop when the database refuses writes")
struct StoreRefusalTests {
    static let start = Date(timeIntervalSince1970: 1_795_000_000)
    static let keyID = "00000001-0000-4000-8000-000000000000"
    static let alias = "alias/CadoResponse-KMS-Alias-imp-1"
    static let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    static let settings = CleanupSettings(aliasPrefix: "alias/CadoResponse-KMS-Alias", pendingWindowDays: 7)

    /// A database file in a folder of its own holding `imp-1`, tracked and completed: due for deletion.
    static func completedTransfer() throws -> (folder: TemporaryDirectory, path: String, store: TransferStore) {
        let folder = try TemporaryDirectory(prefix: "transferkeyd-refusal")
        let path = folder.path("transferkeyd.db")
        let store = TransferStore(try AppDatabase.open(path: path))
        try store.record(
            NewTransfer(
                importID: "imp-1", accountID: "111122223333", region: "eu-west-1", keyID: Self.keyID,
                aliasName: Self.alias, origin: .tracked, deadline: Self.start.addingTimeInterval(3600)),
            now: Self.start, actor: "test")
        _ = try store.complete("imp-1", failed: false, now: Self.start, actor: "test")
        return (folder, path, store)
    }

    static func worker(_ store: TransferStore, _ aws: FakeAWS) -> TransferWorker {
        TransferWorker(
            store: store, cloud: FakeCloud(aws: aws), settings: settings, logger: logger, clock: { start },
            jitter: { 0.5 })
    }

    @Test(
        "a step whose record the database refuses ends storeUnavailable with nothing written and nothing asked of AWS; once writes are back the key is scheduled once"
    )
    func refusedRecord() async throws {
        let (folder, path, writable) = try Self.completedTransfer()
        defer { folder.remove() }
        let aws = FakeAWS()
        await aws.addKey(CloudKey(keyID: Self.keyID), aliases: [Self.alias])
        let eventsBefore = try writable.events(importID: "imp-1").count
        // A read-only connection refuses every write, as a full disk or a held lock does.
        let refusing = TransferStore(try AppDatabase.openExisting(path: path, readOnly: true))

        let budget = DeletionBudget(limit: 25)
        let record = try #require(try writable.transfer(matching: "imp-1"))
        let refused = await Self.worker(refusing, aws).work(on: record, budget: budget)
        guard case .storeUnavailable(let reason)? = refused.last else {
            Issue.record("expected storeUnavailable, got \(refused)")
            return
        }
        #expect(reason.contains("read-only"), "\(reason)")
        #expect(try writable.transfer(matching: "imp-1")?.state == .cleanupDue, "nothing of the step was written")
        #expect(try writable.events(importID: "imp-1").count == eventsBefore)
        // The outbox: the intent to call is written before the call, so a database that refuses writes stops the
        // step before AWS is asked: nothing is done that cannot be recorded.
        #expect(await aws.key(Self.keyID)?.keyState == "Enabled", "no call without its record")
        #expect(await aws.calls("ScheduleKeyDeletion").isEmpty)

        let again = DeletionBudget(limit: 25)
        let outcomes = await Self.worker(writable, aws).work(
            on: try #require(try writable.transfer(matching: "imp-1")), budget: again)
        #expect(outcomes == [.advanced(.keyScheduled), .advanced(.cleaned)])
        #expect(await aws.calls("ScheduleKeyDeletion").count == 1, "scheduled once")
        #expect(await aws.aliasNames().isEmpty)
    }

    @Test("the work loop's cycle starts no transfer after the first refused record and says why")
    func cycleStops() async throws {
        let folder = try TemporaryDirectory(prefix: "transferkeyd-refusal")
        defer { folder.remove() }
        let path = folder.path("transferkeyd.db")
        let writable = TransferStore(try AppDatabase.open(path: path))
        let aws = FakeAWS()
        for index in 1...3 {
            let keyID = String(format: "%08d-0000-4000-8000-000000000000", index)
            let alias = "alias/CadoResponse-KMS-Alias-imp-\(index)"
            await aws.addKey(CloudKey(keyID: keyID), aliases: [alias])
            try writable.record(
                NewTransfer(
                    importID: "imp-\(index)", accountID: "111122223333", region: "eu-west-1", keyID: keyID,
                    aliasName: alias, origin: .tracked, deadline: Self.start.addingTimeInterval(3600)),
                now: Self.start, actor: "test")
            _ = try writable.complete("imp-\(index)", failed: false, now: Self.start, actor: "test")
        }
        let refusing = TransferStore(try AppDatabase.openExisting(path: path, readOnly: true))
        // One transfer in flight at a time, so "no new start after the refusal" shows as one call.
        var oneAtATime = Self.settings
        oneAtATime.maxInFlight = 1
        let loop = WorkLoop(
            store: refusing, worker: Self.worker(refusing, aws), settings: oneAtATime,
            notifier: SilentNotifier(), timing: WorkLoop.Timing(),
            logger: Self.logger, clock: { Self.start })
        let reason = await loop.runDueWork(now: Self.start.addingTimeInterval(1))
        #expect(reason?.contains("read-only") == true, "\(String(describing: reason))")
        #expect(await aws.calls("ScheduleKeyDeletion").isEmpty, "no call whose intent could not be recorded")
        #expect(await aws.calls("DescribeKey").count == 1, "the cycle stopped after the first transfer")
    }

    @Test("one failure classifier for the worker and the create settler: retry, park, or the database refused")
    func stepFailure() async throws {
        let (folder, path, writable) = try Self.completedTransfer()
        defer { folder.remove() }
        let throttled = CloudError(kind: .throttled, code: "ThrottlingException")
        let denied = CloudError(kind: .auth, code: "AccessDeniedException")
        #expect(StepFailure.retryAt(throttled, now: Self.start) { 30 } == Self.start.addingTimeInterval(30))
        // A transient failure is retried however long it lasts; only a failure a person must fix parks.
        #expect(
            StepFailure.retryAt(CloudError(kind: .transient, code: "InvalidResponse"), now: Self.start) { 900 } != nil)
        #expect(StepFailure.retryAt(denied, now: Self.start) { 30 } == nil)

        let record = try #require(try writable.transfer(matching: "imp-1"))
        let refusing = TransferStore(try AppDatabase.openExisting(path: path, readOnly: true))
        let refused = StepFailure.record(
            record, error: throttled, retryAt: nil, store: refusing, now: Self.start, actor: "test", log: Self.logger
        ) { _ in Issue.record("nothing was recorded") }
        guard case .storeUnavailable = refused else {
            Issue.record("expected storeUnavailable, got \(refused)")
            return
        }
        var parkedAs: TransferState?
        let parked = StepFailure.record(
            record, error: denied, retryAt: nil, store: writable, now: Self.start, actor: "test", log: Self.logger
        ) { parkedAs = $0.state }
        #expect(parked == .failed(denied.description))
        #expect(parkedAs == .stuck)
    }
}
