import Foundation
import GRDB
import Logging
import Testing
import TransferKeyCore
import TransferKeyStore

@testable import TransferKeyDaemon

private let account = "111122223333"
private let otherAccount = "444455556666"
private let start = Date(timeIntervalSince1970: 1_795_000_000)

private func snap(_ n: Int) -> String { String(format: "snap-%017x", n) }
private func uuid(_ n: Int) -> String { String(format: "%08d-0000-4000-8000-000000000000", n) }

/// A store in memory, a fake AWS, and a poller wired to both with a fixed clock.
private struct Harness {
    let store: TransferStore
    let aws = FakeAWS()

    init() throws {
        store = TransferStore(try AppDatabase(DatabaseQueue()))
    }

    func poll(now: Date = start) async -> PollReport {
        await CompletionPoller(
            store: store, cloud: FakeCloud(aws: aws),
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }), clock: { now }
        ).poll()
    }

    /// Records an active transfer waiting for `snapshots`.
    func track(
        _ importID: String, key n: Int, snapshots: [String], snapshotAccountID: String? = nil,
        snapshotRegion: String? = nil
    ) throws {
        try store.record(
            NewTransfer(
                importID: importID, accountID: account, region: "eu-west-1", keyID: uuid(n),
                aliasName: "alias/CadoResponse-KMS-Alias-\(importID)", origin: .tracked, snapshotIDs: snapshots,
                snapshotAccountID: snapshotAccountID, snapshotRegion: snapshotRegion,
                deadline: start.addingTimeInterval(86400)),
            now: start, actor: "test")
    }

    func record(_ importID: String) throws -> TransferRecord { try #require(try store.transfer(matching: importID)) }
    func states(_ importID: String) throws -> [String] { try store.snapshots(importID: importID).map(\.state) }
}

@Suite("Completion poller: snapshot copies end imports")
struct CompletionPollerTests {
    @Test("a pending copy keeps the transfer active and its state is stored")
    func pending() async throws {
        let h = try Harness()
        await h.aws.setSnapshot(snap(1), state: "pending")
        try h.track("imp-1", key: 1, snapshots: [snap(1)])

        let report = await h.poll()
        #expect(report.endedTransfers.isEmpty)
        #expect(report.snapshotsChecked == 1)
        #expect(try h.record("imp-1").state == .active)
        #expect(try h.states("imp-1") == ["pending"])
        #expect(try h.store.snapshots(importID: "imp-1").first?.checkedAt == Timestamp.stored(start))
    }

    @Test("every copy completed: cleanup is due with completion succeeded, recorded with the snapshot states")
    func completed() async throws {
        let h = try Harness()
        await h.aws.setSnapshot(snap(1), state: "completed")
        await h.aws.setSnapshot(snap(2), state: "completed")
        try h.track("imp-1", key: 1, snapshots: [snap(1), snap(2)])

        let report = await h.poll()
        #expect(report.endedTransfers == ["imp-1": .succeeded])
        let record = try h.record("imp-1")
        #expect(record.state == .cleanupDue)
        #expect(record.completion == .succeeded)
        #expect(record.completedAt == Timestamp.stored(start))
        let event = try #require(try h.store.events(importID: "imp-1").last)
        #expect(event.kind == "import_ended")
        #expect(event.actor == "daemon")
        #expect(event.detail.contains("\"signal\":\"snapshots\""))
        #expect(event.detail.contains("\"\(snap(2))\":\"completed\""))
    }

    @Test("a copy in error ends the import as failed at once, even with another still pending: clean up anyway")
    func error() async throws {
        let h = try Harness()
        await h.aws.setSnapshot(snap(1), state: "error")
        await h.aws.setSnapshot(snap(2), state: "pending")
        try h.track("imp-1", key: 1, snapshots: [snap(1), snap(2)])

        #expect(await h.poll().endedTransfers == ["imp-1": .failed])
        #expect(try h.record("imp-1").state == .cleanupDue)
        #expect(try h.record("imp-1").completion == .failed)
    }

