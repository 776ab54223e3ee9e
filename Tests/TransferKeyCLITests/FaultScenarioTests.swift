import Foundation
import Testing
import TransferKeyTestSupport

/// The daemon as a real subprocess under the faults issue 6 lists: AWS throttling in bursts, AWS slower
/// than the request timeout, AWS unreachable for a while, the database locked by another writer, the
/// disk under the database full, and the wall clock jumping. Each test has its own emulator.
@Suite("Daemon under faults", .serialized)
struct FaultScenarioTests {
    /// One key with its alias, tracked as `importID`.
    struct Tracked {
        var importID: String
        var keyID: String
        var alias: String
    }

    /// Creates `count` keys with an alias each and tracks them (`extra` flags for `track`).
    static func trackKeys(
        _ fixture: DaemonFixture, count: Int, name: String, extra: (Int) throws -> [String] = { _ in [] },
        cli: (([String]) throws -> CommandResult)? = nil
    ) throws -> [Tracked] {
        var keys: [Tracked] = []
        for index in 0..<count {
            let alias = fixture.alias("\(name)\(index)")
            let keyID = try fixture.createKey(aliases: [alias])
            let importID = "\(name)\(index)-\(fixture.tag)"
            let arguments =
                [
                    "track", "--import-id", importID, "--account", DaemonFixture.account, "--region", "us-east-1",
                    "--key-id", keyID, "--alias", alias,
                ] + (try extra(index))
            let result = try (cli ?? fixture.cli)(arguments)
            #expect(result.exitCode == 0, "\(result)")
            keys.append(Tracked(importID: importID, keyID: keyID, alias: alias))
        }
        return keys
    }

    /// The `aws_call` audit events of a transfer, their `detail` parsed.
    static func awsCalls(_ showJSON: String) throws -> [[String: Any]] {
        let events = try parseJSON(showJSON)["events"] as? [[String: Any]] ?? []
        return try events.filter { $0["kind"] as? String == "aws_call" }.map {
            try parseJSON($0["detail"] as? String ?? "{}")
        }
    }

    /// Every key pending deletion, every alias gone, each key scheduled by exactly one accepted call, and every row
    /// of the ledger true to AWS.
    /// (`checkRows: false` where the ledger is gone by then; the test checks its rows itself before.)
    static func expectCleanedOnce(_ fixture: DaemonFixture, _ keys: [Tracked], checkRows: Bool = true) async throws {
        if checkRows {
            let contradicted = try fixture.rowsContradictedByAWS()
            #expect(contradicted.isEmpty, "every row true to AWS: \(contradicted)")
        }
        let aliases = try fixture.aliasNames()
        for key in keys {
            #expect(try fixture.keyState(key.keyID) == "PendingDeletion", "\(key)")
            #expect(!aliases.contains(key.alias), "\(key)")
        }
        let log = try await fixture.emulator.requestLog()
        let accepted = log.filter { $0.key == "kms.ScheduleKeyDeletion" && $0.status == 200 }
        #expect(accepted.count == keys.count, "one accepted ScheduleKeyDeletion per key: \(accepted)")
    }

    // MARK: - 3. Throttling in bursts

