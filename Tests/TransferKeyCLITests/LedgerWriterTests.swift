import Foundation
import Testing
import TransferKeyTestSupport

/// "The ledger as evidence", one writer: a second `transferkeyd run` on the same database is refused, naming the first.
@Suite("The ledger has one daemon", .serialized)
struct LedgerWriterTests {
    @Test(
        "a second run on the same database exits 1 naming the first one's pid and host; once the first stops, it starts"
    )
    func oneDaemonPerDatabase() async throws {
        let fixture = try await DaemonFixture()
        defer { fixture.remove() }
        try fixture.start()
        try await fixture.waitUntilRunning()
        let first = try #require(fixture.pid)

        // With a time limit: were the lock not taken, this second daemon would run on.
        var environment = ProcessInfo.processInfo.environment.merging(DaemonFixture.awsEnvironment) { $1 }
        for key in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM", "TRANSFERKEYD_CONFIG"] {
            environment.removeValue(forKey: key)
        }
        let second = try CommandRunner.runProgram(
            URL(fileURLWithPath: try CommandRunner.binaryPath()), ["run", "--config", fixture.configPath],
            environment: environment, timeout: 30)
        #expect(second.exitCode == 1, "\(second)")
        let host = ProcessInfo.processInfo.hostName
        #expect(second.stderr.contains("another transferkeyd run (pid \(first) on host \(host))"), "\(second.stderr)")
        #expect(fixture.isRunning, "the first daemon goes on")
        let lock = try String(contentsOfFile: fixture.databasePath + ".lock", encoding: .utf8)
        #expect(lock.trimmingCharacters(in: .whitespacesAndNewlines) == "\(first) \(host)")

        // Commands write beside the daemon as before.
        let key = try fixture.createKey(aliases: [fixture.alias("beside")])
        #expect(
            try fixture.track("imp-beside-\(fixture.tag)", keyID: key, alias: fixture.alias("beside")).exitCode == 0)

        #expect(try await fixture.stop() == 0)
        // The lock went with the process: the next daemon starts.
        try fixture.start()
        try await fixture.waitUntilRunning()
        #expect(try await fixture.stop() == 0)
    }
}