    @Test("copies EC2 reported once and no longer knows end the import as snapshots_gone")
    func missing() async throws {
        let h = try Harness()
        await h.aws.setSnapshot(snap(1), state: "pending")
        await h.aws.setSnapshot(snap(2), state: "pending")
        try h.track("imp-1", key: 1, snapshots: [snap(1), snap(2)])
        _ = await h.poll()
        await h.aws.removeSnapshot(snap(1))
        await h.aws.removeSnapshot(snap(2))

        #expect(await h.poll().endedTransfers == ["imp-1": .snapshotsGone])
        #expect(try h.states("imp-1") == ["missing", "missing"])
        #expect(try h.record("imp-1").completion == .snapshotsGone)
    }

    @Test("a copy EC2 never reported is never missing: not yet visible, or in another account; the lease decides")
    func neverSeen() async throws {
        let h = try Harness()
        try h.track("imp-1", key: 1, snapshots: [snap(1)])
        for minutes in [0.0, 5, 30, 600] {
            #expect(await h.poll(now: start.addingTimeInterval(minutes * 60)).endedTransfers.isEmpty)
        }
        #expect(try h.states("imp-1") == ["unknown"])
        #expect(try h.record("imp-1").state == .active)
        // Named for an operator once EC2 has not known it for 10 minutes of polls.
        let unseen = try h.store.snapshotsNeverSeen(missingSince: start.addingTimeInterval(-600 + 601))
        #expect(unseen.map(\.snapshotID) == [snap(1)])
        #expect(unseen.first?.place == "\(account)/eu-west-1")
        #expect(try h.store.snapshotsNeverSeen(missingSince: start.addingTimeInterval(-1)).isEmpty)
        // Once it shows up, it counts like any other.
        await h.aws.setSnapshot(snap(1), state: "completed")
        #expect(await h.poll(now: start.addingTimeInterval(36_000)).endedTransfers == ["imp-1": .succeeded])
    }

    @Test("completed and never-seen copies together wait; pending and missing wait")
    func mixed() async throws {
        let h = try Harness()
        await h.aws.setSnapshot(snap(1), state: "completed")
        await h.aws.setSnapshot(snap(3), state: "pending")
        try h.track("imp-1", key: 1, snapshots: [snap(1), snap(2)])
        try h.track("imp-2", key: 2, snapshots: [snap(3), snap(4)])

        #expect(await h.poll().endedTransfers.isEmpty, "snap-2 was never seen: the lease decides")
        #expect(try h.record("imp-1").state == .active)
        #expect(try h.record("imp-2").state == .active)
    }

    @Test("the decision: error wins, all final ends, anything else waits")
    func decision() {
        #expect(CompletionPoller.completion(forSnapshotStates: []) == nil)
        #expect(CompletionPoller.completion(forSnapshotStates: ["pending", "error"]) == .failed)
        #expect(CompletionPoller.completion(forSnapshotStates: ["completed", "missing"]) == .succeeded)
        #expect(CompletionPoller.completion(forSnapshotStates: ["missing"]) == .snapshotsGone)
        #expect(CompletionPoller.completion(forSnapshotStates: ["completed", "unknown"]) == nil)
        #expect(CompletionPoller.completion(forSnapshotStates: ["recovering"]) == nil)
    }

    @Test("two account × region groups: exactly one DescribeSnapshots call per group per poll")
    func groups() async throws {
        let h = try Harness()
        for n in 1...3 { await h.aws.setSnapshot(snap(n), state: "pending") }
        await h.aws.setSnapshot(snap(4), state: "pending", account: otherAccount, region: "us-east-1")
        await h.aws.setSnapshot(snap(5), state: "completed", account: otherAccount, region: "us-east-1")
        try h.track("imp-1", key: 1, snapshots: [snap(1), snap(2)])
        try h.track("imp-2", key: 2, snapshots: [snap(3)])
        try h.track("imp-3", key: 3, snapshots: [snap(4)], snapshotAccountID: otherAccount, snapshotRegion: "us-east-1")
        try h.track("imp-4", key: 4, snapshots: [snap(5)], snapshotAccountID: otherAccount, snapshotRegion: "us-east-1")

        let report = await h.poll()
        #expect(report.groupsPolled == 2)
        #expect(report.callsMade == 2)
        #expect(
            await h.aws.calls("DescribeSnapshots").sorted() == [
                "DescribeSnapshots 111122223333/eu-west-1 3", "DescribeSnapshots 444455556666/us-east-1 2",
            ])
        #expect(report.endedTransfers == ["imp-4": .succeeded])
        #expect(await h.aws.calls.allSatisfy { $0.hasPrefix("DescribeSnapshots ") }, "no KMS call while polling")

