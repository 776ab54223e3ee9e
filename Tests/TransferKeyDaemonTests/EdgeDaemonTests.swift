import Foundation
import GRDB
import Logging
import ServiceLifecycle
import Testing
import TransferKeyAWS
import TransferKeyStore
import TransferKeyTestSupport

@testable import TransferKeyDaemon

/// Records every watchdog ping with its instant.
final class RecordingNotifier: ServiceNotifier, @unchecked Sendable {
    private let lock = NSLock()
    private var pings: [ContinuousClock.Instant] = []
    let watchdogInterval: Duration?

    init(watchdogInterval: Duration) { self.watchdogInterval = watchdogInterval }

    func ready() {}
    func status(_ text: String) {}
    func stopping() {}
    func watchdog() { lock.withLock { pings.append(.now) } }

    func pings(between start: ContinuousClock.Instant, and end: ContinuousClock.Instant) -> Int {
        lock.withLock { pings.filter { $0 >= start && $0 <= end }.count }
    }
}

@Suite("Watchdog fed by progress inside a cycle")
struct WatchdogFeederTests {
    static let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    @Test("the feeder pings only while the latest progress is within its bound")
    func bound() {
        let now = ContinuousClock.now
        let recent = WatchdogFeeder(bound: .seconds(60), progress: { [nil, now.advanced(by: .seconds(-30))] })
        let stale = WatchdogFeeder(bound: .seconds(60), progress: { [now.advanced(by: .seconds(-61)), nil] })
        #expect(recent.isAlive(at: now))
        #expect(!stale.isAlive(at: now))
        #expect(!WatchdogFeeder(bound: .seconds(60), progress: { [nil] }).isAlive(at: now))
    }

    /// Runs a work loop whose first scan lasts `scanTime`, marking progress every 40 ms when `progressing`;
    /// returns the pings seen during the second half of that scan (timed from the scan itself, so a slow start
    /// on a loaded machine does not matter).
    func pingsDuringLongScan(progressing: Bool, wholeScan: Bool = false) async throws -> Int {
        let store = TransferStore(try AppDatabase(DatabaseQueue()))
        let mark = ProgressMark()
        let scanStarted = ProgressMark()
        let scanEnded = ProgressMark()
        let scanTime = Duration.seconds(3)
        let notifier = RecordingNotifier(watchdogInterval: .milliseconds(40))
        var loop = WorkLoop(
            store: store,
            worker: TransferWorker(
                store: store, cloud: FakeCloud(aws: FakeAWS()), settings: CleanupSettings(config: .init()),
                logger: Self.logger),
            settings: CleanupSettings(config: .init()), poll: {},
            scan: {
                guard scanStarted.last == nil else { return }
                scanStarted.mark()
                let end = ContinuousClock.now + scanTime
                // The AWS attempts' progress comes from their own threads (the HTTP client's event loop), not the
                // cooperative pool that the rest of the test suite may keep busy for seconds.
                if progressing {
                    Thread.detachNewThread {
                        while scanEnded.last == nil {
                            mark.mark()
                            Thread.sleep(forTimeInterval: 0.04)
                        }
                    }
                }
                // A progressing scan lasts until the feeder pinged three times during it (or a minute): on a pool that
                // the rest of the suite keeps busy, a fixed window may see the feeder's task get no turn at all.
                let giveUp = ContinuousClock.now + .seconds(60)
                while progressing
                    ? notifier.pings(between: scanStarted.last ?? end, and: .now) < 3 && ContinuousClock.now < giveUp
                    : ContinuousClock.now < end
                {
                    try? await Task.sleep(for: .milliseconds(40))
                }
                scanEnded.mark()
            }, notifier: notifier, timing: WorkLoop.Timing(tick: .milliseconds(50), pollInterval: 60, scanInterval: 60),
            logger: Self.logger)
        let turns = loop.turns
        loop.watchdogFeeder = WatchdogFeeder(bound: .seconds(1), progress: { [mark.last, turns.last] })
        let group = ServiceGroup(
            configuration: .init(services: [.init(service: loop)], logger: Self.logger))
        let running = Task { try await group.run() }
        let deadline = ContinuousClock.now + .seconds(120)
        while scanEnded.last == nil, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        await group.triggerGracefulShutdown()
        try await running.value
        let started = try #require(scanStarted.last)
        let ended = try #require(scanEnded.last)
        return notifier.pings(between: wholeScan ? started : started + (ended - started) / 2, and: ended)
    }

