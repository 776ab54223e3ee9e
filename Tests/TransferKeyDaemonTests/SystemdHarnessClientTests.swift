import Foundation
import Testing
import TransferKeyDaemon

/// Runs only inside `scripts/systemd-harness.sh`, which starts this test bundle as the main
/// process of a unit made from systemd/transferkeyd.service (every hardening line kept).
@Suite("sd_notify under a real systemd")
struct SystemdHarnessClientTests {
    static let isUnderHarness = ProcessInfo.processInfo.environment["TRANSFERKEYD_SYSTEMD_HARNESS"] == "1"

    @Test(
        "the notifier is heard by systemd from inside the hardened unit",
        .enabled(if: isUnderHarness, "only under scripts/systemd-harness.sh"))
    func reportsToSystemd() async throws {
        // Given the environment systemd gives the unit (WatchdogSec=60)
        let environment = ProcessInfo.processInfo.environment
        let notifier = SystemdNotifier(environment: environment)
        #expect(notifier.isEnabled)
        #expect(notifier.watchdogInterval == .seconds(30))
        let stopFile = try #require(environment["STATE_DIRECTORY"]) + "/harness-stop"

        // When it reports readiness and pings until the harness says stop
        notifier.ready()
        notifier.status("swift notifier ready")
        let deadline = ContinuousClock.now + .seconds(20)
        while !FileManager.default.fileExists(atPath: stopFile), ContinuousClock.now < deadline {
            notifier.watchdog()
            try await Task.sleep(for: .milliseconds(100))
        }
        notifier.stopping()

        // Then nothing failed on the way (the harness checks what systemd saw)
        #expect(FileManager.default.fileExists(atPath: stopFile))
        #expect(notifier.failureCount == 0)
    }
}
