import Foundation
import GRDB
import Logging
import Testing
import TransferKeyCore
import TransferKeyStore

@testable import TransferKeyDaemon

private let prefix = "alias/CadoResponse-KMS-Alias"
private let account = "111122223333"
private let otherAccount = "444455556666"
private let created = Date(timeIntervalSince1970: 1_795_000_000)
private let grace: TimeInterval = 6 * 3600
/// A day after the aliases were made: well past the grace.
private let now = created.addingTimeInterval(86400)

private func uuid(_ n: Int) -> String { String(format: "%08d-0000-4000-8000-000000000000", n) }

/// A store in memory, a fake AWS, and a scanner wired to both with a fixed clock.
private struct Harness {
    let store: TransferStore
    let aws = FakeAWS()
    var threshold = 100
    var accounts: [(accountID: String, regions: [String])] = [(account, ["eu-west-1"])]

    init() throws {
        store = TransferStore(try AppDatabase(DatabaseQueue()))
    }

    func scan(at time: Date = now) async -> ScanReport {
        await OrphanScanner(
            store: store, cloud: FakeCloud(aws: aws, awsTime: { time }),
            settings: ScanSettings(aliasPrefix: prefix, orphanGrace: grace, orphanAlarmThreshold: threshold),
            accounts: accounts, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
            clock: { time }, marks: marks
        ).scan()
    }

    /// The ownership marks of an HMAC key in the fake.
    var marks: OwnershipMarks? {
        OwnershipMarks(
            markKeyARN: "arn:aws:kms:eu-west-1:\(account):key/0000beef-0000-4000-8000-000000000000",
            cloud: FakeCloud(aws: aws))
    }

    /// A key in AWS with one alias per name, each made at `at`.
    func key(
        _ n: Int, aliases names: [String], at date: Date? = created, account: String = account,
        region: String = "eu-west-1", key: CloudKey? = nil
    ) async {
        // A transfer key is made moments before its alias: provenance enough to adopt it.
        let made = CloudKey(keyID: uuid(n), creationDate: (date ?? created).addingTimeInterval(-60))
        await aws.addKey(key ?? made, account: account, region: region, aliases: [])
        for name in names {
            await aws.addAlias(name, target: key?.keyID ?? uuid(n), created: date, account: account, region: region)
        }
    }

    func discovered() throws -> [TransferRecord] {
        try store.transfers().filter { $0.origin == .discovered }
    }
}

@Suite("Orphan scanner: unrecorded prefixed aliases are adopted")
struct OrphanScannerTests {
    @Test("an unrecorded prefixed alias on a key made just before it is adopted as a discovered transfer, due now")
    func adopted() async throws {
        let h = try Harness()
        await h.key(1, aliases: ["\(prefix)-crashed"])

        let report = await h.scan()
        let importID = "orphan-\(account)-eu-west-1-\(uuid(1))"
        #expect(report.regions.map(\.adopted) == [[importID]])
        #expect(report.newOrphans == 1)
        #expect(!report.isAlarmTripped)
        let record = try #require(try h.store.transfer(matching: importID))
        #expect(record.origin == .discovered)
        #expect(record.state == .active)
        #expect(record.keyID == uuid(1))
        #expect(record.aliasName == "\(prefix)-crashed")
        #expect(record.deadlineAt == Timestamp.stored(now), "its grace is over by AWS's clock: due now")
        #expect(record.nextAttemptAt == record.deadlineAt, "the work loop ends it at the deadline")
        #expect(record.keySeenAt == Timestamp.stored(now), "the scanner described the key")
        let events = try h.store.events(importID: importID)
        #expect(events.map(\.kind) == ["recorded", "orphan_adopted"])
        #expect(events[1].detail.contains("\"kind\":\"young_key\""), "the provenance: \(events[1].detail)")
        #expect(events[1].detail.contains("\"alias_names\":[\"\(prefix)-crashed\"]"))
        #expect(events[1].detail.contains("\"aws_time\":\"\(Timestamp.string(now))\""))
    }

