import Foundation
import GRDB
import Logging
import Testing
import TransferKeyAWS
import TransferKeyCore
import TransferKeyStore

@testable import TransferKeyDaemon

private let prefix = "alias/CadoResponse-KMS-Alias"
private let account = "111122223333"
private let start = Date(timeIntervalSince1970: 1_795_000_000)

/// A store in memory, a fake AWS, and a worker wired to both with a fixed clock.
private struct Harness {
    let store: TransferStore
    let aws = FakeAWS()
    var settings = CleanupSettings(aliasPrefix: prefix, pendingWindowDays: 7)

    init() throws {
        store = TransferStore(try AppDatabase(DatabaseQueue()))
    }

    func worker(now: Date = start) -> TransferWorker {
        TransferWorker(
            store: store, cloud: FakeCloud(aws: aws), settings: settings,
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
            clock: { now }, jitter: { 0.5 })
    }

    /// Records a transfer whose import already ended, so cleanup is due.
    @discardableResult
    func due(_ importID: String, keyID: String, alias: String?) throws -> TransferRecord {
        try store.record(
            NewTransfer(
                importID: importID, accountID: account, region: "eu-west-1", keyID: keyID, aliasName: alias,
                origin: .tracked, deadline: start.addingTimeInterval(3600)), now: start, actor: "test")
        return try store.complete(importID, failed: false, now: start, actor: "test").transfer
    }

    func run(_ importID: String, budget limit: Int = 25, now: Date = start) async throws -> [StepOutcome] {
        let budget = DeletionBudget(limit: limit)
        let record = try #require(try store.transfer(matching: importID))
        return await worker(now: now).work(on: record, budget: budget)
    }

    func state(_ importID: String) throws -> TransferState? { try store.transfer(matching: importID)?.state }
    func kinds(_ importID: String) throws -> [String] { try store.events(importID: importID).map(\.kind) }
}

private func uuid(_ n: Int) -> String { String(format: "%08d-0000-4000-8000-000000000000", n) }

@Suite("Transfer worker: cleanup against a fake AWS")
struct TransferWorkerTests {
    @Test(
        "still in use: a cryptographic use after the import ended defers (in_use), and after in_use_deferrals looks refuses; nothing is scheduled"
    )
    func usedAfterTheImport() async throws {
        var h = try Harness()
        h.settings.inUseDeferrals = 2
        await h.aws.addKey(CloudKey(keyID: uuid(7)), aliases: ["\(prefix)-imp-7"])
        try h.due("imp-7", keyID: uuid(7), alias: "\(prefix)-imp-7")
        // Used an hour after the import ended (completed at `start`; usage_slack 15 min).
        await h.aws.setUsage(
            KeyUsage(
                lastUse: .init(
                    operation: "Decrypt", at: start.addingTimeInterval(3600), cloudTrailEventID: "ev-7",
                    kmsRequestID: "req-7")),
            key: uuid(7))

        for _ in 0..<2 {
            let outcome = try await h.run("imp-7", now: start).first
            guard case .deferred? = outcome else {
                Issue.record("expected a deferral, got \(String(describing: outcome))")
                return
            }
            #expect(try h.state("imp-7") == .cleanupDue)
        }
        let deferred = try #require(try h.store.events(importID: "imp-7").last { $0.kind == "deferred" })
        #expect(deferred.detail.contains("\"rule\":\"in_use\"") && deferred.detail.contains("ev-7"))
        #expect(deferred.detail.contains("\"kms_request_id\":\"req-7\""), "the evidence of use is in the audit")
        _ = try await h.run("imp-7", now: start)
        #expect(try h.state("imp-7") == .refused)
        #expect(try h.store.transfer(matching: "imp-7")?.lastError?.hasPrefix("in_use:") == true)
        #expect(await h.aws.calls("ScheduleKeyDeletion").isEmpty)

        // A use inside usage_slack after the end is the import's own: cleaned.
        await h.aws.addKey(CloudKey(keyID: uuid(8)), aliases: ["\(prefix)-imp-8"])
        try h.due("imp-8", keyID: uuid(8), alias: "\(prefix)-imp-8")
        await h.aws.setUsage(
            KeyUsage(lastUse: .init(operation: "Encrypt", at: start.addingTimeInterval(300))), key: uuid(8))
        _ = try await h.run("imp-8", now: start)
        #expect(try h.state("imp-8") == .cleaned)
    }

