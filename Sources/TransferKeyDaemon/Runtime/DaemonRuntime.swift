import Foundation
import Logging
import ServiceLifecycle
import TransferKeyAWS
import TransferKeyCore
import TransferKeyStore

/// Everything the daemon and `reconcile` need, wired from a validated config: the AWS client,
/// the cleanup worker, the completion poller and the orphan scanner over one store.
public struct DaemonRuntime: Sendable {
    public let config: Config
    public let store: TransferStore
    public let aws: AWSClient
    public let cloud: any Cloud
    public let worker: TransferWorker
    public let poller: CompletionPoller
    public let scanner: OrphanScanner
    public let creator: KeyCreator
    /// The watch over keys pending deletion: an attempt to use one cancels its deletion.
    public let watch: PendingDeletionWatch
    public let settings: CleanupSettings
    /// The ownership marks of `ownership_mark_key`; nil when none is configured.
    public let marks: OwnershipMarks?
    public let logger: Logger
    /// The wall clock every part uses (`Date()`, unless the ``WallClock`` test hook is on).
    public let clock: @Sendable () -> Date
    /// Notices the wall clock jumping; the worker then ages no lease by it until AWS's clock is known.
    public let wallClockWatch = WallClockWatch()

    /// Wires the daemon; `dryRun` forces a one-off dry run whatever the config says (it changes no schedule).
    public init(
        config: Config, store: TransferStore, environment: [String: String], logger: Logger,
        dryRun: Bool = false, actor: String = "daemon"
    ) {
        var settings = CleanupSettings(config: config)
        if dryRun {
            settings.isDryRun = true
            settings.dryRunSpacesLooks = false
        }
        let aws = AWSClient(
            environment: environment, configEndpointURL: config.aws.endpointURL,
            retryPolicy: RetryPolicy(maxAttempts: config.aws.maxAttempts),
            requestTimeout: .milliseconds(Int64(config.aws.requestTimeout * 1000)), logger: logger)
        let cloud = AWSCloud(client: aws, accounts: config.accounts)
        let wallClock = WallClock(environment: environment)
        if let file = wallClock.offsetFile {
            logger.warning(
                "test hook: the wall clock is offset by the seconds in a file",
                metadata: ["variable": "\(WallClock.offsetFileVariable)", "file": "\(file)"])
        }
        let clock: @Sendable () -> Date = { wallClock.now() }
        self.clock = clock
        self.config = config
        self.store = store
        self.aws = aws
        self.cloud = cloud
        self.settings = settings
        self.logger = logger
        let marks = OwnershipMarks(markKeyARN: config.ownershipMarkKey, cloud: cloud)
        self.marks = marks
        worker = TransferWorker(
            store: store, cloud: cloud, settings: settings, logger: logger, clock: clock, actor: actor,
            wallClock: wallClockWatch, marks: marks)
        watch = PendingDeletionWatch(store: store, worker: worker, logger: logger, interval: config.scanInterval)
        poller = CompletionPoller(store: store, cloud: cloud, logger: logger, clock: clock, actor: actor)
        creator = KeyCreator(
            store: store, cloud: cloud, settings: settings, logger: logger, grace: config.createTimeout, clock: clock,
            actor: actor, createAttempts: config.aws.maxAttempts, marks: marks)
        scanner = OrphanScanner(
            store: store, cloud: cloud, settings: ScanSettings(config: config),
            accounts: config.accounts.map { ($0.id, $0.regions) }, logger: logger, clock: clock, actor: actor,
            marks: marks)
    }

    /// The cleanup loop alone (for `reconcile`'s one pass of due work).
    public func workLoop(notifier: any ServiceNotifier, tick: Duration = .seconds(1)) -> WorkLoop {
        WorkLoop(
            store: store, worker: worker, settings: settings, notifier: notifier, timing: WorkLoop.Timing(tick: tick),
            logger: logger, clock: clock, wallClock: wallClockWatch)
    }

    /// The services of `transferkeyd run`, in the order a ``ServiceGroup`` starts them (it stops them in reverse):
    /// the watchdog feeder (stopped last), the cleanup loop (which records the daemon's start and stop, after the
    /// jobs stopped), the orphan scan, the snapshot poll and the create settler. `metricsPath` (the resolved `metrics_file`)
    /// gets the Prometheus metrics after every cycle that did work.
    public func services(
        notifier: any ServiceNotifier, tick: Duration = .seconds(1), metricsPath: String? = nil
    ) -> [any Service] {
        let metrics = metricsPath.map {
            MetricsReporter(
                path: $0, store: store, aws: aws.executor.metrics, logger: logger,
                configuredPairs: config.accounts.isEmpty ? nil : Set(config.configuredPairs))
        }
        let gate = WorkGate()
        let loop = WorkLoop(
            store: store, worker: worker, settings: settings, notifier: notifier, timing: WorkLoop.Timing(tick: tick),
            logger: logger, gate: gate, metrics: metrics, clock: clock, wallClock: wallClockWatch)
        // Cancelled by a graceful shutdown: a scan cut short records nothing (`OrphanScanner.scan`).
        let scan = PeriodicJob(
            name: "scan", interval: .seconds(config.scanInterval), tick: tick, gate: gate, cancelledByShutdown: true
        ) { [scanner] in
            let report = await scanner.scan()
            guard !Task.isCancelled else { return false }
            metrics?.record(scan: report)
            return true
        }
        let poll = PeriodicJob(name: "poll", interval: .seconds(config.pollInterval), tick: tick, gate: gate) {
            [poller] in
            _ = await poller.poll()
            return true
        }
        // `create` commands that died half-way (their rows are `creating`, which nothing else claims).
        // A dead `create` is settled within a few seconds of create_timeout (every 10 s, or a quarter of a shorter
        // create_timeout); it wakes the cleanup loop only when it settled one.
        let settleEvery = max(tick, min(.seconds(10), .milliseconds(Int64(config.createTimeout * 250))))
        let settle = PeriodicJob(name: "create settler", interval: settleEvery, tick: tick, gate: gate) { [creator] in
            await !creator.settleStalled().isEmpty
        }
        // Keys pending deletion, looked up in CloudTrail at the scan's cadence, a tenth of its quota at most.
        let rescue = PeriodicJob(
            name: "pending-deletion watch", interval: .seconds(config.scanInterval), tick: tick, gate: gate
        ) { [watch] in
            await !watch.watch().isEmpty
        }
        // Every service's progress must be recent: an attempt ends within request_timeout; the backoff before the
        // next is at most 20 s.
        let feeder = WatchdogFeeder(
            bound: .milliseconds(Int64(config.aws.requestTimeout * 1000)) + .seconds(30),
            marks: [loop.progress, scan.progress, poll.progress, settle.progress, rescue.progress])
        return [WatchdogService(feeder: feeder, notifier: notifier), loop, scan, poll, settle, rescue]
    }

    /// Runs `body`, then closes the AWS connection pool whether it returned or threw.
    public func closingAfter<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        do {
            let result = try await body()
            await shutdown()
            return result
        } catch {
            await shutdown()
            throw error
        }
    }

    /// Closes the AWS connection pool.
    public func shutdown() async {
        try? await aws.shutdown()
    }
}

extension SystemdNotifier: ServiceNotifier {}