    @Test("a scan lists at most 8 account × regions at once (a stuck endpoint keeps the rest of the pool free)")
    func boundedConcurrency() async throws {
        var h = try Harness()
        let regions = (1...20).map { "region-\($0)" }
        h.accounts = [(account, regions)]
        // Each listing waits until 8 are in flight: reached only if the scan lists 8 at once.
        await h.aws.holdListings(until: 8)
        let report = await h.scan()
        #expect(report.regions.count == 20)
        #expect(report.regions.allSatisfy { $0.error == nil })
        #expect(await h.aws.mostListing == OrphanScanner.concurrentSurveys)
    }

    @Test("the scanner only reads AWS: ListAliases, DescribeKey, ListResourceTags, never a mutating call")
    func readOnly() async throws {
        let h = try Harness()
        await h.key(1, aliases: ["\(prefix)-a"])
        await h.key(2, aliases: ["\(prefix)-b"], at: nil)
        _ = await h.scan()
        #expect(
            await h.aws.calls.allSatisfy {
                $0.hasPrefix("ListAliases ") || $0.hasPrefix("DescribeKey ") || $0.hasPrefix("ListResourceTags ")
            })
        #expect(await h.aws.calls("ListAliases") == ["ListAliases 111122223333/eu-west-1 *"])
    }

    @Test("a key recorded by any transfer, or an alias of an unfinished transfer, is known and not adopted")
    func known() async throws {
        let h = try Harness()
        await h.key(1, aliases: ["\(prefix)-tracked"])
        await h.key(2, aliases: ["\(prefix)-refused"])
        await h.key(3, aliases: ["\(prefix)-creating"])
        try h.store.record(
            NewTransfer(
                importID: "imp-1", accountID: account, region: "eu-west-1", keyID: uuid(1), origin: .tracked,
                deadline: now),
            now: now, actor: "test")
        try h.store.record(
            NewTransfer(
                importID: "imp-2", accountID: account, region: "eu-west-1", keyID: uuid(2), origin: .tracked,
                deadline: now),
            now: now, actor: "test")
        _ = try h.store.complete("imp-2", failed: false, now: now, actor: "test")
        try h.store.apply(.keyRefused(reason: "operator's call"), to: "imp-2", now: now, actor: "test")
        // `create` wrote its intent; AWS made the key and alias, the key id is not recorded yet.
        try h.store.record(
            NewTransfer(
                importID: "imp-3", accountID: account, region: "eu-west-1", keyID: nil,
                aliasName: "\(prefix)-creating", origin: .created, deadline: now),
            now: now, actor: "test")

        let report = await h.scan()
        #expect(report.newOrphans == 0)
        #expect(report.regions.first?.ownedAliases == 3)
        #expect(try h.discovered().isEmpty)
    }

    @Test("decoys are never adopted: AWS-managed, foreign, wrong case, look-alike prefix, no target")
    func decoys() async throws {
        let h = try Harness()
        await h.key(1, aliases: ["alias/aws/ebs"])
        await h.key(2, aliases: ["alias/prod-db"])
        await h.key(3, aliases: ["alias/cadoresponse-kms-alias-x"])
        await h.key(4, aliases: ["alias/CadoResponse-KMS-Alia-x"])
        await h.aws.addAlias("\(prefix)-dangling", target: nil, created: created)

        let report = await h.scan()
        #expect(report.regions.first?.aliasesSeen == 5)
        #expect(report.regions.first?.ownedAliases == 0)
        #expect(report.newOrphans == 0)
        #expect(try h.store.transfers().isEmpty)
    }

    @Test("a re-scan adopts nothing new")
    func rescan() async throws {
        let h = try Harness()
        await h.key(1, aliases: ["\(prefix)-a"])
        await h.key(2, aliases: ["\(prefix)-b"])
        #expect(await h.scan().newOrphans == 2)

        let again = await h.scan(at: now.addingTimeInterval(600))
        #expect(again.newOrphans == 0)
        #expect(again.regions.first?.adopted == [])
        #expect(try h.discovered().count == 2)
        // A `deleted` row never hides a key AWS still lists: the record was wrong, the key is recorded again.
        try h.store.apply(.keyGone, to: "orphan-\(account)-eu-west-1-\(uuid(1))", now: now, actor: "test")
        let third = await h.scan(at: now.addingTimeInterval(1200))
        #expect(third.newOrphans == 1)
        #expect(try h.discovered().filter { $0.keyID == uuid(1) }.map(\.state) == [.deleted, .active])
    }

    @Test("a key with two prefixed aliases is one transfer, judged once the newer alias's grace is over")
    func twoAliases() async throws {
        let h = try Harness()
        await h.key(1, aliases: ["\(prefix)-first"])
        await h.aws.addAlias("\(prefix)-second", target: uuid(1), created: created.addingTimeInterval(3600))

        let report = await h.scan()
        #expect(report.newOrphans == 1)
        let record = try #require(try h.discovered().first)
        #expect(try h.discovered().count == 1)
        #expect(record.deadlineAt == Timestamp.stored(now))
        let adoption = try #require(try h.store.events(importID: record.importID).last)
        #expect(adoption.detail.contains("\"alias_names\":[\"\(prefix)-first\",\"\(prefix)-second\"]"))
    }

    @Test("an alias younger than orphan_grace is left alone (its import may not have called track yet)")
    func young() async throws {
        let h = try Harness()
        await h.key(1, aliases: ["\(prefix)-new"], at: now.addingTimeInterval(-60))

        let report = await h.scan()
        #expect(report.regions.first?.youngKeys == 1)
        #expect(report.newOrphans == 0)
        #expect(try h.store.transfers().isEmpty)

        // Later, still unrecorded: adopted, and due at once.
        let later = now.addingTimeInterval(grace)
        #expect(await h.scan(at: later).newOrphans == 1)
        #expect(try h.discovered().first?.deadlineAt == Timestamp.stored(later))
    }

    @Test(
        "with platform_principals, a key proven only by its age must have been made by one of them (CloudTrail): else made_by_other, or no_provenance without a record"
    )
    func madeByOther() async throws {
        let h = try Harness()
        for n in 31...33 {
            let arn = "arn:aws:kms:eu-west-1:\(account):key/\(uuid(n))"
            await h.key(
                n, aliases: ["\(prefix)-k\(n)"],
                key: CloudKey(keyID: uuid(n), arn: arn, creationDate: created.addingTimeInterval(-60)))
            if n < 33 {
                let principal =
                    n == 31 ? "arn:aws:iam::\(account):role/CadoResponseRole" : "arn:aws:iam::\(account):user/engineer"
                await h.aws.addEvent(
                    KeyCallEvent(
                        eventID: "ev-\(n)", name: "CreateKey", at: created.addingTimeInterval(-60), principal: principal
                    ),
                    keyARN: arn)
            }
        }
        var settings = ScanSettings(aliasPrefix: prefix, orphanGrace: grace, orphanAlarmThreshold: 100)
        settings.platformPrincipals = [account: ["arn:aws:iam::\(account):role/CadoResponse*"]]
        _ = await OrphanScanner(
            store: h.store, cloud: FakeCloud(aws: h.aws, awsTime: { now }), settings: settings, accounts: h.accounts,
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }), clock: { now }
        ).scan()
        let states = Dictionary(uniqueKeysWithValues: try h.discovered().map { ($0.keyID ?? "", $0) })
        #expect(states[uuid(31)]?.state == .active, "made by the platform")
        #expect(
            states[uuid(32)]?.lastError?.hasPrefix("made_by_other:") == true, "\(states[uuid(32)]?.lastError ?? "")")
        #expect(states[uuid(32)]?.lastError?.contains("user/engineer") == true)
        #expect(states[uuid(33)]?.lastError?.hasPrefix("no_provenance:") == true, "no CreateKey record")
        #expect(await h.aws.calls("LookupEvents").count == 3)
    }

    @Test("provenance: a planted alias on an old key, a key made after its alias, an alias without a date are refused")
    func provenance() async throws {
        let h = try Harness()
        // A production key made a year before somebody put a prefixed alias on it.
        await h.key(
            1, aliases: ["\(prefix)-planted"],
            key: CloudKey(keyID: uuid(1), creationDate: created.addingTimeInterval(-365 * 86400)))
        // The alias was made before the key it now targets: moved onto it.
        await h.key(
            2, aliases: ["\(prefix)-moved"],
            key: CloudKey(keyID: uuid(2), creationDate: created.addingTimeInterval(600)))
        // AWS gave no date for the alias: nothing can be judged.
        await h.key(3, aliases: ["\(prefix)-undated"], at: nil)
        // Old, but marked by transferkeyd (a mark bound to its ARN that verifies): adopted.
        let arn4 = "arn:aws:kms:eu-west-1:\(account):key/\(uuid(4))"
        await h.key(
            4, aliases: ["\(prefix)-tagged"],
            key: CloudKey(keyID: uuid(4), arn: arn4, creationDate: created.addingTimeInterval(-365 * 86400)))
        let mark4 = try await #require(h.marks).mark(keyARN: arn4, importID: "imp-4")
        await h.aws.setTags([KMSValue.importIDTag: "imp-4", OwnershipMark.tag: mark4], key: uuid(4))
        // Old, with only the import-id tag (anyone with kms:TagResource), or with key 4's mark copied onto it: refused.
        await h.key(
            6, aliases: ["\(prefix)-tag-only"],
            key: CloudKey(
                keyID: uuid(6), arn: "arn:aws:kms:eu-west-1:\(account):key/\(uuid(6))",
                creationDate: created.addingTimeInterval(-400 * 86400)))
        await h.aws.setTags([KMSValue.importIDTag: "imp-never-existed"], key: uuid(6))
        await h.key(
            7, aliases: ["\(prefix)-copied"],
            key: CloudKey(
                keyID: uuid(7), arn: "arn:aws:kms:eu-west-1:\(account):key/\(uuid(7))",
                creationDate: created.addingTimeInterval(-400 * 86400)))
        await h.aws.setTags([KMSValue.importIDTag: "imp-4", OwnershipMark.tag: mark4], key: uuid(7))
        // A key AWS says belongs to another account than the configured one (base credentials of another account).
        await h.key(
            8, aliases: ["\(prefix)-elsewhere"],
            key: CloudKey(
                keyID: uuid(8), arn: "arn:aws:kms:eu-west-1:999988887777:key/\(uuid(8))",
                creationDate: created.addingTimeInterval(-60)))
        // Disabled: somebody acted on it.
        await h.key(
            5, aliases: ["\(prefix)-disabled"],
            key: CloudKey(keyID: uuid(5), keyState: "Disabled", creationDate: created.addingTimeInterval(-60)))

        let report = await h.scan()
        #expect(report.newOrphans == 8)
        let states = Dictionary(uniqueKeysWithValues: try h.discovered().map { ($0.keyID ?? "", $0) })
        #expect(states[uuid(1)]?.state == .refused)
        #expect(states[uuid(1)]?.lastError?.hasPrefix("no_provenance:") == true)
        #expect(
            states[uuid(1)]?.lastError?.contains("365d before its first prefixed alias") == true,
            "\(states[uuid(1)]?.lastError ?? "")")
        #expect(states[uuid(2)]?.lastError?.contains("moved onto it") == true)
        #expect(states[uuid(3)]?.lastError?.hasPrefix("young_alias:") == true)
        #expect(states[uuid(4)]?.state == .active)
        #expect(states[uuid(5)]?.lastError?.hasPrefix("discovered_disabled:") == true)
        #expect(states[uuid(6)]?.lastError?.hasPrefix("no_provenance:") == true, "a tag is a claim")
        #expect(states[uuid(7)]?.lastError?.contains("ownership mark is invalid") == true, "a copied mark")
        #expect(states[uuid(8)]?.lastError?.hasPrefix("account_mismatch:") == true)
        #expect(states[uuid(8)]?.lastError?.contains("999988887777") == true)
        #expect(await h.aws.calls("ScheduleKeyDeletion").isEmpty)
        let refusal = try #require(try h.store.events(importID: states[uuid(1)]!.importID).last)
        #expect(refusal.kind == "key_refused")
        #expect(refusal.detail.contains("\"rule\":\"no_provenance\""))
        // Refused transfers are never due: nothing will touch them without an operator.
        #expect(
            try h.store.claimableTransfers(now: now.addingTimeInterval(86400), limit: 10, includingDiscovered: true)
                .map(\.keyID) == [uuid(4)])
    }

    @Test("ages are AWS's: a host clock hours fast adopts nothing young; a retargeted alias is as young as its move")
    func awsClock() async throws {
        let h = try Harness()
        await h.key(1, aliases: ["\(prefix)-fresh"], at: now.addingTimeInterval(-30))
        // Moved onto key 2 a minute ago, though made long ago.
        await h.aws.addKey(CloudKey(keyID: uuid(2), creationDate: created), aliases: [])
        await h.aws.addAlias("\(prefix)-moved", target: uuid(2), created: created, updated: now.addingTimeInterval(-60))
        let fastHost = await OrphanScanner(
            store: h.store, cloud: FakeCloud(aws: h.aws, awsTime: { now }),
            settings: ScanSettings(aliasPrefix: prefix, orphanGrace: grace, orphanAlarmThreshold: 100),
            accounts: h.accounts, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
            clock: { now.addingTimeInterval(7 * 3600) }
        ).scan()
        #expect(fastHost.newOrphans == 0)
        #expect(fastHost.regions.first?.youngKeys == 2)
        // Without AWS's clock nothing is judged.
        let blind = await OrphanScanner(
            store: h.store, cloud: FakeCloud(aws: h.aws, awsTime: { nil }),
            settings: ScanSettings(aliasPrefix: prefix, orphanGrace: grace, orphanAlarmThreshold: 100),
            accounts: h.accounts, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
            clock: { now.addingTimeInterval(30 * 86400) }
        ).scan()
        #expect(blind.newOrphans == 0)
        #expect(blind.regions.first?.error?.contains("AWS's clock") == true)
    }

    @Test("DescribeKey failing while judging an orphan skips it until the next scan; a vanished key is skipped")
    func describeKeyFails() async throws {
        let h = try Harness()
        await h.key(1, aliases: ["\(prefix)-a"])
        await h.aws.addAlias("\(prefix)-ghost", target: uuid(9), created: created)
        await h.aws.fail("DescribeKey", with: CloudError(kind: .throttled, code: "ThrottlingException"))

        #expect(await h.scan().newOrphans == 0)
        #expect(try h.discovered().isEmpty)
        #expect(await h.scan(at: now.addingTimeInterval(600)).newOrphans == 1)
        #expect(try h.discovered().map(\.keyID) == [uuid(1)])
    }

    @Test("the alarm counts over a rolling window: orphans arriving under the threshold scan by scan trip it")
    func alarmWindow() async throws {
        var h = try Harness()
        h.threshold = 3
        await h.key(1, aliases: ["\(prefix)-1"])
        await h.key(2, aliases: ["\(prefix)-2"])
        #expect(!(await h.scan().isAlarmTripped))
        await h.key(3, aliases: ["\(prefix)-3"])
        await h.key(4, aliases: ["\(prefix)-4"])
        let second = await h.scan(at: now.addingTimeInterval(600))
        #expect(second.newOrphans == 2)
        #expect(second.isAlarmTripped, "2 + 2 within the window is more than 3")
        // A day later the first two are out of the window.
        try h.store.approveOrphans(now: now, actor: "test")
        await h.key(5, aliases: ["\(prefix)-5"])
        #expect(!(await h.scan(at: now.addingTimeInterval(2 * 86400)).isAlarmTripped))
    }

    @Test("more new orphans than the threshold pause orphan cleanup; they are still recorded; approve clears it")
    func alarm() async throws {
        var h = try Harness()
        h.threshold = 3
        for n in 1...4 { await h.key(n, aliases: ["\(prefix)-\(n)"]) }

        let report = await h.scan()
        #expect(report.isAlarmTripped)
        #expect(report.newOrphans == 4)
        #expect(try h.discovered().count == 4, "adoption still records them")
        let reason = try #require(try h.store.status(now: now).orphanCleanupPausedReason)
        #expect(reason.contains("4 unrecorded keys within 1d"))
        #expect(reason.contains("threshold 3"))
        #expect(try h.store.isOrphanCleanupPaused() == reason)
        #expect(try h.store.daemonEvents().map(\.kind) == ["orphan_alarm"])
        // The flag is set before the first adoption, so the work loop never sees the batch unpaused.
        let alarmSeq = try #require(try h.store.daemonEvents().first?.seq)
        let firstAdoption = try h.discovered().compactMap { try h.store.events(importID: $0.importID).first?.seq }.min()
        #expect(alarmSeq < (firstAdoption ?? 0))

        #expect(try h.store.approveOrphans(now: now, actor: "cli:alice"))
        #expect(try h.store.status(now: now).orphanCleanupPausedReason == nil)
        #expect(try h.store.daemonEvents().map(\.kind) == ["orphan_alarm", "orphans_approved"])
    }

    @Test("exactly the threshold does not trip the alarm; it counts the whole scan, not one region")
    func alarmBoundary() async throws {
        var h = try Harness()
        h.threshold = 2
        h.accounts = [(account, ["eu-west-1", "us-east-1"])]
        await h.key(1, aliases: ["\(prefix)-1"])
        await h.key(2, aliases: ["\(prefix)-2"])
        #expect(!(await h.scan().isAlarmTripped))
        #expect(try h.store.isOrphanCleanupPaused() == nil)

        await h.key(3, aliases: ["\(prefix)-3"])
        await h.key(4, aliases: ["\(prefix)-4"], region: "us-east-1")
        await h.key(5, aliases: ["\(prefix)-5"], region: "us-east-1")
        let report = await h.scan(at: now.addingTimeInterval(600))
        #expect(report.newOrphans == 3)
        #expect(report.isAlarmTripped)
    }

    @Test("each account × region's scan is recorded; a failing one keeps its error and the others go on")
    func scansTable() async throws {
        var h = try Harness()
        h.accounts = [(account, ["eu-west-1", "us-east-1"]), (otherAccount, ["eu-west-1"])]
        await h.key(1, aliases: ["\(prefix)-1", "alias/other"])
        await h.key(2, aliases: ["\(prefix)-2"], account: otherAccount)
        await h.aws.fail(
            "ListAliases", account: account, region: "us-east-1",
            with: CloudError(kind: .auth, code: "AccessDeniedException", message: "not allowed"))

        let report = await h.scan()
        #expect(report.regions.map(\.region) == ["eu-west-1", "us-east-1", "eu-west-1"])
        #expect(report.regions.map(\.adopted.count) == [1, 0, 1])
        #expect(report.regions[1].error?.contains("AccessDeniedException") == true)

        let scans = try h.store.status(now: now).scans
        #expect(
            scans.map { "\($0.accountID)/\($0.region)" } == [
                "\(account)/eu-west-1", "\(account)/us-east-1", "\(otherAccount)/eu-west-1",
            ])
        #expect(scans.map(\.isOK) == [true, false, true])
        #expect(scans.map(\.aliasesSeen) == [2, 0, 1])
        #expect(scans.map(\.orphansFound) == [1, 0, 1])
        #expect(scans[1].error == "ListAliases: AccessDeniedException (not allowed)")
        #expect(scans.allSatisfy { $0.startedAt == Timestamp.stored(now) && $0.finishedAt == Timestamp.stored(now) })
    }

    @Test("a multi-Region key seen in two regions is one transfer, in its primary's region")
    func multiRegion() async throws {
        var h = try Harness()
        h.accounts = [(account, ["eu-west-1", "us-east-1"])]
        let id = "mrk-1234abcd12ab34cd56ef1234567890ab"
        await h.key(
            0, aliases: ["\(prefix)-replica"], region: "eu-west-1",
            key: CloudKey(keyID: id, multiRegionKeyType: "REPLICA"))
        await h.key(
            0, aliases: ["\(prefix)-primary"], region: "us-east-1",
            key: CloudKey(keyID: id, multiRegionKeyType: "PRIMARY", replicaRegions: ["eu-west-1"]))

        let report = await h.scan()
        #expect(report.newOrphans == 1)
        #expect(try h.discovered().map(\.region) == ["us-east-1"])
        #expect(await h.scan(at: now.addingTimeInterval(600)).newOrphans == 0)
    }

    @Test("orphan import ids are stable and fit the 128-character column")
    func importIDs() {
        #expect(
            OrphanScanner.importID(accountID: account, region: "eu-west-1", keyID: uuid(1))
                == "orphan-\(account)-eu-west-1-\(uuid(1))")
        let long = String(repeating: "k", count: 200)
        let id = OrphanScanner.importID(accountID: account, region: "eu-west-1", keyID: long)
        #expect(id.utf8.count <= 128)
        #expect(id == OrphanScanner.importID(accountID: account, region: "eu-west-1", keyID: long))
        #expect(id != OrphanScanner.importID(accountID: account, region: "eu-west-1", keyID: long + "x"))
    }
}
