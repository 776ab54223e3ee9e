import Foundation
import Logging
import ServiceLifecycle
import TransferKeyCore
import TransferKeyStore

/// The daemon: one loop that runs due work about every second, polls snapshot completion every
/// `poll_interval`, scans for orphans every `scan_interval`, and keeps the heartbeat and the
/// service manager informed. All state lives in SQLite, so a restart simply carries on.
public struct WorkLoop: Service {
    /// How often the loop wakes up, and the periodic jobs' intervals.
    public struct Timing: Sendable {
        public var tick: Duration
        public var pollInterval: TimeInterval
        public var scanInterval: TimeInterval
        public var heartbeatInterval: TimeInterval

        /// Creates the timing.
        public init(
            tick: Duration = .seconds(1), pollInterval: TimeInterval, scanInterval: TimeInterval,
            heartbeatInterval: TimeInterval = 5
        ) {
            self.tick = tick
            self.pollInterval = pollInterval
            self.scanInterval = scanInterval
            self.heartbeatInterval = heartbeatInterval
        }
    }

    let store: TransferStore
    let worker: TransferWorker
    let settings: CleanupSettings
    let poll: @Sendable () async -> Void
    let scan: @Sendable () async -> Void
    let notifier: any ServiceNotifier
    let timing: Timing
    let logger: Logger
    let clock: @Sendable () -> Date
    let creator: KeyCreator?
    let metrics: MetricsReporter?

    /// Creates the loop; `poll` and `scan` are the completion poller and the orphan scanner,
    /// `creator` finishes `create` commands that died half-way, `metrics` writes the metrics file
    /// after each cycle that did work and at each heartbeat.
    public init(
        store: TransferStore, worker: TransferWorker, settings: CleanupSettings,
        poll: @escaping @Sendable () async -> Void, scan: @escaping @Sendable () async -> Void,
        notifier: any ServiceNotifier, timing: Timing, logger: Logger, creator: KeyCreator? = nil,
        metrics: MetricsReporter? = nil, clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
        self.metrics = metrics
        self.worker = worker
        self.creator = creator
        self.settings = settings
        self.poll = poll
        self.scan = scan
        self.notifier = notifier
        self.timing = timing
        self.logger = logger
        self.clock = clock
    }

    public func run() async throws {
        let pid = getpid()
        let host = ProcessInfo.processInfo.hostName
        let startedAt = clock()
        try store.heartbeat(
            pid: pid, hostname: host, version: DaemonVersion.current, startedAt: startedAt, now: startedAt)
        try store.recordDaemonEvent(
            "daemon_started", detail: ["pid": .int(Int64(pid)), "version": .string(DaemonVersion.current)],
            now: startedAt, actor: "daemon")
        logger.notice(
            "transferkeyd started", metadata: ["pid": "\(pid)", "dry_run": "\(settings.isDryRun)"])

        // Restore: every unfinished transfer is already a row with its next attempt; the first
        // pass below re-checks them against AWS. READY once the first scan starts (the contract),
        // so an unreachable AWS cannot hold systemd's start-up.
        notifier.ready()
        let firstScan = ContinuousClock.now
        await scan()
        metrics?.record(cycleDuration: ContinuousClock.now - firstScan)
        beat(pid: pid, host: host, startedAt: startedAt, now: clock())
        metrics?.write(now: clock())
        var lastPoll = Date.distantPast
        var lastScan = clock()
        var lastBeat = startedAt
        var lastChange = (try? store.externalChangeCounter()) ?? 0
        var nextDue: Date? = .distantPast

        while !Task.isShuttingDownGracefully {
            let now = clock()
            let cycleStart = ContinuousClock.now
            var didWork = false
            // Another process (track, complete, retry) committed: look at due work now.
            let change = (try? store.externalChangeCounter()) ?? lastChange
            if change != lastChange {
                lastChange = change
                nextDue = .distantPast
            }
            if now.timeIntervalSince(lastPoll) >= timing.pollInterval {
                await poll()
                lastPoll = now
                nextDue = .distantPast
                didWork = true
            }
            if now.timeIntervalSince(lastScan) >= timing.scanInterval {
                await scan()
                lastScan = now
                nextDue = .distantPast
                didWork = true
            }
            if let due = nextDue, due <= now {
                await runDueWork(now: now)
                nextDue = try? store.nextDueDate()
                didWork = true
            }
            if didWork { metrics?.record(cycleDuration: ContinuousClock.now - cycleStart) }
            var isBeat = false
            if now.timeIntervalSince(lastBeat) >= timing.heartbeatInterval {
                beat(pid: pid, host: host, startedAt: startedAt, now: now)
                lastBeat = now
                isBeat = true
            }
            if didWork || isBeat { metrics?.write(now: clock()) }
            // Only a loop that gets here pings the watchdog: a hung step stops the pings.
            if notifier.watchdogInterval != nil { notifier.watchdog() }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: timing.tick) }
        }

        notifier.stopping()
        metrics?.write(now: clock(), isUp: false)
        try? store.markStopped(pid: pid, now: clock())
        try? store.recordDaemonEvent("daemon_stopped", detail: ["pid": .int(Int64(pid))], now: clock(), actor: "daemon")
        logger.notice("transferkeyd stopped cleanly")
    }

    /// One cycle over due transfers, with a fresh deletion budget.
    public func runDueWork(now: Date) async {
        // `create` commands that died half-way (their rows are `creating`, which nothing else claims).
        if let creator, !Task.isShuttingDownGracefully { await creator.settleStalled() }
        let paused = (try? store.isOrphanCleanupPaused()) ?? nil
        let due: [TransferRecord]
        do {
            due = try store.claimableTransfers(now: now, limit: 500, includingDiscovered: paused == nil)
        } catch {
            logger.error("cannot read due work; retrying next tick", metadata: ["error": "\(error)"])
            return
        }
        var budget = DeletionBudget(limit: settings.maxDeletionsPerCycle)
        for transfer in due {
            // SIGTERM: stop taking new work; the transfer in hand was finished or left re-checkable.
            if Task.isShuttingDownGracefully { break }
            await worker.work(on: transfer, budget: &budget)
        }
    }

    private func beat(pid: Int32, host: String, startedAt: Date, now: Date) {
        do {
            try store.heartbeat(
                pid: pid, hostname: host, version: DaemonVersion.current, startedAt: startedAt, now: now)
            let counts = try store.countsByState()
            notifier.status(
                ["active", "cleanup_due", "key_scheduled", "cleaned", "stuck", "refused"].map {
                    "\($0)=\(counts[TransferState(rawValue: $0)!] ?? 0)"
                }.joined(separator: " "))
        } catch {
            logger.error("heartbeat failed", metadata: ["error": "\(error)"])
        }
    }
}
