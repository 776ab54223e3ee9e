import Foundation
import Logging
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
    public let settings: CleanupSettings
    public let logger: Logger
    /// The wall clock every part uses (`Date()`, unless the ``WallClock`` test hook is on).
    public let clock: @Sendable () -> Date
    /// Notices the wall clock jumping; the worker then ages no lease by it until AWS's clock is known.
    public let wallClockWatch = WallClockWatch()

    /// Wires the daemon; `dryRun` forces a dry run whatever the config says.
    public init(
        config: Config, store: TransferStore, environment: [String: String], logger: Logger,
        dryRun: Bool = false, actor: String = "daemon"
    ) {
        var settings = CleanupSettings(config: config)
        if dryRun { settings.isDryRun = true }
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
        worker = TransferWorker(
            store: store, cloud: cloud, settings: settings, logger: logger, clock: clock, actor: actor,
            wallClock: wallClockWatch)
        poller = CompletionPoller(store: store, cloud: cloud, logger: logger, clock: clock, actor: actor)
        creator = KeyCreator(
            store: store, cloud: cloud, settings: settings, logger: logger, grace: config.createTimeout, clock: clock,
            actor: actor, createAttempts: config.aws.maxAttempts)
        scanner = OrphanScanner(
            store: store, cloud: cloud, settings: ScanSettings(config: config),
            accounts: config.accounts.map { ($0.id, $0.regions) }, logger: logger, clock: clock, actor: actor)
    }

    /// The long-running service for `transferkeyd run`; `metricsPath` (the resolved `metrics_file`)
    /// gets the Prometheus metrics after every cycle.
    public func workLoop(
        notifier: any ServiceNotifier, tick: Duration = .seconds(1), metricsPath: String? = nil
    ) -> WorkLoop {
        let metrics = metricsPath.map {
            MetricsReporter(path: $0, store: store, aws: aws.executor.metrics, logger: logger)
        }
        var loop = WorkLoop(
            store: store, worker: worker, settings: settings,
            poll: { [poller] in _ = await poller.poll() },
            scan: { [scanner] in
                let report = await scanner.scan()
                metrics?.record(scan: report)
            },
            notifier: notifier,
            timing: WorkLoop.Timing(tick: tick, pollInterval: config.pollInterval, scanInterval: config.scanInterval),
            logger: logger, creator: creator, metrics: metrics, clock: clock, wallClock: wallClockWatch)
        // An attempt ends within request_timeout; the backoff before the next is at most 20 s.
        let calls = aws.executor.metrics
        let turns = loop.turns
        loop.watchdogFeeder = WatchdogFeeder(
            bound: .milliseconds(Int64(config.aws.requestTimeout * 1000)) + .seconds(30),
            progress: { [calls.lastActivity, turns.last] })
        return loop
    }

    /// Closes the AWS connection pool.
    public func shutdown() async {
        try? await aws.shutdown()
    }
}

extension SystemdNotifier: ServiceNotifier {}
