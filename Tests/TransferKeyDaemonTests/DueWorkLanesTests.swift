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

    static func loop(_ store: TransferStore, _ aws: FakeAWS, limit: Int, inFlight: Int = 16) -> WorkLoop {
        let settings = CleanupSettings(
            aliasPrefix: "alias/CadoResponse-KMS-Alias", pendingWindowDays: 7, maxDeletionsPerCycle: limit,
            maxInFlight: inFlight)
        let worker = TransferWorker(
            store: store, cloud: FakeCloud(aws: aws), settings: settings, logger: logger, clock: { start },
            jitter: { 0.5 })
        return WorkLoop(
            store: store, worker: worker, settings: settings, notifier: SilentNotifier(),
            timing: WorkLoop.Timing(), logger: logger, clock: { start })
    }

    @Test("lanes keep the due order within each account × region and list pairs in order of first appearance")
    func lanesKeepOrder() async throws {
        let (store, _) = try await Self.seeded()
        let due = try store.claimableTransfers(
            now: Self.start.addingTimeInterval(1), limit: 500, includingDiscovered: true)
        let lanes = TransferRecord.lanes(of: due)
        #expect(lanes.count == 3)
        #expect(
            lanes.map { "\($0[0].accountID)/\($0[0].region)" }.count
                == Set(lanes.map { $0[0].accountRegion }).count)
        for lane in lanes {
            #expect(Set(lane.map(\.region)).count == 1 && Set(lane.map(\.accountID)).count == 1)
            let positions = lane.map { transfer in due.firstIndex { $0.importID == transfer.importID }! }
            #expect(positions == positions.sorted(), "a lane keeps the due order")
        }
        #expect(lanes.flatMap { $0 }.count == due.count)
    }

    @Test("a busy lane's rows are left out by the query: the other lanes' rows are all there, in the due order")
    func busyLanesLeftOut() async throws {
        let (store, _) = try await Self.seeded()
        let now = Self.start.addingTimeInterval(1)
        let all = try store.claimableTransfers(now: now, limit: 500, includingDiscovered: true)
        let busy = all[0].accountRegion
        let rest = try store.claimableTransfers(
            now: now, limit: 500, includingDiscovered: true, excludingLanes: [busy])
        #expect(!rest.isEmpty && rest.count < all.count)
        #expect(rest.map(\.importID) == all.filter { $0.accountRegion != busy }.map(\.importID))
        // The same account in another region, and another account in the same region, are other lanes.
        let twin = try store.claimableTransfers(
            now: now, limit: 500, includingDiscovered: true,
            excludingLanes: [
                AccountRegion(accountID: busy.accountID, region: "nowhere-1"),
                AccountRegion(accountID: "000000000000", region: busy.region),
            ])
        #expect(twin.map(\.importID) == all.map(\.importID))
        let none = try store.claimableTransfers(
            now: now, limit: 500, includingDiscovered: true, excludingLanes: Set(all.map(\.accountRegion)))
        #expect(none.isEmpty)
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

    @Test("within a lane up to max_in_flight transfers are worked at once, never more", arguments: [1, 3, 5])
    func inFlightPerLane(width: Int) async throws {
        let (store, aws) = try await Self.seeded()
        // Each transfer's first call waits until 3 × width are in flight: reached only if every lane has `width`.
        await aws.holdDescribes(until: 3 * width)
        let reason = await Self.loop(store, aws, limit: 100, inFlight: width).runDueWork(
            now: Self.start.addingTimeInterval(1))
        #expect(reason == nil)
        #expect(try store.countsByState()[.cleaned] == 15)
        // Three lanes side by side, each with `width` in flight (five transfers a lane).
        #expect(await aws.mostDescribing == 3 * width)
    }
}

@Suite("A lane's pipeline")
struct LanePipelineTests {
    /// Items run so far and the most in flight at once, overall and per key.
    actor Tally {
        var started: [String] = []
        var inFlight: [String: Int] = [:]
        var mostPerKey = 0
        var most = 0

        func begin(_ item: String, key: String) {
            started.append(item)
            inFlight[key, default: 0] += 1
            mostPerKey = max(mostPerKey, inFlight[key]!)
            most = max(most, inFlight.values.reduce(0, +))
        }
        func end(key: String) { inFlight[key, default: 0] -= 1 }
    }

    static func key(_ item: String) -> String { String(item.prefix(1)) }

    @Test("never two items on one key at once; a held item starts as soon as its key is free, before newer ones")
    func oneKeyAtATime() async {
        let tally = Tally()
        let items = ["a1", "a2", "b1", "a3", "c1", "d1"]
        let pipeline = LanePipeline<String>(width: 3, key: { Self.key($0) })
        let reason = await pipeline.run(items) { _, _ in
            .start
        } work: { item in
            await tally.begin(item, key: Self.key(item))
            try? await Task.sleep(for: .milliseconds(20))
            await tally.end(key: Self.key(item))
            return nil
        }
        #expect(reason == nil)
        #expect(await tally.started.sorted() == items.sorted())
        #expect(await tally.mostPerKey == 1)
        #expect(await tally.most <= 3)
    }

    @Test("admit skips an item (it is not run) and stops the lane; a work's stop reason ends new starts")
    func admissionAndStop() async {
        let tally = Tally()
        let pipeline = LanePipeline<String>(width: 1, key: { Self.key($0) })
        let skipped = await pipeline.run(["a", "b", "c", "d"]) { item, _ in
            item == "b" ? .skip : item == "d" ? .stop : .start
        } work: { item in
            await tally.begin(item, key: item)
            return nil
        }
        #expect(skipped == nil)
        #expect(await tally.started == ["a", "c"])

        let stopped = Tally()
        let reason = await pipeline.run(["a", "b", "c"]) { _, _ in
            .start
        } work: { item in
            await stopped.begin(item, key: item)
            return item == "b" ? "disk full" : nil
        }
        #expect(reason == "disk full")
        #expect(await stopped.started == ["a", "b"], "nothing starts after the refusal")
    }
}