        _ = await h.poll()
        #expect(await h.aws.calls("DescribeSnapshots").count == 4, "one call per group on the next poll too")
        #expect(
            await h.aws.calls("DescribeSnapshots").suffix(2).sorted() == [
                "DescribeSnapshots 111122223333/eu-west-1 3", "DescribeSnapshots 444455556666/us-east-1 1",
            ], "the completed copy is not asked about again")
    }

    @Test("450 copies in one group are one call to the Cloud API: batching by 200 is the adapter's job")
    func manySnapshots() async throws {
        let h = try Harness()
        for n in 1...450 { await h.aws.setSnapshot(snap(n), state: "completed") }
        for t in 0..<45 {
            try h.track("imp-\(t)", key: t, snapshots: (1...10).map { snap(t * 10 + $0) })
        }

        let report = await h.poll()
        #expect(await h.aws.calls("DescribeSnapshots") == ["DescribeSnapshots 111122223333/eu-west-1 450"])
        #expect(report.snapshotsChecked == 450)
        #expect(report.endedTransfers.count == 45)
        #expect(report.endedTransfers.values.allSatisfy { $0 == .succeeded })
    }

    @Test("a failing group is reported with its account, region and code; the other group goes on")
    func failingGroup() async throws {
        let h = try Harness()
        await h.aws.setSnapshot(snap(1), state: "completed")
        await h.aws.setSnapshot(snap(2), state: "completed", account: otherAccount)
        await h.aws.fail(
            "DescribeSnapshots", account: otherAccount, region: "eu-west-1",
            with: CloudError(kind: .throttled, code: "RequestLimitExceeded", operation: "DescribeSnapshots"))
        try h.track("imp-1", key: 1, snapshots: [snap(1)])
        try h.track("imp-2", key: 2, snapshots: [snap(2)], snapshotAccountID: otherAccount)

        let report = await h.poll()
        #expect(report.endedTransfers == ["imp-1": .succeeded])
        #expect(report.failures.map(\.code) == ["RequestLimitExceeded"])
        #expect(report.failures.first?.accountID == otherAccount)
        #expect(report.failures.first?.region == "eu-west-1")
        #expect(try h.record("imp-2").state == .active)
        #expect(try h.states("imp-2") == ["unknown"], "nothing is marked for the failed group")

        #expect(await h.poll().endedTransfers == ["imp-2": .succeeded], "asked again on the next poll")
    }

    @Test("with nothing pending a poll makes no call; a transfer without snapshots is left to complete or the lease")
    func nothingPending() async throws {
        let h = try Harness()
        await h.aws.setSnapshot(snap(1), state: "completed")
        try h.track("imp-1", key: 1, snapshots: [snap(1)])
        try h.track("imp-2", key: 2, snapshots: [])

        _ = await h.poll()
        let second = await h.poll()
        #expect(await h.aws.calls("DescribeSnapshots").count == 1)
        #expect(second.callsMade == 0)
        #expect(second.endedTransfers.isEmpty)
        #expect(try h.record("imp-2").state == .active)
    }

    @Test("an import ended meanwhile by `complete` is left as it is")
    func completedMeanwhile() async throws {
        let h = try Harness()
        try h.track("imp-1", key: 1, snapshots: [snap(1)])
        _ = try h.store.complete("imp-1", failed: false, now: start, actor: "cli")

        let report = await h.poll()
        #expect(report.callsMade == 0)
        #expect(try h.record("imp-1").completion == .succeeded)
        #expect(try h.store.events(importID: "imp-1").map(\.kind) == ["recorded", "import_ended"])
    }

    @Test("snapshots stored as final whose transfer a crash left active end on the next poll without a call")
    func settledBeforeCrash() async throws {
        let h = try Harness()
        try h.track("imp-1", key: 1, snapshots: [snap(1)])
        let group = try #require(try h.store.pendingSnapshots().first)
        try h.store.updateSnapshotStates([snap(1): "completed"], in: group, now: start)

        #expect(await h.poll().endedTransfers == ["imp-1": .succeeded])
        #expect(await h.aws.calls.isEmpty)
    }
}

extension FakeAWS {
    func removeSnapshot(_ id: String, account: String = "111122223333", region: String = "eu-west-1") {
        snapshots[Place(account: account, region: region)]?[id] = nil
    }
}