    @Test("a cycle that makes progress (AWS attempts ending) for many watchdog periods keeps the watchdog fed")
    func fedThroughLongCycle() async throws {
        // Inside a cycle the loop itself never pings (see the hung case: 0); every ping during the scan is the
        // feeder's. The scan ends after three of them, or after a minute without them (then this fails).
        #expect(try await pingsDuringLongScan(progressing: true, wholeScan: true) >= 3)
    }

    @Test("a cycle that hangs without progress stops the pings, so systemd restarts the daemon")
    func hungCycleStarves() async throws {
        #expect(try await pingsDuringLongScan(progressing: false) == 0)
    }

    @Test("every AWS attempt counts as progress")
    func awsAttemptsAreProgress() {
        let calls = AWSCallMetrics()
        #expect(calls.lastActivity == nil)
        calls.record(service: "kms", operation: "ListAliases", errorCode: "RequestTimeout")
        #expect(calls.lastActivity.map { ContinuousClock.now - $0 < .seconds(5) } == true)
    }
}

@Suite("Metrics file safety")
struct MetricsSafetyTests {
    @Test("a forged error code cannot inject a line, and label values are bounded")
    func injection() throws {
        var exposition = PrometheusExposition()
        exposition.add(
            "test_total", help: "Help\r\nfake 1", kind: .counter,
            samples: [.init([("code", "Boom\r\ninjected_metric 42")], 1), .init([("code", "a\u{2028}b\rc")], 2)])
        let lines = exposition.text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 5, "HELP, TYPE, two samples and the final empty split: \(lines)")
        #expect(!exposition.text.unicodeScalars.contains("\r"))
        #expect(!lines.contains { $0.hasPrefix("injected_metric") || $0.hasPrefix("fake") })
        #expect(exposition.text.contains(#"code="Boom?\ninjected_metric 42""#))

        #expect(AWSCallMetrics.boundedCode("ThrottlingException") == "ThrottlingException")
        #expect(AWSCallMetrics.boundedCode("InvalidSnapshot.NotFound") == "InvalidSnapshot.NotFound")
        #expect(AWSCallMetrics.boundedCode("Boom\r\ninjected_metric 42") == "other")
        #expect(AWSCallMetrics.boundedCode(String(repeating: "A", count: 65)) == "other")
        #expect(AWSCallMetrics.boundedCode("") == "other")
        let calls = AWSCallMetrics()
        calls.record(service: "kms", operation: "ListAliases", errorCode: "Boom\r\ninjected_metric 42")
        #expect(calls.snapshot.errors.values.first == ["other": 1])
    }

    @Test("a symlink planted at the old temporary name is neither followed nor re-moded")
    func plantedSymlink() throws {
        let folder = try TemporaryDirectory(prefix: "transferkeyd-metrics")
        defer { folder.remove() }
        let secret = folder.path("secret")
        try "do not touch".write(toFile: secret, atomically: true, encoding: .utf8)
        chmod(secret, 0o600)
        let path = folder.path("transferkeyd.prom")
        // The name the writer used to pick: `.NAME.PID.tmp`.
        try FileManager.default.createSymbolicLink(
            atPath: folder.path(".transferkeyd.prom.\(getpid()).tmp"), withDestinationPath: secret)
        try MetricsReporter.replace(path: path, with: "up 1\n")
        #expect(try String(contentsOfFile: secret, encoding: .utf8) == "do not touch")
        #expect(try FileManager.default.attributesOfItem(atPath: secret)[.posixPermissions] as? Int == 0o600)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "up 1\n")
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int == 0o644)
        let left = try FileManager.default.contentsOfDirectory(atPath: folder.url.path).sorted()
        #expect(left == [".transferkeyd.prom.\(getpid()).tmp", "secret", "transferkeyd.prom"])
    }
}

@Suite("Process hardening")
struct ProcessHardeningTests {
    @Test("run's first step: no core dumps (RLIMIT_CORE 0) and not dumpable")
    func coreDumpsOff() {
        #expect(ProcessHardening.disableCoreDumps().isEmpty)
        var limit = rlimit()
        #if canImport(Glibc)
            getrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &limit)
        #else
            getrlimit(RLIMIT_CORE, &limit)
        #endif
        #expect(limit.rlim_cur == 0)
        #if os(Linux)
            #expect(ProcessHardening.isDumpable == false)
        #endif
    }
}
