import Foundation
import Testing
import TransferKeyTestSupport

/// Issue 12, item 9: the daemon keeps its watchdog fed through an AWS outage far longer than the watchdog
/// period, and cannot dump core.
@Suite("Daemon watchdog through a blackholed endpoint", .serialized)
struct WatchdogOutageTests {
    /// The daemon's config against `emulator`: 3 attempts of `requestTimeout` each, one scan (at the start) in the
    /// test's time, a poll every second.
    static func writeConfig(
        _ fixture: DaemonFixture, emulator: Emulator, requestTimeout: String, regions: [String]
    ) throws {
        try CLIFixture.write(
            """
            database = "\(fixture.databasePath)"
            poll_interval = "1s"
            scan_interval = "10m"

            [aws]
            endpoint_url = "\(emulator.endpoint)"
            max_attempts = 3
            request_timeout = "\(requestTimeout)"

            [[accounts]]
            id = "\(DaemonFixture.account)"
            regions = [\(regions.map { "\"\($0)\"" }.joined(separator: ", "))]
            """, to: fixture.configPath)
    }

    @Test("WatchdogSec=1s, every AWS answer 2.5 s late (request_timeout 2s): pings never pause for a period")
    func fedThroughOutage() async throws {
        let emulator = try await Emulator.start()
        defer { emulator.stop() }
        let fixture = try await DaemonFixture(emulator: emulator)
        defer { fixture.remove() }
        try Self.writeConfig(
            fixture, emulator: emulator, requestTimeout: "2s", regions: ["us-east-1", "eu-west-1", "eu-central-1"])
        // Blackholed: every call outlives its attempt's deadline, so each costs 3 timeouts plus backoff, and the
        // first scan (its regions run side by side) lasts about 6.5 s: six watchdog periods without a turn of the loop.
        _ = try await emulator.addRule(.init(action: .latency, operation: nil, delayMilliseconds: 2_500))
        let listener = try DatagramListener(path: fixture.folder.path("notify.sock"))
        try fixture.start(environment: ["NOTIFY_SOCKET": listener.notifySocket, "WATCHDOG_USEC": "1000000"])
        var pings: [ContinuousClock.Instant] = []
        var ready: ContinuousClock.Instant?
        let end = ContinuousClock.now + .seconds(14)
        while ContinuousClock.now < end {
            guard let message = listener.receive(timeout: 0.2) else { continue }
            if message == "READY=1" { ready = .now }
            if message == "WATCHDOG=1", ready != nil { pings.append(.now) }
        }
        let pid = try #require(fixture.pid)
        #expect(fixture.isRunning, "the daemon stayed up: \(fixture.logs())")
        let limits = try String(contentsOfFile: "/proc/\(pid)/limits", encoding: .utf8)
        let coreLine = limits.split(separator: "\n").first { $0.hasPrefix("Max core file size") } ?? ""
        #expect(
            coreLine.split(separator: " ", omittingEmptySubsequences: true).dropFirst(4).first == "0", "\(coreLine)")
        let timeouts = try await emulator.requestLog().count
        #expect(timeouts >= 9, "the endpoint was really blackholed for many periods: \(timeouts) requests")
        // From READY on: the first ping is due within a period too.
        let fed = [try #require(ready)] + pings
        let gaps = zip(fed.dropFirst(), fed).map { $0 - $1 }
        #expect(pings.count >= 15, "\(pings.count) pings")
        #expect(gaps.allSatisfy { $0 < .milliseconds(900) }, "longest gap \(gaps.max() ?? .zero)")
        #expect(try await fixture.stop() == 0)
    }

    @Test(
        "SIGTERM during a scan through an outage: the daemon stops within the unit's TimeoutStopSec, and the cut scan records nothing"
    )
    func stopsMidScan() async throws {
        let emulator = try await Emulator.start()
        defer { emulator.stop() }
        let fixture = try await DaemonFixture(emulator: emulator)
        defer { fixture.remove() }
        try Self.writeConfig(fixture, emulator: emulator, requestTimeout: "20s", regions: ["us-east-1", "eu-west-1"])
        // Every answer 30 s late: each region's ListAliases waits out three 20 s attempts, a minute of scan at least.
        _ = try await emulator.addRule(.init(action: .latency, operation: nil, delayMilliseconds: 30_000))
        try fixture.start()
        try await fixture.waitUntilRunning()
        // The scan starts with the services; its first calls wait for their answers (the emulator logs a request
        // when it answers, so the log line below is what shows the scan was cut).
        try await Task.sleep(for: .seconds(3))
        // Stopped within TimeoutStopSec (15 s, `stop()`'s bound), not after the scan's minute.
        #expect(try await fixture.stop() == 0, "\(fixture.logs())")
        let scans = try DaemonFixture.runTool("sqlite3", [fixture.databasePath, "SELECT count(*) FROM scans"])
        #expect(scans.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "no scan recorded: \(scans)")
        #expect(fixture.logs().contains("orphan scan cut short by a stop"))
    }
}