    @Test("a live grant to anyone but the import's grantees, or made after the import ended, refuses the key")
    func grantedToOthers() async throws {
        var h = try Harness()
        h.settings.importGrantees = ["arn:aws:sts::*:assumed-role/aws:ec2-infrastructure/*"]
        let infrastructure = "arn:aws:sts::111122223333:assumed-role/aws:ec2-infrastructure/i-0123"
        for (n, grant) in [
            (1, KeyUsage.Grant(grantID: "g-1", granteePrincipal: "arn:aws:iam::444455556666:role/Other")),
            (
                2,
                KeyUsage.Grant(
                    grantID: "g-2", granteePrincipal: infrastructure, creationDate: start.addingTimeInterval(3600))
            ),
        ] {
            await h.aws.addKey(CloudKey(keyID: uuid(10 + n)), aliases: ["\(prefix)-imp-g\(n)"])
            try h.due("imp-g\(n)", keyID: uuid(10 + n), alias: "\(prefix)-imp-g\(n)")
            await h.aws.setUsage(KeyUsage(grants: [grant]), key: uuid(10 + n))
            _ = try await h.run("imp-g\(n)", now: start)
            #expect(try h.state("imp-g\(n)") == .refused)
            let reason = try h.store.transfer(matching: "imp-g\(n)")?.lastError ?? ""
            #expect(reason.hasPrefix("granted_to_others:") && reason.contains(grant.grantID), "\(reason)")
        }
        // EC2's infrastructure grant of the copy, made during the import: the import's own.
        await h.aws.addKey(CloudKey(keyID: uuid(13)), aliases: ["\(prefix)-imp-g3"])
        try h.due("imp-g3", keyID: uuid(13), alias: "\(prefix)-imp-g3")
        await h.aws.setUsage(
            KeyUsage(
                grants: [
                    .init(
                        grantID: "g-3", granteePrincipal: infrastructure, creationDate: start.addingTimeInterval(-600))
                ]), key: uuid(13))
        _ = try await h.run("imp-g3", now: start)
        #expect(try h.state("imp-g3") == .cleaned)
        #expect(await h.aws.calls("ScheduleKeyDeletion").count == 1)
        // The import's own grant is retired after scheduling (one RetireGrant, one aws_call event), and only then.
        let order = await h.aws.calls.compactMap { $0.split(separator: " ").first.map(String.init) }
            .filter { ["ScheduleKeyDeletion", "RetireGrant"].contains($0) }
        #expect(order == ["ScheduleKeyDeletion", "RetireGrant"])
        let retire = try #require(
            try h.store.events(importID: "imp-g3").first { $0.kind == "aws_call" && $0.detail.contains("RetireGrant") })
        #expect(retire.detail.contains("\"grant_id\":\"g-3\"") && retire.detail.contains("\"outcome\":\"ok\""))
        #expect(await h.aws.usageOf(uuid(13))?.grants.isEmpty == true)
        // The refused keys' grants are nobody's to retire.
        #expect(await h.aws.calls("RetireGrant").count == 1)
    }

    @Test(
        "an attempt to use a key pending deletion cancels the deletion at once: cancelled, with the CloudTrail event in the audit"
    )
    func rescueOnUse() async throws {
        let h = try Harness()
        let arn = "arn:aws:kms:eu-west-1:\(account):key/\(uuid(20))"
        await h.aws.addKey(CloudKey(keyID: uuid(20), arn: arn), aliases: ["\(prefix)-imp-20"])
        try h.due("imp-20", keyID: uuid(20), alias: "\(prefix)-imp-20")
        _ = try await h.run("imp-20")
        let cleaned = try #require(try h.store.transfer(importID: "imp-20"))
        #expect(cleaned.state == .cleaned)
        // Nothing tried to use it: nothing changes, one lookup.
        #expect(await h.worker().rescueIfUsed(cleaned) == nil)
        #expect(await h.aws.calls("LookupEvents").count == 1)

        await h.aws.addEvent(
            KeyCallEvent(
                eventID: "ev-20", name: "Decrypt", at: start.addingTimeInterval(60),
                principal: "arn:aws:iam::444455556666:role/Forensics", errorCode: "KMSInvalidStateException",
                errorMessage: "\(arn) is pending deletion."), keyARN: arn)
        #expect(await h.worker().rescueIfUsed(cleaned) == .advanced(.cancelled))
        #expect(await h.aws.key(uuid(20))?.keyState == "Disabled")
        #expect(await h.aws.calls("CancelKeyDeletion").count == 1)
        let event = try #require(try h.store.events(importID: "imp-20").last)
        #expect(event.kind == "deletion_cancelled")
        #expect(event.detail.contains("ev-20") && event.detail.contains("in_use_during_window"), "\(event.detail)")
        let call = try #require(try h.store.events(importID: "imp-20").last { $0.kind == "aws_call" })
        #expect(call.detail.contains("CancelKeyDeletion"))
        // The metrics page on it for a day, as `status` does.
        let metrics = MetricsReporter(
            path: "/nonexistent/transferkeyd.prom", store: h.store, aws: AWSCallMetrics(),
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        #expect(try metrics.render(now: start.addingTimeInterval(60)).contains("\ntransferkeyd_keys_rescued_24h 1\n"))
        #expect(
            try metrics.render(now: start.addingTimeInterval(86_460)).contains("\ntransferkeyd_keys_rescued_24h 0\n"))
    }

    @Test(
        "disable_first: an approved key is disabled and watched; scheduled after a quiet watch, enabled again and refused (in_use) when something tried to use it or somebody enabled it"
    )
    func disableFirst() async throws {
        var h = try Harness()
        h.settings.disableFirst = 3600
        let place = FakeAWS.Place(account: account, region: "eu-west-1")
        for n in 31...33 {
            await h.aws.addKey(
                CloudKey(keyID: uuid(n), arn: "arn:aws:kms:eu-west-1:\(account):key/\(uuid(n))"),
                aliases: ["\(prefix)-imp-\(n)"])
            try h.due("imp-\(n)", keyID: uuid(n), alias: "\(prefix)-imp-\(n)")
            // First look: disabled, watched for an hour; nothing scheduled.
            guard case .deferred? = try await h.run("imp-\(n)", now: start).first else {
                Issue.record("expected the watch to start")
                return
            }
            #expect(await h.aws.key(uuid(n))?.keyState == "Disabled")
            #expect(try h.kinds("imp-\(n)").contains("key_disabled"))
            #expect(
                try h.store.transfer(importID: "imp-\(n)")?.nextAttemptAt
                    == Timestamp.stored(start.addingTimeInterval(3600)))
            // Half-way: still watched.
            _ = try await h.run("imp-\(n)", now: start.addingTimeInterval(1800))
            #expect(try h.state("imp-\(n)") == .cleanupDue)
        }
        #expect(await h.aws.calls("ScheduleKeyDeletion").isEmpty)
        #expect(await h.aws.calls("DisableKey").count == 3)

        // 32: somebody tried to decrypt with it while disabled (AWS refused it; CloudTrail has it).
        await h.aws.addEvent(
            KeyCallEvent(
                eventID: "ev-32", name: "Decrypt", at: start.addingTimeInterval(600),
                principal: "arn:aws:iam::444455556666:role/Forensics", errorCode: "DisabledException",
                errorMessage: "key is disabled."), keyARN: "arn:aws:kms:eu-west-1:\(account):key/\(uuid(32))")
        // 33: somebody enabled it again.
        _ = try await h.aws.setEnabled(uuid(33), true, place)

        let later = start.addingTimeInterval(3700)
        _ = try await h.run("imp-31", now: later)
        #expect(try h.state("imp-31") == .cleaned)
        #expect(await h.aws.key(uuid(31))?.keyState == "PendingDeletion")
        let scheduled = try #require(try h.store.events(importID: "imp-31").first { $0.kind == "key_scheduled" })
        #expect(scheduled.detail.contains("disabled_since"))

        _ = try await h.run("imp-32", now: later)
        #expect(try h.state("imp-32") == .refused)
        #expect(try h.store.transfer(matching: "imp-32")?.lastError?.hasPrefix("in_use:") == true)
        #expect(await h.aws.key(uuid(32))?.keyState == "Enabled", "enabled again for whoever needs it")
        let enabled = try #require(try h.store.events(importID: "imp-32").last { $0.kind == "key_enabled" })
        #expect(enabled.detail.contains("ev-32"))

        _ = try await h.run("imp-33", now: later)
        #expect(try h.state("imp-33") == .refused)
        #expect(try h.store.transfer(matching: "imp-33")?.lastError?.contains("enabled again") == true)
        #expect(await h.aws.calls("ScheduleKeyDeletion").count == 1)
        #expect(await h.aws.calls("EnableKey").count == 2, "ours for 32, and the outside one for 33")
    }

    @Test("a finished import's key is scheduled for deletion, then its alias removed, in that order")
    func happyPath() async throws {
        let h = try Harness()
        await h.aws.addKey(CloudKey(keyID: uuid(1)), aliases: ["\(prefix)-imp-1"])
        try h.due("imp-1", keyID: uuid(1), alias: "\(prefix)-imp-1")

        let outcomes = try await h.run("imp-1")
        #expect(outcomes == [.advanced(.keyScheduled), .advanced(.cleaned)])
        let key = try #require(await h.aws.key(uuid(1)))
        #expect(key.keyState == "PendingDeletion")
        #expect(key.deletionDate == start.addingTimeInterval(7 * 86400))
        #expect(await h.aws.aliasNames().isEmpty)
        // Eight KMS calls: the checks, what AWS records of the key's use (grants, last use: read only once every
        // other rule approved), the schedule, the re-check (which is also the list to delete), the delete, and the
        // look that confirms no prefixed alias is left (a 200 is not believed without it).
        #expect(
            await h.aws.calls.map { String($0.prefix { $0 != " " }) } == [
                "DescribeKey", "ListAliases", "ListGrants", "GetKeyLastUsage", "ScheduleKeyDeletion", "ListAliases",
                "DeleteAlias", "ListAliases",
            ])
        let mutating = await h.aws.calls.filter { $0.hasPrefix("Schedule") || $0.hasPrefix("Delete") }
        #expect(
            mutating == [
                "ScheduleKeyDeletion 111122223333/eu-west-1 \(uuid(1))",
                "DeleteAlias 111122223333/eu-west-1 \(prefix)-imp-1",
            ])
        let record = try #require(try h.store.transfer(matching: "imp-1"))
        #expect(record.keyDeletionDate == Timestamp.stored(start.addingTimeInterval(7 * 86400)))
        #expect(
            try h.kinds("imp-1") == [
                "recorded", "import_ended", "aws_call_intent", "aws_call", "key_scheduled", "aws_call_intent",
                "aws_call", "aliases_removed",
            ])
    }

    @Test(
        "the outbox: an announced DeleteAlias without its answer is answer_lost once AWS no longer lists the alias, unconfirmed (and called again) while it does"
    )
    func deleteAliasOutbox() async throws {
        let h = try Harness()
        let kept = "\(prefix)-imp-2"
        let gone = "\(prefix)-imp-2-second"
        await h.aws.addKey(CloudKey(keyID: uuid(2)), aliases: [kept])
        try h.due("imp-2", keyID: uuid(2), alias: kept)
        // An earlier pass announced both deletions and died before either answer was recorded: one was performed.
        for alias in [kept, gone] {
            try h.store.note(
                .awsCallIntent, for: "imp-2",
                detail: [
                    "operation": "DeleteAlias", "region": "eu-west-1", "key_id": .string(uuid(2)),
                    "alias_name": .string(alias),
                ], postponeUntil: nil, now: start, actor: "daemon")
        }
        _ = try await h.run("imp-2")
        #expect(try h.state("imp-2") == .cleaned)
        let calls = try h.store.events(importID: "imp-2").filter {
            $0.kind == "aws_call" && $0.detail.contains("DeleteAlias")
        }
        .map(\.detail)
        #expect(calls.count == 3, "\(calls)")
        #expect(calls.contains { $0.contains(gone) && $0.contains("\"outcome\":\"answer_lost\"") }, "\(calls)")
        #expect(calls.contains { $0.contains(kept) && $0.contains("\"outcome\":\"unconfirmed\"") }, "\(calls)")
        #expect(calls.contains { $0.contains(kept) && $0.contains("\"outcome\":\"ok\"") }, "\(calls)")
        #expect(try h.store.openIntents(importID: "imp-2", operation: "DeleteAlias").isEmpty, "every intent answered")
        #expect(await h.aws.calls("DeleteAlias").count == 1, "only the alias AWS still listed is deleted")
    }

    @Test("a key that also carries a foreign alias is refused: no mutating call, reason recorded")
    func foreignAliasDecoy() async throws {
        let h = try Harness()
        await h.aws.addKey(CloudKey(keyID: uuid(2)), aliases: ["\(prefix)-imp-2", "alias/prod-db"])
        try h.due("imp-2", keyID: uuid(2), alias: "\(prefix)-imp-2")

        #expect(try await h.run("imp-2") == [.advanced(.refused)])
        #expect(await h.aws.calls("ScheduleKeyDeletion").isEmpty)
        #expect(await h.aws.calls("DeleteAlias").isEmpty)
        #expect(await h.aws.key(uuid(2))?.keyState == "Enabled")
        #expect(try h.store.transfer(matching: "imp-2")?.lastError?.contains("alias/prod-db") == true)
    }

    @Test("an AWS-managed key, or an alias now pointing elsewhere, is refused")
    func otherRefusals() async throws {
        let h = try Harness()
        await h.aws.addKey(CloudKey(keyID: uuid(3), keyManager: "AWS"), aliases: ["\(prefix)-imp-3"])
        try h.due("imp-3", keyID: uuid(3), alias: "\(prefix)-imp-3")
        await h.aws.addKey(CloudKey(keyID: uuid(4)), aliases: ["\(prefix)-other"])
        try h.due("imp-4", keyID: uuid(4), alias: "\(prefix)-imp-4")

        #expect(try await h.run("imp-3") == [.advanced(.refused)])
        #expect(try await h.run("imp-4") == [.advanced(.refused)])
        #expect(await h.aws.calls("ScheduleKeyDeletion").isEmpty)
    }

    @Test("a key already pending deletion (an earlier run died after scheduling) is settled, not scheduled again")
    func crashAfterSchedule() async throws {
        let h = try Harness()
        let date = start.addingTimeInterval(86400 * 7)
        await h.aws.addKey(
            CloudKey(keyID: uuid(5), keyState: "PendingDeletion", deletionDate: date), aliases: ["\(prefix)-imp-5"])
        try h.due("imp-5", keyID: uuid(5), alias: "\(prefix)-imp-5")

        #expect(try await h.run("imp-5") == [.advanced(.keyScheduled), .advanced(.cleaned)])
        #expect(await h.aws.calls("ScheduleKeyDeletion").isEmpty)
        #expect(try h.store.transfer(matching: "imp-5")?.keyDeletionDate == Timestamp.stored(date))
        #expect(await h.aws.aliasNames().isEmpty)
    }

    @Test("KMSInvalidStateException counts as done only when DescribeKey shows the key pending deletion")
    func invalidState() async throws {
        let h = try Harness()
        await h.aws.addKey(CloudKey(keyID: uuid(6)), aliases: ["\(prefix)-imp-6"])
        try h.due("imp-6", keyID: uuid(6), alias: "\(prefix)-imp-6")
        // The call fails although the key is not pending: a real invalid state (e.g. disabled import).
        await h.aws.fail(
            "ScheduleKeyDeletion",
            with: CloudError(kind: .invalidState, code: "KMSInvalidStateException", operation: "ScheduleKeyDeletion"))
        let outcomes = try await h.run("imp-6")
        #expect(outcomes.count == 1)
        #expect(try h.state("imp-6") == .stuck, "a permanent error parks the transfer")
        #expect(await h.aws.calls("DeleteAlias").isEmpty, "the alias stays while the key is not scheduled")
    }

    @Test(
        "throttling, 5xx and undecodable answers are retried with capped backoff for as long as they last: never stuck, cleaned once AWS answers"
    )
    func throttling() async throws {
        let h = try Harness()
        await h.aws.addKey(CloudKey(keyID: uuid(7)), aliases: ["\(prefix)-imp-7"])
        try h.due("imp-7", keyID: uuid(7), alias: "\(prefix)-imp-7")
        let throttled = CloudError(
            kind: .throttled, code: "ThrottlingException", requestID: "r-1", operation: "ScheduleKeyDeletion")
        await h.aws.fail("ScheduleKeyDeletion", with: throttled, times: 20)
        let garbled = CloudError(kind: .transient, code: "InvalidResponse", operation: "DescribeKey")
        #expect(AWSFailureClass.of(code: "InvalidResponse", httpStatus: 200).category == .transient)
        await h.aws.fail("DescribeKey", with: garbled, times: 5)

        _ = try await h.run("imp-7")
        var record = try #require(try h.store.transfer(matching: "imp-7"))
        #expect(record.state == .cleanupDue)
        #expect(record.attempts == 1)
        #expect(record.lastError?.contains("InvalidResponse") == true)

        // 24 more failed looks (an outage far longer than any attempt budget): still waiting, backoff capped.
        var now = start
        for _ in 0..<24 {
            now = now.addingTimeInterval(3600)
            _ = try await h.run("imp-7", now: now)
        }
        record = try #require(try h.store.transfer(matching: "imp-7"))
        #expect(record.state == .cleanupDue, "a transient failure never parks the transfer")
        #expect(record.attempts == 25)
        let next = try #require(record.nextAttemptAt)
        #expect(next.timeIntervalSince(now) <= 15 * 60, "backoff capped at 15 min")
        #expect(await h.aws.key(uuid(7))?.keyState == "Enabled")
        // status and the metrics say how long AWS has been failing there.
        let failing = try h.store.status(now: now).failing
        #expect(failing.map(\.transfers) == [1] && failing.first?.since == Timestamp.stored(start), "\(failing)")
        let metrics = MetricsReporter(
            path: "/nonexistent/transferkeyd.prom", store: h.store, aws: AWSCallMetrics(),
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        #expect(
            try metrics.render(now: now).contains(
                "transferkeyd_aws_failing_seconds{account=\"\(account)\",region=\"eu-west-1\"} 86400"))

        // AWS answers again: cleaned on the next look.
        _ = try await h.run("imp-7", now: now.addingTimeInterval(3600))
        #expect(try h.state("imp-7") == .cleaned)
        #expect(try h.store.status(now: now.addingTimeInterval(3600)).failing.isEmpty)
        #expect(await h.aws.key(uuid(7))?.keyState == "PendingDeletion")
    }

    @Test("DeleteAlias answered but not performed: the row stays key_scheduled until AWS shows no prefixed alias")
    func deleteAliasNotBelieved() async throws {
        let h = try Harness()
        await h.aws.addKey(CloudKey(keyID: uuid(9)), aliases: ["\(prefix)-imp-9"])
        try h.due("imp-9", keyID: uuid(9), alias: "\(prefix)-imp-9")
        await h.aws.ignoreNextDeleteAlias()
        let outcomes = try await h.run("imp-9")
        guard case .failed(let reason)? = outcomes.last, reason.contains("AliasStillListed") else {
            Issue.record("expected the alias step to fail transiently: \(outcomes)")
            return
        }
        #expect(try h.state("imp-9") == .keyScheduled, "no false `cleaned`")
        #expect(try await h.run("imp-9", now: start.addingTimeInterval(60)) == [.advanced(.cleaned)])
        #expect(await h.aws.aliasNames().isEmpty)
    }

    @Test("a throttled call that later succeeds finishes the cleanup")
    func throttlingRecovers() async throws {
        let h = try Harness()
        await h.aws.addKey(CloudKey(keyID: uuid(8)), aliases: ["\(prefix)-imp-8"])
        try h.due("imp-8", keyID: uuid(8), alias: "\(prefix)-imp-8")
        await h.aws.fail("DeleteAlias", with: CloudError(kind: .transient, code: "InternalFailure"))
        #expect(try await h.run("imp-8") == [.advanced(.keyScheduled), .failed("InternalFailure")])
        #expect(try h.state("imp-8") == .keyScheduled)
        #expect(try await h.run("imp-8", now: start.addingTimeInterval(60)) == [.advanced(.cleaned)])
        #expect(await h.aws.calls("ScheduleKeyDeletion").count == 1, "never scheduled twice")
    }

    @Test("AccessDenied parks the transfer as stuck at once, with the code")
    func accessDenied() async throws {
        let h = try Harness()
        await h.aws.addKey(CloudKey(keyID: uuid(9)), aliases: ["\(prefix)-imp-9"])
        try h.due("imp-9", keyID: uuid(9), alias: "\(prefix)-imp-9")
        await h.aws.fail(
            "ScheduleKeyDeletion",
            with: CloudError(kind: .auth, code: "AccessDeniedException", operation: "ScheduleKeyDeletion"))
        _ = try await h.run("imp-9")
        let record = try #require(try h.store.transfer(matching: "imp-9"))
        #expect(record.state == .stuck)
        #expect(record.lastError?.contains("AccessDeniedException") == true)
    }

    @Test("dry run reads everything, records what it would do, and makes no mutating call")
    func dryRun() async throws {
        var h = try Harness()
        h.settings.isDryRun = true
        await h.aws.addKey(CloudKey(keyID: uuid(10)), aliases: ["\(prefix)-imp-10"])
        try h.due("imp-10", keyID: uuid(10), alias: "\(prefix)-imp-10")
        #expect(try await h.run("imp-10") == [.deferred("dry run")])
        #expect(await h.aws.calls("ScheduleKeyDeletion").isEmpty)
        #expect(await h.aws.calls("DeleteAlias").isEmpty)
        #expect(await h.aws.calls("DescribeKey").count == 1)
        #expect(try h.state("imp-10") == .cleanupDue)
        #expect(try h.kinds("imp-10").last == "would_schedule_key_deletion")
        let next = try #require(try h.store.transfer(matching: "imp-10")?.nextAttemptAt)
        #expect(next > start, "a dry run does not spin on the same transfer")
    }

    @Test("dry run on a scheduled key lists every alias it would delete and deletes none")
    func dryRunAfterScheduling() async throws {
        var h = try Harness()
        await h.aws.addKey(CloudKey(keyID: uuid(9)), aliases: ["\(prefix)-imp-9", "\(prefix)-imp-9-b"])
        try h.due("imp-9", keyID: uuid(9), alias: "\(prefix)-imp-9")
        await h.aws.fail("DeleteAlias", with: CloudError(kind: .transient, code: "InternalFailure"))
        #expect(try await h.run("imp-9") == [.advanced(.keyScheduled), .failed("InternalFailure")])
        h.settings.isDryRun = true
        #expect(try await h.run("imp-9", now: start.addingTimeInterval(60)) == [.deferred("dry run")])
        #expect(try h.state("imp-9") == .keyScheduled)
        #expect(Set(await h.aws.aliasNames()) == ["\(prefix)-imp-9", "\(prefix)-imp-9-b"])
        let note = try #require(try h.store.events(importID: "imp-9").last)
        #expect(note.kind == "would_delete_alias")
        #expect(note.detail.contains("\"\(prefix)-imp-9\",\"\(prefix)-imp-9-b\""), "\(note.detail)")
    }

    @Test("the blast-radius cap: no more ScheduleKeyDeletion calls per cycle than allowed")
    func budget() async throws {
        let h = try Harness()
        for n in 11...13 {
            await h.aws.addKey(CloudKey(keyID: uuid(n)), aliases: ["\(prefix)-imp-\(n)"])
            try h.due("imp-\(n)", keyID: uuid(n), alias: "\(prefix)-imp-\(n)")
        }
        let budget = DeletionBudget(limit: 2)
        for n in 11...13 {
            let record = try #require(try h.store.transfer(matching: "imp-\(n)"))
            await h.worker().work(on: record, budget: budget)
        }
        #expect(await h.aws.calls("ScheduleKeyDeletion").count == 2)
        #expect(try h.state("imp-13") == .cleanupDue)
    }

    @Test("a multi-Region primary's replicas are scheduled in their regions and lose their prefixed aliases")
    func multiRegion() async throws {
        let h = try Harness()
        let keyID = "mrk-0123456789abcdef0123456789abcdef"
        await h.aws.addKey(
            CloudKey(keyID: keyID, multiRegionKeyType: "PRIMARY", replicaRegions: ["us-east-1"]),
            aliases: ["\(prefix)-imp-mr"])
        await h.aws.addKey(
            CloudKey(keyID: keyID, multiRegionKeyType: "REPLICA"), region: "us-east-1", aliases: ["\(prefix)-imp-mr"])
        try h.due("imp-mr", keyID: keyID, alias: "\(prefix)-imp-mr")

        #expect(try await h.run("imp-mr") == [.advanced(.keyScheduled), .advanced(.cleaned)])
        #expect(await h.aws.key(keyID, region: "us-east-1")?.keyState == "PendingDeletion")
        #expect(await h.aws.key(keyID)?.keyState == "PendingReplicaDeletion")
        #expect(await h.aws.aliasNames(region: "us-east-1").isEmpty)
        #expect(await h.aws.aliasNames().isEmpty)
    }

    @Test("a replica carrying a foreign alias makes the whole transfer refused before anything is scheduled")
    func multiRegionDecoy() async throws {
        let h = try Harness()
        let keyID = "mrk-11111111111111111111111111111111"
        await h.aws.addKey(
            CloudKey(keyID: keyID, multiRegionKeyType: "PRIMARY", replicaRegions: ["us-east-1"]),
            aliases: ["\(prefix)-imp-mr2"])
        await h.aws.addKey(
            CloudKey(keyID: keyID, multiRegionKeyType: "REPLICA"), region: "us-east-1", aliases: ["alias/prod-replica"])
        try h.due("imp-mr2", keyID: keyID, alias: "\(prefix)-imp-mr2")
        #expect(try await h.run("imp-mr2") == [.advanced(.refused)])
        #expect(await h.aws.calls("ScheduleKeyDeletion").isEmpty)
    }

    @Test("a key pending deletion that carries look-alike aliases is cancelled, never stripped of its prefixed alias")
    func aliasesNeverTouched() async throws {
        let h = try Harness()
        // Pending deletion already, carrying look-alike aliases: somebody else's names on the key.
        await h.aws.addKey(
            CloudKey(keyID: uuid(14), keyState: "PendingDeletion", deletionDate: start),
            aliases: ["\(prefix)-imp-14", "alias/cadoresponse-kms-alias-imp-14", "alias/CadoResponse-KMS-Alia-14"])
        try h.due("imp-14", keyID: uuid(14), alias: "\(prefix)-imp-14")
        #expect(try await h.run("imp-14") == [.advanced(.refused)])
        #expect(await h.aws.aliasNames().count == 3)
        #expect(await h.aws.calls("DeleteAlias").isEmpty)
        #expect(await h.aws.calls("CancelKeyDeletion").count == 1)
    }

    @Test("only prefixed aliases are removed")
    func onlyPrefixedRemoved() async throws {
        let h = try Harness()
        await h.aws.addKey(CloudKey(keyID: uuid(19)), aliases: ["\(prefix)-imp-19", "\(prefix)-imp-19-b"])
        await h.aws.addKey(CloudKey(keyID: uuid(29)), aliases: ["alias/cadoresponse-kms-alias-imp-19"])
        try h.due("imp-19", keyID: uuid(19), alias: "\(prefix)-imp-19")
        _ = try await h.run("imp-19")
        #expect(await h.aws.aliasNames() == ["alias/cadoresponse-kms-alias-imp-19"])
        #expect(await h.aws.calls("DeleteAlias").count == 2)
    }

    @Test("a key AWS described before and that no longer exists is recorded as deleted")
    func keyGone() async throws {
        let h = try Harness()
        try h.due("imp-15", keyID: uuid(15), alias: "\(prefix)-imp-15")
        try h.store.markKeySeen(importID: "imp-15", keyARN: nil, now: start)
        #expect(try await h.run("imp-15") == [.advanced(.deleted)])
    }

    @Test("NotFound for a key never seen is a wrong record: stuck, naming the region its alias is in; never deleted")
    func neverSeen() async throws {
        var h = try Harness()
        h.settings.regionsByAccount = [account: ["eu-west-1", "us-east-1"]]
        // Tracked with the wrong --region: the key and its alias live in us-east-1.
        await h.aws.addKey(CloudKey(keyID: uuid(18)), region: "us-east-1", aliases: ["\(prefix)-imp-18"])
        try h.due("imp-18", keyID: uuid(18), alias: "\(prefix)-imp-18")
        #expect(try await h.run("imp-18") == [.advanced(.stuck)])
        let reason = try #require(try h.store.transfer(matching: "imp-18")?.lastError)
        #expect(
            reason.contains("never found in \(account)/eu-west-1") && reason.contains("exists in us-east-1"),
            "\(reason)")
        #expect(await h.aws.key(uuid(18), region: "us-east-1")?.keyState == "Enabled")
    }

    @Test("an active transfer whose lease ran out is cleaned up as expired")
    func leaseExpired() async throws {
        let h = try Harness()
        await h.aws.addKey(CloudKey(keyID: uuid(16)), aliases: ["\(prefix)-imp-16"])
        try h.store.record(
            NewTransfer(
                importID: "imp-16", accountID: account, region: "eu-west-1", keyID: uuid(16),
                aliasName: "\(prefix)-imp-16", origin: .tracked, deadline: start), now: start, actor: "test")
        #expect(
            try await h.run("imp-16", now: start.addingTimeInterval(1)) == [
                .advanced(.cleanupDue), .advanced(.keyScheduled), .advanced(.cleaned),
            ])
        #expect(try h.store.transfer(matching: "imp-16")?.completion == .expired)
    }

    @Test("after the deletion date: still pending → look again later; gone → deleted")
    func confirm() async throws {
        let h = try Harness()
        await h.aws.addKey(CloudKey(keyID: uuid(17)), aliases: ["\(prefix)-imp-17"])
        try h.due("imp-17", keyID: uuid(17), alias: "\(prefix)-imp-17")
        _ = try await h.run("imp-17")
        let later = start.addingTimeInterval(8 * 86400)
        #expect(try await h.run("imp-17", now: later) == [.advanced(.cleaned)])
        #expect(try #require(try h.store.transfer(matching: "imp-17")?.nextAttemptAt) > later)
        await h.aws.removeKey(uuid(17))
        #expect(try await h.run("imp-17", now: later.addingTimeInterval(7200)) == [.advanced(.deleted)])
    }

    // MARK: - Provenance and the rules that time settles

    @Test("a foreign alias added while ScheduleKeyDeletion is in flight: cancelled at once, refused, no alias deleted")
    func changedDuringTheCall() async throws {
        let h = try Harness()
        await h.aws.addKey(CloudKey(keyID: uuid(20)), aliases: ["\(prefix)-imp-20"])
        try h.due("imp-20", keyID: uuid(20), alias: "\(prefix)-imp-20")
        await h.aws.addDuringSchedule(
            CloudAlias(aliasName: "alias/prod-db", targetKeyID: uuid(20), creationDate: start))

        #expect(try await h.run("imp-20") == [.advanced(.keyScheduled), .advanced(.refused)])
        #expect(await h.aws.calls("CancelKeyDeletion") == ["CancelKeyDeletion 111122223333/eu-west-1 \(uuid(20))"])
        #expect(await h.aws.calls("DeleteAlias").isEmpty, "never strip our alias from a key that carries a foreign one")
        #expect(await h.aws.key(uuid(20))?.keyState == "Disabled")
        #expect(try h.store.transfer(matching: "imp-20")?.lastError?.hasPrefix("changed_during_deletion:") == true)
        let events = try h.store.events(importID: "imp-20")
        #expect(events.map(\.kind).suffix(2) == ["aws_call", "key_refused"])
        #expect(events.last?.detail.contains("\"cancelled_regions\":[\"eu-west-1\"]") == true)
    }

    @Test(
        "a key pending deletion that now carries a foreign alias is cancelled, not stripped (a run died after scheduling)"
    )
    func pendingWithForeignAlias() async throws {
        let h = try Harness()
        await h.aws.addKey(
            CloudKey(keyID: uuid(21), keyState: "PendingDeletion", deletionDate: start),
            aliases: ["\(prefix)-imp-21", "alias/prod-db"])
        try h.due("imp-21", keyID: uuid(21), alias: "\(prefix)-imp-21")
        #expect(try await h.run("imp-21") == [.advanced(.refused)])
        #expect(await h.aws.calls("CancelKeyDeletion").count == 1)
        #expect(await h.aws.aliasNames() == ["\(prefix)-imp-21", "alias/prod-db"])
    }

    @Test(
        "a deferral (another live import's alias on the key) touches nothing and moves the next attempt into the future"
    )
    func deferredSharedKey() async throws {
        let h = try Harness()
        await h.aws.addKey(CloudKey(keyID: uuid(22)), aliases: ["\(prefix)-imp-22", "\(prefix)-imp-23"])
        await h.aws.addKey(CloudKey(keyID: uuid(23)), aliases: [])
        try h.due("imp-22", keyID: uuid(22), alias: "\(prefix)-imp-22")
        try h.store.record(
            NewTransfer(
                importID: "imp-23", accountID: account, region: "eu-west-1", keyID: uuid(23),
                aliasName: "\(prefix)-imp-23", origin: .tracked, deadline: start.addingTimeInterval(3600)),
            now: start, actor: "test")

        let outcomes = try await h.run("imp-22")
        guard case .deferred(let why)? = outcomes.first else {
            Issue.record("expected a deferral, got \(outcomes)")
            return
        }
        #expect(why.hasPrefix("shared_key:"))
        #expect(await h.aws.calls("ScheduleKeyDeletion").isEmpty)
        let record = try #require(try h.store.transfer(matching: "imp-22"))
        #expect(record.state == .cleanupDue)
        #expect(try #require(record.nextAttemptAt) > start, "not re-read every cycle")
        #expect(record.attempts == 0, "a deferral spends no attempt")
        #expect(record.lastError?.hasPrefix("deferred: shared_key:") == true)
        #expect(try h.kinds("imp-22").last == "deferred")
    }

    @Test("the lease ends by AWS's clock: a host clock ahead expires nothing early")
    func leaseByAWSClock() async throws {
        let h = try Harness()
        await h.aws.addKey(CloudKey(keyID: uuid(24)), aliases: ["\(prefix)-imp-24"])
        try h.store.record(
            NewTransfer(
                importID: "imp-24", accountID: account, region: "eu-west-1", keyID: uuid(24),
                aliasName: "\(prefix)-imp-24", origin: .tracked, deadline: start.addingTimeInterval(3600)),
            now: start, actor: "test")
        // The host says a day has passed; AWS's Date header says a minute.
        let worker = TransferWorker(
            store: h.store, cloud: FakeCloud(aws: h.aws, awsTime: { start.addingTimeInterval(60) }),
            settings: h.settings, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
            clock: { start.addingTimeInterval(86400) }, jitter: { 0.5 })
        let record = try #require(try h.store.transfer(matching: "imp-24"))
        let outcomes = await worker.work(on: record, budget: DeletionBudget(limit: 25))
        #expect(outcomes.count == 1)
        #expect(try h.state("imp-24") == .active)
        #expect(await h.aws.calls("ScheduleKeyDeletion").isEmpty)
        // Looked at again when the lease ends by AWS's clock: 3540 s after the host's "now".
        #expect(try h.store.transfer(matching: "imp-24")?.nextAttemptAt == start.addingTimeInterval(86400 + 3540))
        // Before AWS has answered anything, a jump of the wall clock holds the lease too.
        let watch = WallClockWatch()
        watch.observe(wall: start, at: .now)
        watch.observe(wall: start.addingTimeInterval(86400), at: .now)
        let blind = TransferWorker(
            store: h.store, cloud: FakeCloud(aws: h.aws, awsTime: { nil }), settings: h.settings,
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
            clock: { start.addingTimeInterval(2 * 86400) }, jitter: { 0.5 }, wallClock: watch)
        _ = await blind.work(
            on: try #require(try h.store.transfer(matching: "imp-24")), budget: DeletionBudget(limit: 25))
        #expect(try h.state("imp-24") == .active)
    }

    @Test(
        "a multi-Region key needing more calls than the cycle cap takes a whole untouched cycle instead of waiting for ever"
    )
    func multiRegionOverCap() async throws {
        let h = try Harness()
        let keyID = "mrk-22222222222222222222222222222222"
        await h.aws.addKey(
            CloudKey(keyID: keyID, multiRegionKeyType: "PRIMARY", replicaRegions: ["us-east-1"]),
            aliases: ["\(prefix)-imp-25"])
        await h.aws.addKey(CloudKey(keyID: keyID, multiRegionKeyType: "REPLICA"), region: "us-east-1", aliases: [])
        try h.due("imp-25", keyID: keyID, alias: "\(prefix)-imp-25")
        #expect(try await h.run("imp-25", budget: 1).first == .advanced(.keyScheduled))
        #expect(await h.aws.calls("ScheduleKeyDeletion").count == 2)
        // But not after something else already took from the cycle.
        let budget = DeletionBudget(limit: 1)
        #expect(budget.take(1))
        #expect(!budget.take(2))
        // And the rolling hour: a key needing 2 calls waits while the hour has only 1 left.
        let hour = DeletionBudget(limit: 25, hourLeft: 1, hourLimit: 10)
        #expect(!hour.take(2))
        #expect(hour.take(1))
        #expect(!hour.allowsMoreWork)
    }

    @Test("a discovered key without provenance is refused at cleanup too; an operator's acceptance lets it go")
    func discoveredProvenance() async throws {
        let h = try Harness()
        let old = start.addingTimeInterval(-400 * 86400)
        await h.aws.addKey(CloudKey(keyID: uuid(26), creationDate: old), aliases: ["\(prefix)-x"])
        try h.store.record(
            NewTransfer(
                importID: "orphan-26", accountID: account, region: "eu-west-1", keyID: uuid(26),
                aliasName: "\(prefix)-x", origin: .discovered, deadline: start),
            now: start, actor: "test")
        #expect(try await h.run("orphan-26") == [.advanced(.cleanupDue), .advanced(.refused)])
        #expect(try h.store.transfer(matching: "orphan-26")?.lastError?.hasPrefix("no_provenance:") == true)
        #expect(await h.aws.calls("ListResourceTags").count == 1, "the tags were read as evidence")
        try h.store.acceptProvenance("orphan-26", by: "alice", reason: "ticket 7", now: start, actor: "cli:alice")
        #expect(try await h.run("orphan-26") == [.advanced(.keyScheduled), .advanced(.cleaned)])
        let scheduled = try h.store.events(importID: "orphan-26").first { $0.kind == "key_scheduled" }
        #expect(scheduled?.detail.contains("\"accepted_by\":\"alice\"") == true)
    }

    @Test("a tracked replica leads to its primary: the primary and every replica are scheduled, their aliases removed")
    func trackedReplica() async throws {
        let h = try Harness()
        let keyID = "mrk-33333333333333333333333333333333"
        await h.aws.addKey(
            CloudKey(keyID: keyID, multiRegionKeyType: "PRIMARY", replicaRegions: ["eu-west-1"]), region: "us-east-1",
            aliases: ["\(prefix)-imp-27-primary"])
        await h.aws.addKey(
            CloudKey(keyID: keyID, multiRegionKeyType: "REPLICA", primaryRegion: "us-east-1"),
            aliases: ["\(prefix)-imp-27"])
        try h.due("imp-27", keyID: keyID, alias: "\(prefix)-imp-27")
        #expect(try await h.run("imp-27") == [.advanced(.keyScheduled), .advanced(.cleaned)])
        #expect(
            await h.aws.calls("ScheduleKeyDeletion") == [
                "ScheduleKeyDeletion 111122223333/us-east-1 \(keyID)",
                "ScheduleKeyDeletion 111122223333/eu-west-1 \(keyID)",
            ])
        #expect(await h.aws.aliasNames(region: "us-east-1").isEmpty)
        #expect(await h.aws.aliasNames().isEmpty)
    }
}