    @Test(
        "bursts of ThrottlingException on DescribeKey, ListAliases, ScheduleKeyDeletion and DeleteAlias: all cleaned, none stuck"
    )
    func throttlingBursts() async throws {
        let fixture = try await DaemonFixture.isolated(maxAttempts: 4)
        defer {
            fixture.remove()
            fixture.emulator.stop()
        }
        // Per operation: a first burst (longer than one call's 4 attempts for the mutating calls, so the step
        // itself fails and is retried later), then shorter ones that a call's own retries absorb.
        for operation in ["DescribeKey", "ListAliases", "ScheduleKeyDeletion", "DeleteAlias"] {
            let first = ["ScheduleKeyDeletion", "DeleteAlias"].contains(operation) ? 5 : 3
            for (after, count) in [(0, first), (3, 3), (6, 3)] {
                try await fixture.emulator.addRule(
                    .error("ThrottlingException", message: "Rate exceeded", on: operation, count: count, after: after)
                        .matching(service: "kms"))
            }
        }
        let keys = try Self.trackKeys(fixture, count: 6, name: "thr")
        for key in keys { #expect(try fixture.cli(["complete", key.importID]).exitCode == 0) }

        try fixture.start()
        let cleaned = try await fixture.eventually(timeout: 150) {
            try keys.allSatisfy { try fixture.state($0.importID) == "cleaned" }
        }
        #expect(cleaned, "\(fixture.logs())")
        let status = try fixture.cli(["status", "--json"])
        let document = try parseJSON(status.stdout)
        #expect(status.exitCode == 0, "\(status)")
        #expect((document["stuck"] as? [Any])?.isEmpty == true, "\(document)")
        #expect(try await fixture.stop() == 0)

        let faulted = try await fixture.emulator.faultedCounts()
        for operation in ["DescribeKey", "ListAliases", "ScheduleKeyDeletion", "DeleteAlias"] {
            #expect((faulted["kms.\(operation)"] ?? 0) >= 3, "the bursts did fire on \(operation): \(faulted)")
        }
        // A burst the daemon did not use up (it worked the keys side by side, in fewer calls) must not throttle the
        // checks below.
        try await fixture.emulator.clearRules()
        try await Self.expectCleanedOnce(fixture, keys)
        for key in keys {
            let calls = try Self.awsCalls(try fixture.cli(["show", key.importID, "--json"]).stdout)
            // A call whose every attempt AWS throttled failed its step: its announced intent is recorded
            // `unconfirmed` with AWS's answer (the outbox), and the call is made again. Each was performed once.
            let performed = calls.filter { ($0["outcome"] as? String) != "unconfirmed" }
            #expect(
                performed.compactMap { $0["operation"] as? String } == ["ScheduleKeyDeletion", "DeleteAlias"],
                "\(calls)")
            for call in calls where (call["outcome"] as? String) == "unconfirmed" {
                #expect(call["aws_code"] as? String == "ThrottlingException", "\(call)")
                #expect((call["request_id"] as? String)?.isEmpty == false, "\(call)")
            }
        }
        // Throttling is a reason to slow down, never an error an operator must act on.
        let errors = fixture.logs().split(separator: "\n").filter {
            $0.contains(" error ") && $0.contains("Throttling")
        }
        #expect(errors.isEmpty, "\(errors)")
        #expect(try fixture.cli(["audit", "verify"]).exitCode == 0)
    }

    // MARK: - 2. Latency beyond the request timeout

    @Test(
        "AWS slower than request_timeout: the calls time out, are retried, succeed once it is fast again; each effect happens once"
    )
    func latencyBeyondTimeout() async throws {
        let fixture = try await DaemonFixture.isolated(maxAttempts: 3)
        defer {
            fixture.remove()
            fixture.emulator.stop()
        }
        try fixture.setAWSOption("request_timeout = \"2s\"")
        // The emulator sleeps 4.5 s and THEN lets moto act: a timed-out call still takes effect, as on AWS.
        // ScheduleKeyDeletion: two slow answers, the third attempt is fast. DeleteAlias: all three attempts of
        // a call are slow, so the step fails and the worker comes back to it.
        try await fixture.emulator.addRule(
            .latency(milliseconds: 4500, on: "ScheduleKeyDeletion", count: 2).matching(service: "kms"))
        try await fixture.emulator.addRule(
            .latency(milliseconds: 4500, on: "DeleteAlias", count: 3).matching(service: "kms"))
        let keys = try Self.trackKeys(fixture, count: 1, name: "slow")
        let key = keys[0]
        #expect(try fixture.cli(["complete", key.importID]).exitCode == 0)

        try fixture.start(environment: ["TRANSFERKEYD_LOG_LEVEL": "debug"])
        let cleaned = try await fixture.eventually(timeout: 90) { try fixture.state(key.importID) == "cleaned" }
        #expect(cleaned, "\(fixture.logs())")
        let status = try fixture.cli(["status", "--json"])
        #expect(status.exitCode == 0, "nothing stuck: \(status)")
        #expect(try await fixture.stop() == 0)

        #expect(fixture.logs().contains("aws.code=RequestTimeout"), "the calls did time out: \(fixture.logs())")
        // A timed-out request is logged only once the emulator has finished sleeping on it (4.5 s after it
        // came in), which can be after the transfer was cleaned by a later, fast attempt: wait for all five.
        var log = try await fixture.emulator.requestLog()
        for _ in 0..<300 where log.filter({ $0.fault != nil }).count < 5 {
            try await Task.sleep(for: .milliseconds(100))
            log = try await fixture.emulator.requestLog()
        }
        let slow = log.filter { $0.fault != nil }
        #expect(slow.filter { $0.operation == "ScheduleKeyDeletion" }.count == 2, "\(log)")
        #expect(slow.filter { $0.operation == "DeleteAlias" }.count == 3, "\(log)")
        // No duplicate effect: AWS accepted exactly one of each (the others found it done: KMSInvalidState,
        // NotFound), the key kept one deletion date, and the audit trail records one schedule.
        let deletes = log.filter { $0.key == "kms.DeleteAlias" && $0.status == 200 }
        #expect(deletes.count == 1, "\(log)")
        try await Self.expectCleanedOnce(fixture, keys)
        let show = try fixture.cli(["show", key.importID, "--json"])
        let schedules = try Self.awsCalls(show.stdout).filter { $0["operation"] as? String == "ScheduleKeyDeletion" }
        #expect(schedules.count == 1, "\(schedules)")
        #expect(try fixture.cli(["audit", "verify"]).exitCode == 0)
    }

