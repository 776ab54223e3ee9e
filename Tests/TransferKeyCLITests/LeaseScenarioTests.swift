import Foundation
import Testing
import TransferKeyTestSupport

/// One writer across hosts with the real parts: the lease in the emulator's DynamoDB (moto), daemons with state
/// directories of their own (three "hosts"), Litestream replicating the active's ledger to the emulator's S3.
@Suite(
    "One writer across hosts: a DynamoDB lease, a refusing second daemon, a standby that restores and takes over",
    .serialized)
struct LeaseScenarioTests {
    /// A daemon's config on its own "host": its own database and Litestream config, the shared lease and replica.
    static func hostConfig(
        _ fixture: DaemonFixture, table: String, bucket: String, standby: Bool
    ) throws -> (config: String, litestream: String) {
        let litestream = fixture.folder.path("litestream.yml")
        try """
        dbs:
          - path: \(fixture.databasePath)
            replica:
              type: s3
              bucket: \(bucket)
              path: transferkeyd
              endpoint: \(fixture.emulator.endpoint)
              region: us-east-1
              force-path-style: true
              sync-interval: 200ms
        """.write(toFile: litestream, atomically: true, encoding: .utf8)
        let config = try String(contentsOfFile: fixture.configPath, encoding: .utf8)
        try CLIFixture.write(
            config.replacingOccurrences(
                of: "[aws]",
                with: """
                    [replication]
                    litestream_config = "\(litestream)"

                    [lease]
                    dynamodb_table = "\(table)"
                    region = "us-east-1"
                    duration = "20s"
                    standby = \(standby)

                    [aws]
                    """), to: fixture.configPath)
        return (fixture.configPath, litestream)
    }

    /// `check --json`'s lease row.
    static func leaseRow(_ fixture: DaemonFixture) throws -> [String: Any]? {
        let rows = try parseJSON(fixture.cli(["check", "--json"]).stdout)["checks"] as? [[String: Any]] ?? []
        return rows.first { $0["scope"] as? String == "lease" }
    }

    @Test("check: a lease table that does not exist fails its row with the command that makes it")
    func missingTable() async throws {
        let fixture = try await DaemonFixture()
        defer { fixture.remove() }
        let config = try String(contentsOfFile: fixture.configPath, encoding: .utf8)
        try CLIFixture.write(
            config.replacingOccurrences(
                of: "[aws]", with: "[lease]\ndynamodb_table = \"no-such-table\"\nregion = \"us-east-1\"\n\n[aws]"),
            to: fixture.configPath)
        let row = try #require(try Self.leaseRow(fixture))
        #expect(row["outcome"] as? String == "failed", "\(row)")
        #expect((row["fix"] as? String ?? "").contains("aws dynamodb create-table"), "\(row)")
    }

    @Test(
        "a second daemon refuses naming the holder; a standby touches nothing while the holder lives, then restores the replica and takes over within the lease's duration; the import is finished exactly once"
    )
    func standbyTakesOver() async throws {
        let table = "lease-\(UUID().uuidString.prefix(8).lowercased())"
        let bucket = "ledger-\(UUID().uuidString.prefix(8).lowercased())"
        try await DaemonFixture.withIsolated(extraConfig: "") { active in
            _ = try active.seed(["create-bucket", bucket])
            _ = try active.seed(["create-lease-table", table])
            let activeHost = try Self.hostConfig(active, table: table, bucket: bucket, standby: false)
            let second = try await DaemonFixture(emulator: active.emulator)
            let standby = try await DaemonFixture(emulator: active.emulator)
            defer {
                second.remove()
                standby.remove()
            }
            _ = try Self.hostConfig(second, table: table, bucket: bucket, standby: false)
            let standbyHost = try Self.hostConfig(standby, table: table, bucket: bucket, standby: true)

            // A live import on the active host, its alias older than any orphan grace.
            let alias = active.alias("live")
            let key = try active.createKey(aliases: [alias])
            try await active.emulator.setAliasDates(alias, created: Date().timeIntervalSince1970 - 7 * 3600)
            let importID = "imp-live-\(active.tag)"
            #expect(try active.track(importID, keyID: key, alias: alias).exitCode == 0)
            #expect(
                try Self.leaseRow(active)?["detail"] as? String ?? ""
                    == "table \(table), item transferkeyd: free (no daemon holds it)")
            let sidecar = try ReplicationScenarioTests.Sidecar(config: activeHost.litestream)
            defer { sidecar.stop() }
            try active.start()
            try await active.waitUntilRunning(timeout: 40)
            let held = try Self.leaseRow(standby)
            #expect(held?["outcome"] as? String == "passed")
            #expect(
                (held?["detail"] as? String ?? "").contains("held by pid \(active.pid ?? 0)"),
                "\(String(describing: held))")
            try standby.start()
            let standbyStarted = Date()

            // A second, non-standby daemon on a third host sees the holder renew and refuses.
            let refused = try CommandRunner.run(
                ["run", "--config", second.configPath], environment: DaemonFixture.awsEnvironment)
            #expect(refused.exitCode == 1, "\(refused)")
            #expect(
                refused.stderr.contains("pid \(active.pid ?? 0) on \(ProcessInfo.processInfo.hostName)"),
                "names the holder: \(refused.stderr)")
            #expect(!FileManager.default.fileExists(atPath: second.databasePath), "the refused daemon made no ledger")

            // The standby waits longer than the lease's duration and touches nothing.
            try await Task.sleep(for: .seconds(max(0, 25 - Date().timeIntervalSince(standbyStarted))))
            #expect(standby.isRunning, "\(standby.logs())")
            #expect(!FileManager.default.fileExists(atPath: standby.databasePath), "a standby opens no ledger")
            #expect(standby.logs().contains("standby: the writer lease is held by another daemon"), "\(standby.logs())")
            #expect(try active.keyState(key) == "Enabled", "the live import's key is untouched")
            try await ReplicationScenarioTests.waitForReplica(active, sidecar)

            // The active host is lost: the daemon and its Litestream die.
            try await active.killNow()
            sidecar.stop()
            let lost = Date()
            let tookOver = try await standby.eventually(timeout: 45) {
                standby.logs().contains("transferkeyd started")
            }
            #expect(tookOver, "\(standby.logs())")
            let after = Date().timeIntervalSince(lost)
            #expect(after < 20 + 15, "took over \(after) s after the holder died (lease duration 20 s)")
            #expect(standby.logs().contains("restored the ledger from the replica"), "\(standby.logs())")
            #expect(try standby.state(importID) == "active", "the active's row came back with the replica")
            #expect(try standby.cli(["audit", "verify"]).exitCode == 0)

            // The import ends; the new holder cleans its key, once.
            #expect(try standby.cli(["complete", importID]).exitCode == 0)
            let cleaned = try await standby.eventually(timeout: 30) { try standby.state(importID) == "cleaned" }
            #expect(cleaned, "\(standby.logs())")
            #expect(try active.keyState(key) == "PendingDeletion")
            let schedules = try await active.emulator.requestLog().filter { $0.operation == "ScheduleKeyDeletion" }
            #expect(schedules.count == 1, "scheduled exactly once: \(schedules.count)")
            #expect(try await standby.stop() == 0)
        }
    }
}