extension TransferWorkerTests {
    @Test(
        "every region, every time: a replica made while ScheduleKeyDeletion is in flight cancels the deletion everywhere (refused); a replica's deletion cancelled outside is recorded cancelled"
    )
    func replicaChangesAfterScheduling() async throws {
        let h = try Harness()
        let keyID = "mrk-44444444444444444444444444444444"
        await h.aws.addKey(
            CloudKey(keyID: keyID, multiRegionKeyType: "PRIMARY"), aliases: ["\(prefix)-imp-28"])
        await h.aws.addReplicaDuringSchedule(region: "us-west-2", aliases: ["\(prefix)-imp-28-west"])
        try h.due("imp-28", keyID: keyID, alias: "\(prefix)-imp-28")
        #expect(try await h.run("imp-28") == [.advanced(.keyScheduled), .advanced(.refused)])
        #expect(await h.aws.calls("ScheduleKeyDeletion") == ["ScheduleKeyDeletion 111122223333/eu-west-1 \(keyID)"])
        #expect(await h.aws.calls("CancelKeyDeletion") == ["CancelKeyDeletion 111122223333/eu-west-1 \(keyID)"])
        #expect(try h.store.transfer(matching: "imp-28")?.lastError?.contains("replicated to us-west-2") == true)
        #expect(await h.aws.aliasNames(region: "us-west-2") == ["\(prefix)-imp-28-west"], "nothing deleted")

        // Another key, scheduled with its replica: somebody cancels the replica's deletion outside transferkeyd.
        let other = "mrk-55555555555555555555555555555555"
        await h.aws.addKey(
            CloudKey(keyID: other, multiRegionKeyType: "PRIMARY", replicaRegions: ["us-west-2"]),
            aliases: ["\(prefix)-imp-29"])
        await h.aws.addKey(
            CloudKey(keyID: other, multiRegionKeyType: "REPLICA", primaryRegion: "eu-west-1"), region: "us-west-2",
            aliases: [])
        try h.due("imp-29", keyID: other, alias: "\(prefix)-imp-29")
        #expect(try await h.run("imp-29") == [.advanced(.keyScheduled), .advanced(.cleaned)])
        _ = try await h.aws.cancel(other, FakeAWS.Place(account: account, region: "us-west-2"))
        #expect(try await h.run("imp-29", now: start.addingTimeInterval(8 * 86_400)) == [.advanced(.cancelled)])
        let event = try #require(try h.store.events(importID: "imp-29").last)
        #expect(event.detail.contains("us-west-2") && event.detail.contains("outside transferkeyd"), "\(event.detail)")
    }
}

extension FakeAWS {
    func removeKey(_ keyID: String, account: String = "111122223333", region: String = "eu-west-1") {
        keys[Place(account: account, region: region)]?[keyID] = nil
    }
}
