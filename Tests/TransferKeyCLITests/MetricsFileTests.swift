import Foundation
import Testing
import TransferKeyTestSupport

/// `metrics_file`: the daemon, as a real subprocess against its own emulator, keeps the file current.
@Suite("metrics_file written by the daemon", .serialized)
struct MetricsFileTests {
    private func lines(_ path: String) -> Set<String> {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return Set(text.split(separator: "\n").map(String.init))
    }

    @Test("counts follow the transfers' states, a throttled ListAliases shows in the throttled counter, up 0 at stop")
    func daemonWritesMetrics() async throws {
        // A relative path: resolved against the config file's folder, like `database`.
        let fixture = try await DaemonFixture.isolated(extraConfig: "metrics_file = \"transferkeyd.prom\"")
        defer {
            fixture.remove()
            fixture.emulator.stop()
        }
        let path = fixture.folder.path("transferkeyd.prom")
        let first = try fixture.createKey(aliases: [fixture.alias("m1")])
        let second = try fixture.createKey(aliases: [fixture.alias("m2")])
        #expect(try fixture.track("m1", keyID: first, alias: fixture.alias("m1")).exitCode == 0)
        #expect(try fixture.track("m2", keyID: second, alias: fixture.alias("m2")).exitCode == 0)
        // The first scan's ListAliases is throttled twice, then answered (max_attempts = 3).
        try await fixture.emulator.addRule(.error("ThrottlingException", on: "ListAliases", count: 2))

        try fixture.start()
        let throttled = "transferkeyd_aws_throttled_total{service=\"kms\",operation=\"ListAliases\"} 2"
        let bothActive = try await fixture.eventually(timeout: 90) {
            let current = lines(path)
            return current.contains(throttled) && current.contains("transferkeyd_transfers{state=\"active\"} 2")
        }
        #expect(bothActive, "\(lines(path).sorted())\n\(fixture.logs())")
        let current = lines(path)
        #expect(current.contains("# TYPE transferkeyd_transfers gauge"))
        #expect(current.contains("transferkeyd_transfers{state=\"stuck\"} 0"))
        #expect(current.contains("transferkeyd_up 1"))
        #expect(current.contains { $0.hasPrefix("transferkeyd_last_successful_scan_timestamp_seconds{account=\"") })
        #expect(
            current.contains(
                "transferkeyd_aws_errors_total{service=\"kms\",operation=\"ListAliases\",code=\"ThrottlingException\"} 2"
            ))
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o644)

        // One import ends: the next cycles show it cleaned and one still active.
        #expect(try fixture.cli(["complete", "m1"]).exitCode == 0)
        let moved = try await fixture.eventually(timeout: 90) {
            let current = lines(path)
            return current.contains("transferkeyd_transfers{state=\"cleaned\"} 1")
                && current.contains("transferkeyd_transfers{state=\"active\"} 1")
        }
        #expect(moved, "\(lines(path).sorted())\n\(fixture.logs())")
        #expect(
            lines(path).contains {
                $0.hasPrefix("transferkeyd_aws_calls_total{service=\"kms\",operation=\"ScheduleKeyDeletion\"} ")
            })

        #expect(try await fixture.stop() == 0)
        #expect(lines(path).contains("transferkeyd_up 0"))
        // No temporary file is left beside it.
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: fixture.folder.path("."))
            .filter { $0.hasSuffix(".tmp") }
        #expect(leftovers.isEmpty, "\(leftovers)")
    }
}