    // MARK: - 1. AWS unreachable, then back

    @Test(
        "AWS unreachable (connection refused) mid-run, then back on the same port: nothing lost, none stuck, all cleaned"
    )
    func awsUnreachableThenBack() async throws {
        let fixture = try await DaemonFixture.isolated(maxAttempts: 3)
        defer {
            fixture.remove()
            fixture.emulator.stop()
        }
        // The HTTP client keeps trying to connect until a call's deadline: a short one makes each call give up
        // (and the worker retry later) within the outage, instead of one call waiting it out.
        try fixture.setAWSOption("request_timeout = \"2s\"")
        let keys = try Self.trackKeys(fixture, count: 4, name: "down")
        try fixture.start()
        try await fixture.waitUntilRunning()

        // The emulator closes its port (moto keeps its keys: a restarted moto would forget them, which
        // AWS never does), so the daemon meets "connection refused" on new connections and dropped
        // requests on pooled ones; then it listens again on the same port.
        // Long enough that the checks below run inside it on a machine busy with the whole suite (each attempt may
        // take request_timeout and a second, three attempts a call).
        try await fixture.emulator.refuseConnections(for: .seconds(45))
        for key in keys { #expect(try fixture.cli(["complete", key.importID]).exitCode == 0) }
        let refused = try await fixture.eventually(timeout: 35) {
            fixture.logs().split(separator: "\n").contains {
                $0.contains("step failed; retrying later")
                    && ["ConnectionRefused", "ConnectionReset", "ConnectionClosed", "ConnectTimeout"].contains(
                        where: $0.contains)
            }
        }
        #expect(refused, "the daemon met the outage: \(fixture.logs())")
        #expect(!fixture.emulator.isAcceptingConnections(), "still in the outage")
        for key in keys { #expect(try fixture.state(key.importID) == "cleanup_due", "nothing moved without AWS") }
        // status says AWS is failing there (retried, not a problem for a person: no exit 1 for it).
        let during = try fixture.cli(["status"])
        #expect(during.stdout.contains("retrying:  AWS failing for"), "\(during.stdout)")
        #expect(during.stdout.contains("\(DaemonFixture.account)/us-east-1"), "\(during.stdout)")

        try await fixture.emulator.waitUntilAnswering(timeout: .seconds(60))
        let cleaned = try await fixture.eventually(timeout: 150) {
            try keys.allSatisfy { try fixture.state($0.importID) == "cleaned" }
        }
        #expect(cleaned, "\(fixture.logs())")
        #expect(fixture.isRunning, "the daemon rode the outage out")
        let status = try fixture.cli(["status", "--json"])
        #expect(status.exitCode == 0, "\(status)")
        #expect((try parseJSON(status.stdout)["retrying"] as? [Any])?.isEmpty == true, "AWS answers again: \(status)")
        #expect(try await fixture.stop() == 0)
        try await Self.expectCleanedOnce(fixture, keys)
        #expect(try fixture.cli(["audit", "verify"]).exitCode == 0)
    }

    // MARK: - A stalled answer in one lane

    @Test(
        "a DescribeKey whose body stalls in eu-west-1 costs that transfer its request_timeout and the other lane nothing: us-east-1 is cleaned while it stalls, the heartbeat goes on, then eu-west-1 is cleaned too"
    )
    func stalledLaneCostsOthersNothing() async throws {
        let fixture = try await DaemonFixture.isolated(
            accounts: [.init(id: DaemonFixture.account, regions: ["us-east-1", "eu-west-1"])], maxAttempts: 3)
        defer {
            fixture.remove()
            fixture.emulator.stop()
        }
        try fixture.setAWSOption("request_timeout = \"10s\"")
        let east = try Self.trackKeys(fixture, count: 3, name: "east")
        let westAlias = fixture.alias("west")
        let westKey = try fixture.createKey(aliases: [westAlias], account: DaemonFixture.account, region: "eu-west-1")
        let west = "west-\(fixture.tag)"
        #expect(
            try fixture.track(west, keyID: westKey, alias: westAlias, region: "eu-west-1").exitCode == 0)
        try fixture.start()
        try await fixture.waitUntilRunning()
        // The next DescribeKey in eu-west-1 sends its headers, then nothing for a minute on an open connection.
        let stallRule = try await fixture.emulator.addRule(
            Emulator.FaultRule.stallBody(milliseconds: 60_000, on: "DescribeKey", count: 1).matching(
                region: "eu-west-1"))
        #expect(try fixture.cli(["complete", west]).exitCode == 0)
        // The stall's start is when the emulator took the request (its log's clock is this host's), not when
        // this test saw it in the log: on a machine busy with the whole suite that can be seconds later.
        var stalledRequest: Emulator.LoggedRequest?
        let stalled = try await fixture.eventuallyAsync(timeout: 10) {
            stalledRequest = try await fixture.emulator.requestLog().first { $0.fault == stallRule }
            return stalledRequest != nil
        }
        #expect(stalled, "the eu-west-1 transfer reached its stalled DescribeKey")
        #expect(stalledRequest?.operation == "DescribeKey" && stalledRequest?.region == "eu-west-1")
        let stallBegan = Date(timeIntervalSince1970: stalledRequest?.time ?? Date().timeIntervalSince1970)
        for key in east { #expect(try fixture.cli(["complete", key.importID]).exitCode == 0) }
        let eastCleaned = try await fixture.eventually(timeout: 30) {
            try east.allSatisfy { try fixture.state($0.importID) == "cleaned" }
        }
        #expect(eastCleaned, "\(fixture.logs())")
        // Still inside the stall (request_timeout 10 s): the other lane did not wait for it.
        #expect(try fixture.state(west) == "cleanup_due", "eu-west-1 is still waiting on its stalled answer")
        let eastScheduled = try await fixture.emulator.requestLog().filter {
            $0.operation == "ScheduleKeyDeletion" && $0.region == "us-east-1"
        }.map { $0.time - stallBegan.timeIntervalSince1970 }
        #expect(
            eastScheduled.count == 3 && eastScheduled.allSatisfy { $0 < 10 },
            "every us-east-1 key was scheduled inside the stall: \(eastScheduled) s after it began")
        let status = try DaemonFixture.statusDocument(fixture.cli(["status", "--json"]))
        let heartbeat = (status["daemon"] as? [String: Any])?["heartbeat_at"] as? String ?? ""
        let age = Date().timeIntervalSince(ISO8601DateFormatter.withFraction.date(from: heartbeat) ?? .distantPast)
        #expect(age < 5, "the heartbeat went on during the stall: \(status)")
        #expect((status["daemon"] as? [String: Any])?["stopped_cleanly"] is NSNull, "null while it runs: \(status)")

        let westCleaned = try await fixture.eventually(timeout: 60) { try fixture.state(west) == "cleaned" }
        #expect(westCleaned, "\(fixture.logs())")
        // It waited out its own request_timeout (the stall is 60 s), no more than that and a retry: its next
        // request in eu-west-1 reached the emulator at least 10 s (less the few milliseconds between the
        // deadline's start and the stalled request's arrival) after the stalled one.
        let westLog = try await fixture.emulator.requestLog().filter {
            $0.region == "eu-west-1" && $0.time > stallBegan.timeIntervalSince1970
        }
        let retriedAfter = (westLog.map(\.time).min() ?? .infinity) - stallBegan.timeIntervalSince1970
        #expect(
            retriedAfter >= 9.5 && retriedAfter < 45,
            "eu-west-1 asked again \(retriedAfter) s after its stall began: \(westLog)")
        #expect(try fixture.keyState(westKey, account: DaemonFixture.account, region: "eu-west-1") == "PendingDeletion")
        #expect(try await fixture.stop() == 0)
        for key in east { #expect(try fixture.keyState(key.keyID) == "PendingDeletion") }
        let schedules = try await fixture.emulator.requestLog().filter {
            $0.key == "kms.ScheduleKeyDeletion" && $0.status == 200
        }
        #expect(schedules.count == 4, "one ScheduleKeyDeletion per key: \(schedules.count)")
    }

    // MARK: - Ctrl-C on reconcile

    @Test("SIGINT stops reconcile mid-pass with exit 130; the next pass cleans every key exactly once")
    func interruptedReconcile() async throws {
        let fixture = try await DaemonFixture.isolated(maxAttempts: 3)
        defer {
            fixture.remove()
            fixture.emulator.stop()
        }
        let keys = try Self.trackKeys(fixture, count: 6, name: "int")
        for key in keys { #expect(try fixture.cli(["complete", key.importID]).exitCode == 0) }
        // Every KMS answer takes 1.5 s, so the pass is long enough to interrupt.
        _ = try await fixture.emulator.addRule(Emulator.FaultRule.latency(milliseconds: 1_500, on: "*"))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try CommandRunner.binaryPath())
        process.arguments = ["reconcile", "--config", fixture.configPath]
        process.environment = ProcessInfo.processInfo.environment.merging(DaemonFixture.awsEnvironment) { _, new in new
        }
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let working = try await fixture.eventuallyAsync(timeout: 20) {
            try await fixture.emulator.requestLog().contains { $0.operation == "DescribeKey" }
        }
        #expect(working, "the pass reached the cleanup")
        let interruptedAt = Date()
        kill(process.processIdentifier, SIGINT)
        let ended = try await fixture.eventually(timeout: 20) { !process.isRunning }
        #expect(ended, "reconcile stopped after SIGINT")
        if !ended { process.terminate() }
        process.waitUntilExit()
        #expect(process.terminationStatus == 130, "exit \(process.terminationStatus)")
        #expect(Date().timeIntervalSince(interruptedAt) < 10, "stopped without finishing the pass")
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(stderr.contains("interrupted (SIGINT)"), "\(stderr)")
        #expect(try keys.contains { try fixture.state($0.importID) != "cleaned" }, "the pass did not finish")

        try await fixture.emulator.clearRules()
        _ = try fixture.cli(["reconcile"])
        try await Self.expectCleanedOnce(fixture, keys)
        for key in keys { #expect(try fixture.state(key.importID) == "cleaned") }
        #expect(try fixture.cli(["audit", "verify"]).exitCode == 0)
    }

    // MARK: - 4. The database locked by another writer

    @Test(
        "the database locked by another writer beyond the 5 s busy timeout: the daemon keeps running, logs it, and finishes after"
    )
    func databaseLockedByAnotherWriter() async throws {
        let fixture = try await DaemonFixture.isolated()
        defer {
            fixture.remove()
            fixture.emulator.stop()
        }
        var snapshots: [String] = []
        for _ in 0..<3 { snapshots.append(try fixture.seed(["create-snapshot"])) }
        try await fixture.emulator.setSnapshotStates(
            Dictionary(uniqueKeysWithValues: snapshots.map { ($0, "pending") }))
        let keys = try Self.trackKeys(fixture, count: 3, name: "lock") { ["--snapshot", snapshots[$0]] }
        try fixture.start()
        try await fixture.waitUntilRunning()
        let polled = try await fixture.eventuallyAsync(timeout: 30) {
            (try await fixture.emulator.counts()["ec2.DescribeSnapshots"] ?? 0) >= 1
        }
        #expect(polled)

        let lock = try await DatabaseLockHolder(databasePath: fixture.databasePath, folder: fixture.folder)
        // The imports end while nothing can be written: the poller hears it, the database refuses it.
        try await fixture.emulator.setSnapshotStates(
            Dictionary(uniqueKeysWithValues: snapshots.map { ($0, "completed") }))
        let reported = try await fixture.eventually(timeout: 60) {
            fixture.logs().contains("the database cannot take writes") && fixture.logs().contains("stayed locked")
        }
        #expect(reported, "\(fixture.logs())")
        #expect(lock.isHolding)
        #expect(fixture.isRunning, "the daemon keeps running")
        let scheduled = try await fixture.emulator.counts()["kms.ScheduleKeyDeletion"]
        #expect(scheduled == nil, "no key is touched while its record cannot be written")

        try await lock.release()
        let resumed = try await fixture.eventually(timeout: 60) { fixture.logs().contains("work resumed") }
        #expect(resumed, "\(fixture.logs())")
        let cleaned = try await fixture.eventually(timeout: 90) {
            try keys.allSatisfy { try fixture.state($0.importID) == "cleaned" }
        }
        #expect(cleaned, "\(fixture.logs())")
        let status = try fixture.cli(["status", "--json"])
        #expect(status.exitCode == 0, "\(status)")
        #expect(try await fixture.stop() == 0)

        try await Self.expectCleanedOnce(fixture, keys)
        for key in keys {
            // No half-written step: each change is in the trail once, in order.
            let kinds = try fixture.transfer(key.importID).eventKinds
            #expect(kinds.filter { $0 == "import_ended" }.count == 1, "\(kinds)")
            #expect(kinds.filter { $0 == "key_scheduled" }.count == 1, "\(kinds)")
        }
        let integrity = try DaemonFixture.runTool("sqlite3", [fixture.databasePath, "PRAGMA integrity_check"])
        #expect(integrity.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "ok", "\(integrity)")
        #expect(try fixture.cli(["audit", "verify"]).exitCode == 0)
    }

    // MARK: - 5. The disk under the database full

    @Test(
        "the disk under the database fills up: no work is claimed, status and logs say why, and work resumes when space returns"
    )
    func diskFull() async throws {
        let fixture = try await DaemonFixture.isolated()
        defer {
            fixture.remove()
            fixture.emulator.stop()
        }
        // A 16 MiB tmpfs, mounted in a mount namespace of the daemon's own (root, as the tests run): a
        // real file system that really fills up, invisible to the rest of the machine. The CLI and the
        // tools reach it through nsenter.
        let disk = fixture.folder.path("disk")
        try FileManager.default.createDirectory(atPath: disk, withIntermediateDirectories: true)
        let database = disk + "/transferkeyd.db"
        try fixture.moveDatabase(to: database)
        try fixture.start(wrapper: [
            "unshare", "--mount", "--propagation", "private", "sh", "-c",
            "mount -t tmpfs -o size=16m,mode=0700 tmpfs \"$1\" && shift && exec \"$@\"", "sh", disk,
        ])
        try await fixture.waitUntilRunning()
        let fileSystem = try fixture.inDaemonNamespace("stat", ["-f", "-c", "%T", disk])
        #expect(fileSystem.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "tmpfs", "\(fileSystem)")

        var snapshots: [String] = []
        for _ in 0..<3 { snapshots.append(try fixture.seed(["create-snapshot"])) }
        try await fixture.emulator.setSnapshotStates(
            Dictionary(uniqueKeysWithValues: snapshots.map { ($0, "pending") }))
        let keys = try Self.trackKeys(
            fixture, count: 3, name: "full", extra: { ["--snapshot", snapshots[$0]] },
            cli: fixture.cliInDaemonNamespace)
        func state(_ importID: String) throws -> String {
            let document = try parseJSON(try fixture.cliInDaemonNamespace(["show", importID, "--json"]).stdout)
            return (document["transfer"] as? [String: Any])?["state"] as? String ?? "?"
        }

        let fill = try fixture.inDaemonNamespace("dd", ["if=/dev/zero", "of=\(disk)/filler", "bs=64k"])
        #expect(fill.stderr.contains("No space left"), "\(fill)")
        let paused = try await fixture.eventually(timeout: 60) {
            fixture.logs().contains("the database cannot take writes") && fixture.logs().contains("is full")
        }
        #expect(paused, "\(fixture.logs())")
        let status = try fixture.cliInDaemonNamespace(["status", "--json"])
        #expect(status.exitCode == 1, "\(status)")
        let problems = try parseJSON(status.stdout)["problems"] as? [String] ?? []
        #expect(problems.contains { $0.contains("is full") && $0.contains(database) }, "\(problems)")
        let text = try fixture.cliInDaemonNamespace(["status"])
        #expect(text.stdout.contains("is full"), "\(text)")

        // The imports end while the disk is full: the paused daemon claims nothing (a few ticks, poll_interval 1 s).
        let before = try await fixture.emulator.counts()
        try await fixture.emulator.setSnapshotStates(
            Dictionary(uniqueKeysWithValues: snapshots.map { ($0, "completed") }))
        try await Task.sleep(for: .seconds(4))
        let during = try await fixture.emulator.counts()
        #expect(during == before, "no AWS call while paused: \(before) → \(during)")
        for key in keys { #expect(try state(key.importID) == "active") }

        try fixture.inDaemonNamespace("rm", ["-f", "\(disk)/filler"])
        let resumed = try await fixture.eventually(timeout: 60) { fixture.logs().contains("work resumed") }
        #expect(resumed, "\(fixture.logs())")
        let cleaned = try await fixture.eventually(timeout: 90) {
            try keys.allSatisfy { try state($0.importID) == "cleaned" }
        }
        #expect(cleaned, "\(fixture.logs())")
        let after = try fixture.cliInDaemonNamespace(["status", "--json"])
        #expect(after.exitCode == 0, "\(after)")
        #expect((try parseJSON(after.stdout)["daemon"] as? [String: Any])?["paused_reason"] is NSNull, "\(after)")
        for key in keys {
            let kinds =
                (try parseJSON(try fixture.cliInDaemonNamespace(["show", key.importID, "--json"]).stdout)[
                    "events"] as? [[String: Any]] ?? []).compactMap { $0["kind"] as? String }
            #expect(kinds.filter { $0 == "import_ended" }.count == 1, "\(kinds)")
            #expect(kinds.filter { $0 == "key_scheduled" }.count == 1, "\(kinds)")
        }
        let integrity = try fixture.inDaemonNamespace("sqlite3", [database, "PRAGMA integrity_check"])
        #expect(integrity.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "ok", "\(integrity)")
        #expect(try fixture.cliInDaemonNamespace(["audit", "verify"]).exitCode == 0)
        let contradicted = try fixture.rowsContradictedByAWS(cli: fixture.cliInDaemonNamespace)
        #expect(contradicted.isEmpty, "every row true to AWS: \(contradicted)")
        // The namespace, its tmpfs and the database go with the daemon.
        #expect(try await fixture.stop() == 0)
        try await Self.expectCleanedOnce(fixture, keys, checkRows: false)
    }

    // MARK: - 6. The wall clock jumps

    @Test(
        "the wall clock jumps a day forward, then back: no lease expires on the jump alone (AWS's clock decides), polls and scans keep their pace (no burst, no stall)"
    )
    func wallClockJumps() async throws {
        // --max-age 7d below: the lease may not exceed max_transfer_age.
        let fixture = try await DaemonFixture.isolated(extraConfig: "max_transfer_age = \"7d\"")
        defer {
            fixture.remove()
            fixture.emulator.stop()
        }
        let snapshotA = try fixture.seed(["create-snapshot"])
        let snapshotB = try fixture.seed(["create-snapshot"])
        try await fixture.emulator.setSnapshotStates([snapshotA: "pending", snapshotB: "pending"])
        let leased = try Self.trackKeys(fixture, count: 1, name: "lease") { _ in
            ["--snapshot", snapshotA, "--max-age", "12h"]
        }[0]
        let polledKey = try Self.trackKeys(fixture, count: 1, name: "poll") { _ in
            ["--snapshot", snapshotB, "--max-age", "7d"]
        }[0]

        // The daemon's wall clock is offset by the seconds in this file (its WallClock test hook), read anew
        // while it runs; its monotonic clock runs on untouched, as when NTP or an operator steps the clock.
        let timeFile = fixture.folder.path("clock-offset")
        try "0\n".write(toFile: timeFile, atomically: true, encoding: .utf8)
        try fixture.start(environment: ["TRANSFERKEYD_CLOCK_OFFSET_FILE": timeFile])
        try await fixture.waitUntilRunning()
        let polls = { try await fixture.emulator.counts()["ec2.DescribeSnapshots"] ?? 0 }
        #expect(try await fixture.eventuallyAsync(timeout: 30) { try await polls() >= 2 }, "polling before the jump")

        // A day forward: by the host's clock the 12 h lease is long over; by AWS's (the emulator's Date header)
        // it is not. The daemon notices the jump and keeps the lease.
        let jumped = ContinuousClock.now
        let pollsAtJump = try await polls()
        try "86400\n".write(toFile: timeFile, atomically: true, encoding: .utf8)
        let held = try await fixture.eventually(timeout: 60) {
            fixture.logs().contains("the host's clock is ahead of AWS's")
        }
        #expect(held, "\(fixture.logs())")
        #expect(fixture.logs().contains("the wall clock jumped"), "\(fixture.logs())")
        #expect(try fixture.state(leased.importID) == "active", "no lease expires on a clock jump alone")
        #expect(try fixture.state(polledKey.importID) == "active", "a 7-day lease is not over after one day")
        #expect(try fixture.transfer(leased.importID).eventKinds.contains("deferred"))
        // Polls keep their pace (poll_interval 1 s): no burst of catch-up polls for the day that "passed".
        let elapsed = Int((ContinuousClock.now - jumped).components.seconds)
        let pollsSinceJump = try await polls() - pollsAtJump
        #expect(pollsSinceJump <= elapsed + 2, "\(pollsSinceJump) polls in \(elapsed) s")
        // scan_interval is 10 min: the start-up scan is still the only one.
        #expect(fixture.logCount("orphan scan of one account × region done") == 1, "\(fixture.logs())")

        // A day back (the clock corrected): polling must not stall until the wall clock catches up.
        try "0\n".write(toFile: timeFile, atomically: true, encoding: .utf8)
        try await Task.sleep(for: .seconds(2))
        try await fixture.emulator.setSnapshotStates([snapshotB: "completed"])
        let completed = try await fixture.eventually(timeout: 60) {
            try fixture.state(polledKey.importID) == "cleaned"
        }
        #expect(completed, "\(fixture.logs())")
        #expect(try fixture.transfer(polledKey.importID).transfer["completion"] as? String == "succeeded")
        #expect(fixture.logCount("orphan scan of one account × region done") == 1, "\(fixture.logs())")
        // The held lease's import ends the usual way.
        #expect(try fixture.cli(["complete", leased.importID]).exitCode == 0)
        #expect(try await fixture.eventually(timeout: 30) { try fixture.state(leased.importID) == "cleaned" })
        #expect(try await fixture.stop() == 0)
        try await Self.expectCleanedOnce(fixture, [leased, polledKey])
        #expect(try fixture.cli(["audit", "verify"]).exitCode == 0)
    }
}

extension ISO8601DateFormatter {
    /// ISO-8601 with milliseconds, as the ledger writes.
    fileprivate static var withFraction: ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }
}
