import Foundation
import GRDB
import Logging
import ServiceLifecycle
import Synchronization
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

@Suite("Services side by side, and the watchdog fed by every service's progress")
struct WatchdogFeederTests {
    static let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    @Test("the feeder pings only while every service's latest progress is within its bound")
    func bound() {
        let now = ContinuousClock.now
        let recent = now.advanced(by: .seconds(-30))
        #expect(WatchdogFeeder(bound: .seconds(60), progress: { [recent, now] }).isAlive(at: now))
        #expect(
            !WatchdogFeeder(bound: .seconds(60), progress: { [recent, now.advanced(by: .seconds(-61))] }).isAlive(
                at: now), "one stale service is enough")
        #expect(!WatchdogFeeder(bound: .seconds(60), progress: { [recent, nil] }).isAlive(at: now))
    }

    /// The cleanup loop over `store` and `aws`, a scan job, and the watchdog service fed over both with a 1 s
    /// bound, run in one service group until `scan` returns (or two minutes); returns the notifier.
    func runServices(
        store: TransferStore, aws: FakeAWS, feedingOnScanAlone: Bool = false,
        scan: @escaping @Sendable (RecordingNotifier) async -> Void
    ) async throws -> RecordingNotifier {
        let notifier = RecordingNotifier(watchdogInterval: .milliseconds(40))
        let settings = CleanupSettings(aliasPrefix: "alias/CadoResponse-KMS-Alias", pendingWindowDays: 7)
        let now = DueWorkLanesTests.start.addingTimeInterval(1)
        let gate = WorkGate()
        let loop = WorkLoop(
            store: store,
            worker: TransferWorker(
                store: store, cloud: FakeCloud(aws: aws), settings: settings, logger: Self.logger, clock: { now }),
            settings: settings, notifier: notifier, timing: WorkLoop.Timing(tick: .milliseconds(50)),
            logger: Self.logger, gate: gate, clock: { now })
        let scanned = ProgressMark()
        let scanJob = PeriodicJob(name: "scan", interval: .seconds(600), tick: .milliseconds(50), gate: gate) {
            await scan(notifier)
            scanned.mark()
            return true
        }
        let watchdog = WatchdogService(
            feeder: WatchdogFeeder(
                bound: .seconds(1), marks: feedingOnScanAlone ? [scanJob.progress] : [loop.progress, scanJob.progress]),
            notifier: notifier)
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: loop), .init(service: scanJob), .init(service: watchdog)],
                logger: Self.logger))
        let running = Task { try await group.run() }
        let deadline = ContinuousClock.now + .seconds(120)
        while scanned.last == nil, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        await group.triggerGracefulShutdown()
        try await running.value
        return notifier
    }

    @Test("a scan that makes progress (AWS attempts ending) for many watchdog periods keeps the watchdog fed")
    func fedThroughLongScan() async throws {
        let window = Window()
        // Fed from the scan's progress alone: the loop's turns come from a cooperative pool that the rest of the
        // suite may keep busy for longer than the 1 s bound (that all services count is `bound()`'s and the hung
        // scan's test).
        _ = try await runServices(
            store: TransferStore(try AppDatabase(DatabaseQueue())), aws: FakeAWS(), feedingOnScanAlone: true
        ) { notifier in
            // The job's mark is the task's current one: an AWS attempt ending inside it marks it. Here a thread marks
            // it, as attempts end on the HTTP client's event loop, not on a cooperative pool the suite may keep busy.
            guard let mark = ProgressMark.current else { return }
            let started = ContinuousClock.now
            window.begin(started)
            let ended = ProgressMark()
            Thread.detachNewThread {
                while ended.last == nil {
                    mark.mark()
                    Thread.sleep(forTimeInterval: 0.04)
                }
            }
            // Lasts until the feeder pinged three times during it (or a minute): far longer than the 1 s bound.
            let giveUp = started + .seconds(60)
            while notifier.pings(between: started, and: .now) < 3 || ContinuousClock.now - started < .seconds(2),
                ContinuousClock.now < giveUp
            {
                try? await Task.sleep(for: .milliseconds(40))
            }
            ended.mark()
            window.pings = notifier.pings(between: started, and: .now)
            window.end(.now)
        }
        let (started, ended) = try #require(window.span)
        #expect(ended - started >= .seconds(2), "the scan outlived the bound")
        #expect(window.pings >= 3)
    }

    @Test("a scan that hangs without progress stops the pings (the cleanup loop alone is not enough)")
    func hungScanStarves() async throws {
        let window = Window()
        let notifier = try await runServices(store: TransferStore(try AppDatabase(DatabaseQueue())), aws: FakeAWS()) {
            _ in
            window.begin(.now)
            try? await Task.sleep(for: .seconds(3))
            window.end(.now)
        }
        let (started, ended) = try #require(window.span)
        #expect(notifier.pings(between: started + .milliseconds(1500), and: ended) == 0)
    }

    @Test("a scan that hangs delays no cleanup: due transfers are cleaned while it runs")
    func slowScanDelaysNoCleanup() async throws {
        let (store, aws) = try await DueWorkLanesTests.seeded()
        let window = Window()
        _ = try await runServices(store: store, aws: aws) { _ in
            window.begin(.now)
            // A scan stuck on an outage: it ends once the cleanup is done, or after a minute (then this fails).
            let giveUp = ContinuousClock.now + .seconds(60)
            while (try? store.countsByState()[.cleaned]) != 15, ContinuousClock.now < giveUp {
                try? await Task.sleep(for: .milliseconds(20))
            }
            window.cleanedDuringScan = (try? store.countsByState()[.cleaned]) == 15
            window.end(.now)
        }
        #expect(window.cleanedDuringScan)
        #expect(await aws.calls("ScheduleKeyDeletion").count == 15)
    }

    @Test("a periodic job waits while its gate is closed, and runs once it opens")
    func gateHoldsJobs() async throws {
        let gate = WorkGate()
        let runs = ProgressMark()
        let job = PeriodicJob(name: "poll", interval: .seconds(600), tick: .milliseconds(10), gate: gate) {
            runs.mark()
            return true
        }
        let group = ServiceGroup(configuration: .init(services: [.init(service: job)], logger: Self.logger))
        let running = Task { try await group.run() }
        // A few of its turns while closed (on a busy machine the first may come late).
        let turning = ContinuousClock.now + .seconds(30)
        while job.progress.last == nil, ContinuousClock.now < turning { try await Task.sleep(for: .milliseconds(10)) }
        try await Task.sleep(for: .milliseconds(100))
        #expect(job.progress.last != nil, "its turns go on")
        #expect(runs.last == nil, "closed: never ran")
        gate.open()
        // Within a few ticks; a suite that keeps the cooperative pool busy may delay it (up to two minutes).
        let deadline = ContinuousClock.now + .seconds(120)
        while runs.last == nil, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(runs.last != nil)
        #expect(gate.wakes == 1, "a finished run wakes the cleanup loop")
    }

    @Test("a job that changed nothing does not wake the cleanup loop (the create settler runs every tick)")
    func quietJobWakesNothing() async throws {
        let gate = WorkGate(open: true)
        let runs = ProgressMark()
        let job = PeriodicJob(name: "create settler", interval: .seconds(600), tick: .milliseconds(10), gate: gate) {
            runs.mark()
            return false
        }
        let group = ServiceGroup(configuration: .init(services: [.init(service: job)], logger: Self.logger))
        let running = Task { try await group.run() }
        let deadline = ContinuousClock.now + .seconds(120)
        while runs.last == nil, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(runs.last != nil)
        #expect(gate.wakes == 0)
    }

    @Test("every AWS attempt counts as progress, for the metrics and for the task's service")
    func awsAttemptsAreProgress() {
        let calls = AWSCallMetrics()
        #expect(calls.lastActivity == nil)
        let mark = ProgressMark()
        ProgressMark.$current.withValue(mark) {
            calls.record(service: "kms", operation: "ListAliases", errorCode: "RequestTimeout")
        }
        #expect(calls.lastActivity.map { ContinuousClock.now - $0 < .seconds(5) } == true)
        #expect(mark.last.map { ContinuousClock.now - $0 < .seconds(5) } == true)
    }
}

/// What a test's scan saw: when it ran, and facts it checked while running.
final class Window: Sendable {
    private struct Seen {
        var started: ContinuousClock.Instant?
        var ended: ContinuousClock.Instant?
        var cleaned = false
        var pings = 0
    }

    private let seen = Mutex(Seen())

    func begin(_ instant: ContinuousClock.Instant) { seen.withLock { $0.started = instant } }
    func end(_ instant: ContinuousClock.Instant) { seen.withLock { $0.ended = instant } }
    var span: (ContinuousClock.Instant, ContinuousClock.Instant)? {
        seen.withLock { seen in seen.started.flatMap { start in seen.ended.map { (start, $0) } } }
    }
    var cleanedDuringScan: Bool {
        get { seen.withLock { $0.cleaned } }
        set { seen.withLock { $0.cleaned = newValue } }
    }
    var pings: Int {
        get { seen.withLock { $0.pings } }
        set { seen.withLock { $0.pings = newValue } }
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
