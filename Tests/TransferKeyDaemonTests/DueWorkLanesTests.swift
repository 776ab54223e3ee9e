import Foundation
import GRDB
import Logging
import Testing
import TransferKeyCore
import TransferKeyStore
import TransferKeyTestSupport

@testable import TransferKeyDaemon

@Suite("Due work: one lane per account × region, one shared cap")
struct DueWorkLanesTests {
    static let start = Date(timeIntervalSince1970: 1_795_000_000)
    static let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    static let pairs = [("111122223333", "eu-west-1"), ("111122223333", "us-east-1"), ("222233334444", "eu-west-1")]

    /// Five completed transfers in each of the three account × region pairs, keys in the fake AWS.
    static func seeded() async throws -> (TransferStore, FakeAWS) {
        let store = TransferStore(try AppDatabase(DatabaseQueue()))
        let aws = FakeAWS()
        var index = 0
        for (account, region) in pairs {
            for _ in 1...5 {
                index += 1
                let keyID = String(format: "%08d-0000-4000-8000-000000000000", index)
                let alias = "alias/CadoResponse-KMS-Alias-imp-\(index)"
                await aws.addKey(CloudKey(keyID: keyID), account: account, region: region, aliases: [alias])
                try store.record(
                    NewTransfer(
                        importID: "imp-\(index)", accountID: account, region: region, keyID: keyID, aliasName: alias,
                        origin: .tracked, deadline: start.addingTimeInterval(3600)),
                    now: start, actor: "test")
                _ = try store.complete("imp-\(index)", failed: false, now: start, actor: "test")
            }
        }
        return (store, aws)
    }

    static func loop(_ store: TransferStore, _ aws: FakeAWS, limit: Int) -> WorkLoop {
        let settings = CleanupSettings(
            aliasPrefix: "alias/CadoResponse-KMS-Alias", pendingWindowDays: 7, maxDeletionsPerCycle: limit)
        let worker = TransferWorker(
            store: store, cloud: FakeCloud(aws: aws), settings: settings, logger: logger, clock: { start },
            jitter: { 0.5 })
        return WorkLoop(
            store: store, worker: worker, settings: settings, poll: {}, scan: {}, notifier: SilentNotifier(),
            timing: WorkLoop.Timing(pollInterval: 1, scanInterval: 60), logger: logger, clock: { start })
    }

    @Test("lanes keep the due order within each account × region and list pairs in order of first appearance")
    func lanesKeepOrder() async throws {
        let (store, _) = try await Self.seeded()
        let due = try store.claimableTransfers(
            now: Self.start.addingTimeInterval(1), limit: 500, includingDiscovered: true)
        let lanes = WorkLoop.lanes(of: due)
        #expect(lanes.count == 3)
        #expect(
            lanes.map { "\($0[0].accountID)/\($0[0].region)" }.count
                == Set(lanes.map { "\($0[0].accountID)/\($0[0].region)" }).count)
        for lane in lanes {
            #expect(Set(lane.map(\.region)).count == 1 && Set(lane.map(\.accountID)).count == 1)
            let positions = lane.map { transfer in due.firstIndex { $0.importID == transfer.importID }! }
            #expect(positions == positions.sorted(), "a lane keeps the due order")
        }
        #expect(lanes.flatMap { $0 }.count == due.count)
    }

    @Test("with lanes running side by side the cap still holds for the whole cycle", arguments: [1, 4, 7, 15, 100])
    func capHoldsAcrossLanes(limit: Int) async throws {
        let (store, aws) = try await Self.seeded()
        let reason = await Self.loop(store, aws, limit: limit).runDueWork(now: Self.start.addingTimeInterval(1))
        #expect(reason == nil)
        #expect(await aws.calls("ScheduleKeyDeletion").count == min(limit, 15), "exactly the cap, never more")
    }

    @Test("a later cycle finishes what the cap left over, in every lane")
    func laterCyclesFinish() async throws {
        let (store, aws) = try await Self.seeded()
        let loop = Self.loop(store, aws, limit: 4)
        for cycle in 1...6 { _ = await loop.runDueWork(now: Self.start.addingTimeInterval(Double(cycle))) }
        #expect(await aws.calls("ScheduleKeyDeletion").count == 15, "each key scheduled once")
        #expect(try store.countsByState()[.cleaned] == 15)
    }
}
