import Foundation
import Logging
import ServiceLifecycle
import TransferKeyAWS
import TransferKeyCore
import TransferKeyStore

/// The daemon's cleanup service: it runs due work about every second (at once when another process or one of the
/// periodic jobs — scan, poll, create settler, each a ``PeriodicJob`` of its own — may have made work due), keeps the
/// heartbeat and the service manager informed, and opens the ``WorkGate`` for the other services once its start is
/// recorded. All state lives in SQLite, so a restart simply carries on.
///
/// Due work goes in lanes, one per account × region, side by side; within a lane up to `[aws] max_in_flight`
/// transfers are in flight (``LanePipeline``), oldest first, paced per operation by the AWS client.
///
/// Two clocks, on purpose: intervals (poll, scan, heartbeat) are elapsed time on the monotonic clock,
/// so a wall-clock jump neither fires a burst of catch-up cycles nor stops them; deadlines (leases,
/// retry times) are wall-clock instants stored in SQLite, so they fire when that time has come.
///
/// While the database cannot take writes (its disk is full, another process keeps it locked beyond the
/// busy timeout, …) the loop claims no work and closes the gate (nothing is polled or scanned), and says why in
/// its logs, in the service manager's status and, when a write still goes through, in `status`; it resumes by
/// itself.
public struct WorkLoop: Service {
    /// How often the loop wakes up, and how often it writes the heartbeat.
    public struct Timing: Sendable {
        public var tick: Duration
        public var heartbeatInterval: TimeInterval

        /// Creates the timing.
        public init(tick: Duration = .seconds(1), heartbeatInterval: TimeInterval = 5) {
            self.tick = tick
            self.heartbeatInterval = heartbeatInterval
        }
    }

    let store: TransferStore
    let worker: TransferWorker
    let settings: CleanupSettings
    let notifier: any ServiceNotifier
    let timing: Timing
    let logger: Logger
    let clock: @Sendable () -> Date
    let spaceShortage: @Sendable () -> String?
    let metrics: MetricsReporter?
    let wallClock: WallClockWatch?
    /// The loop's own progress (every turn, and every AWS attempt of its due work), read by the watchdog feeder.
    public let progress = ProgressMark()
    /// Shared with the periodic jobs: opened once the start is recorded, closed while the database takes no writes.
    public let gate: WorkGate
    /// The daemon's lanes in flight across turns (``runDueWork(now:)`` alone, as `reconcile` runs it, waits instead).
    let board = LaneBoard()

    /// Creates the loop; `metrics` writes the metrics file after each cycle that did work and at each heartbeat.
    /// `spaceShortage` says why the database's disk is too full to work on (default: ``FileSystemSpace`` next to
    /// the database file).
    public init(
        store: TransferStore, worker: TransferWorker, settings: CleanupSettings, notifier: any ServiceNotifier,
        timing: Timing, logger: Logger, gate: WorkGate = WorkGate(), metrics: MetricsReporter? = nil,
        clock: @escaping @Sendable () -> Date = { Date() }, spaceShortage: (@Sendable () -> String?)? = nil,
        wallClock: WallClockWatch? = nil
    ) {
        self.wallClock = wallClock
        self.store = store
        self.metrics = metrics
        self.worker = worker
        self.gate = gate
        self.settings = settings
        self.notifier = notifier
        self.timing = timing
        self.logger = logger
        self.clock = clock
        let path = store.database.path
        self.spaceShortage = spaceShortage ?? { path.flatMap(FileSystemSpace.shortage(forDatabaseAt:)) }
    }

    private struct Identity {
        var pid: Int32
        var host: String
        var startedAt: Date
    }

    public func run() async throws {
        let identity = Identity(pid: getpid(), host: ProcessInfo.processInfo.hostName, startedAt: clock())
        try store.heartbeat(
            pid: identity.pid, hostname: identity.host, version: DaemonVersion.current, startedAt: identity.startedAt,
            now: identity.startedAt)
        try store.recordDaemonEvent(
            .daemonStarted, detail: ["pid": .int(Int64(identity.pid)), "version": .string(DaemonVersion.current)],
            now: identity.startedAt, actor: "daemon")
        logger.notice(
            "transferkeyd started", metadata: ["pid": "\(identity.pid)", "dry_run": "\(settings.isDryRun)"])

        // Restore: every unfinished transfer is already a row with its next attempt; the first
        // pass below re-checks them against AWS. READY once the first scan starts (the contract),
        // so an unreachable AWS cannot hold systemd's start-up.
        notifier.ready()
        progress.mark()
        gate.open()
        try await ProgressMark.$current.withValue(progress) { try await loop(identity) }
        gate.close(because: "stopping")
        // The lanes in flight finish the transfer in hand (their AWS call is bounded by request_timeout).
        await board.drain()

        notifier.stopping()
        metrics?.write(now: clock(), isUp: false)
        try? store.markStopped(pid: identity.pid, now: clock())
        try? store.recordDaemonEvent(
            .daemonStopped, detail: ["pid": .int(Int64(identity.pid))], now: clock(), actor: "daemon")
        logger.notice("transferkeyd stopped cleanly")
    }

    /// What the loop carries from one turn to the next.
    private struct Turns {
        var beatTimer: IntervalTimer
        var pause = StorePause()
        /// A write that failed for want of the database in the last turn.
        var refusedWrite: String?
        var trigger: DueWorkTrigger
    }

    /// Turns until a graceful shutdown: the pause, due work, the heartbeat.
    private func loop(_ identity: Identity) async throws {
        var turns = Turns(
            beatTimer: IntervalTimer(interval: .seconds(timing.heartbeatInterval), startingAt: .now),
            trigger: DueWorkTrigger(change: try? store.externalChangeCounter(), wakes: gate.wakes))

        while !Task.isShuttingDownGracefully {
            let now = clock()
            let instant = ContinuousClock.now
            if let jump = wallClock?.observe(wall: now, at: instant) {
                logger.warning(
                    "the wall clock jumped \(Int(jump))s; leases are aged by AWS's clock, and none expires on the jump alone",
                    metadata: ["jump_seconds": "\(Int(jump))"])
            }
            if !isPaused(&turns, identity: identity, now: now, at: instant) {
                await work(&turns, identity: identity, now: now, at: instant)
            }
            try await idle()
        }
    }

    /// Whether work stays paused this turn because the database cannot take writes: pauses (closing the gate,
    /// telling the service manager why) on a full disk or a refused write, and resumes once a write goes through.
    private func isPaused(_ turns: inout Turns, identity: Identity, now: Date, at instant: ContinuousClock.Instant)
        -> Bool
    {
        let shortage = spaceShortage()
        var problem = shortage ?? turns.refusedWrite
        turns.refusedWrite = nil
        if problem == nil, turns.pause.isPaused {
            // A real write going through (the heartbeat) is what proves the database is back.
            problem = beat(identity, now: now)?.description
            if problem == nil { turns.beatTimer.markRun(at: instant) }
        }
        switch turns.pause.update(problem: problem, at: instant) {
        case .paused(let reason), .stillPaused(let reason):
            gate.close(because: reason)
            logger.error(
                "the database cannot take writes; no work is claimed until it can",
                metadata: ["reason": "\(reason)"])
            notifier.status("paused: \(reason)")
            // Best effort: a full disk may still take this small write, and `status` then shows why.
            if shortage != nil { _ = beat(identity, now: now, pausedReason: reason) }
        case .resumed(let duration, let reason):
            logger.notice(
                "the database takes writes again; work resumed",
                metadata: ["paused_seconds": "\(duration.components.seconds)", "reason": "\(reason)"])
            gate.open()
            turns.trigger.resume()
        case .none:
            break
        }
        guard turns.pause.isPaused else { return false }
        if shortage != nil, turns.beatTimer.isDue(at: instant) {
            _ = beat(identity, now: now, pausedReason: turns.pause.reason)
            turns.beatTimer.markRun(at: instant)
        }
        return true
    }

    /// One working turn: due work when something may have become due, the heartbeat when it is due, and the
    /// metrics file after either.
    private func work(_ turns: inout Turns, identity: Identity, now: Date, at instant: ContinuousClock.Instant) async {
        let cycleStart = ContinuousClock.now
        let turn = turns.trigger.turn(now: now, change: try? store.externalChangeCounter(), wakes: gate.wakes)
        if turn.runsDueWork {
            turns.refusedWrite = await dispatchDueWork(now: now)
            do {
                turns.trigger.looked(nextDue: try store.nextDueDate())
            } catch {
                turns.trigger.looked(nextDue: nil, readFailed: true)
            }
            metrics?.record(cycleDuration: ContinuousClock.now - cycleStart)
        } else if let refusal = board.takeRefusal() {
            turns.refusedWrite = refusal
        }
        let didWork = turn.runsDueWork || turn.jobFinished
        var isBeat = false
        if turns.refusedWrite == nil, turns.beatTimer.isDue(at: instant) {
            turns.refusedWrite = beat(identity, now: now)?.description
            turns.beatTimer.markRun(at: instant)
            isBeat = true
        }
        if turns.refusedWrite == nil, didWork || isBeat { metrics?.write(now: clock()) }
    }

    /// The daemon's turn: due transfers of every idle lane are started in lanes of their own, and the turn does not
    /// wait for them; a busy lane's transfers wait for a later turn. Returns why the database refused a write, if
    /// it did (in this turn's read, or in a lane since the last turn).
    func dispatchDueWork(now: Date) async -> String? {
        let cycle: Cycle
        do {
            cycle = try dueCycle(now: now, reserved: board.reserved, skippingBusyLanes: true)
        } catch {
            return board.takeRefusal() ?? (error as? StoreError)?.description
        }
        for lane in TransferRecord.lanes(of: cycle.due) {
            _ = board.start(lane[0].accountRegion) { [self] in await work(lane, cycle: cycle) }
        }
        return board.takeRefusal()
    }

    /// One cycle over due transfers, with a fresh deletion budget, waiting for every lane (`reconcile`'s pass).
    /// Returns why the database refused a write, if it did: no transfer starts after that, and the ones in hand are
    /// re-checked once it takes writes.
    @discardableResult
    public func runDueWork(now: Date) async -> String? {
        let cycle: Cycle
        do {
            cycle = try dueCycle(now: now, reserved: ReservedDeletions(), skippingBusyLanes: false)
        } catch {
            return (error as? StoreError)?.description
        }
        return await withTaskGroup(of: String?.self) { group in
            for lane in TransferRecord.lanes(of: cycle.due) {
                group.addTask { [self] in await work(lane, cycle: cycle) }
            }
            var refusal: String?
            for await reason in group where refusal == nil {
                refusal = reason
            }
            return refusal
        }
    }

    /// What a cycle's lanes share: the due transfers, the deletion budget and the reservations against it.
    struct Cycle: Sendable {
        var due: [TransferRecord]
        var budget: DeletionBudget
        var reserved: ReservedDeletions
    }

    /// The due transfers and a fresh budget; throws (logged) when the database cannot be read.
    private func dueCycle(now: Date, reserved: ReservedDeletions, skippingBusyLanes: Bool) throws -> Cycle {
        let paused = (try? store.isOrphanCleanupPaused()) ?? nil
        let due: [TransferRecord]
        do {
            // The busy lanes' rows are left out by the query; a lane that became busy since is skipped here.
            let busy = skippingBusyLanes ? board.busyLanes : []
            due = try store.claimableTransfers(
                now: now, limit: 500, includingDiscovered: paused == nil, excludingLanes: busy
            ).filter { !skippingBusyLanes || !board.isBusy($0.accountRegion) }
        } catch {
            logger.error("cannot read due work; retrying next tick", metadata: ["error": "\(error)"])
            throw error
        }
        // Nothing to start (every due transfer is in a busy lane, or none is due): no budget to count.
        guard !due.isEmpty else {
            return Cycle(
                due: [], budget: DeletionBudget(limit: 0, hourLeft: 0, hourLimit: settings.maxDeletionsPerHour),
                reserved: reserved)
        }
        // One lane per account × region, run side by side: AWS's quotas (and our pacing) are per account × region,
        // so lanes do not slow each other down. Within a lane up to max_in_flight transfers are worked at once,
        // started oldest first, never two on one key. The budget is shared, so the cap holds for the whole cycle
        // however lanes and in-flight work interleave; the rolling hour's spending comes from the audit trail, so a
        // restart does not refill it.
        let spentThisHour =
            (try? store.scheduleCalls(since: now.addingTimeInterval(-3600))) ?? settings.maxDeletionsPerHour
        // Deletions reserved by lanes still in flight from earlier turns count against this one's budget too (their
        // calls are not in the audit trail yet).
        let inFlight = reserved.count
        let budget = DeletionBudget(
            limit: settings.maxDeletionsPerCycle - inFlight,
            hourLeft: settings.maxDeletionsPerHour - spentThisHour - inFlight, hourLimit: settings.maxDeletionsPerHour)
        return Cycle(due: due, budget: budget, reserved: reserved)
    }

    /// One lane of a cycle: up to max_in_flight transfers at once, oldest first, never two on one key.
    private func work(_ lane: [TransferRecord], cycle: Cycle) async -> String? {
        let pipeline = LanePipeline<TransferRecord>(width: settings.maxInFlight, key: { $0.keyID })
        let (budget, reserved) = (cycle.budget, cycle.reserved)
        return await pipeline.run(lane) { [settings] transfer, _ in
            // SIGTERM: stop taking new work; the transfers in hand finish or are left re-checkable.
            if Task.isShuttingDownGracefully { return .stop }
            // A transfer due for deletion starts its reads only while the budget has a call for it that no transfer
            // in flight will take first (reads for a key that cannot be scheduled are wasted); the oldest waiting
            // keeps its place for the next cycle. Alias removals and confirmations go on.
            guard transfer.state == .cleanupDue, !settings.isDryRun else { return .start }
            return reserved.reserve(within: budget) ? .start : .skip
        } work: { [worker, settings] transfer in
            defer { if transfer.state == .cleanupDue, !settings.isDryRun { reserved.release() } }
            let outcomes = await worker.work(on: transfer, budget: budget)
            if case .storeUnavailable(let reason)? = outcomes.last { return reason }
            return nil
        }
    }

    /// Marks the loop's progress (read by the ``WatchdogService``), then one tick of sleep.
    private func idle() async throws {
        progress.mark()
        try? await cancelWhenGracefulShutdown { try await Task.sleep(for: timing.tick) }
    }

    /// Writes the heartbeat (with why work is paused, if it is) and tells the service manager the counts;
    /// returns the database's refusal, if any.
    private func beat(_ identity: Identity, now: Date, pausedReason: String? = nil) -> StoreError? {
        do {
            try store.heartbeat(
                pid: identity.pid, hostname: identity.host, version: DaemonVersion.current,
                startedAt: identity.startedAt, now: now, pausedReason: pausedReason)
            guard pausedReason == nil else { return nil }
            let counts = try store.countsByState(in: TransferState.summarized)
            notifier.status(
                TransferState.summarized.map {
                    "\($0.rawValue)=\(counts[$0] ?? 0)"
                }.joined(separator: " "))
            return nil
        } catch let error as StoreError {
            logger.error("heartbeat failed", metadata: ["error": "\(error)"])
            return error
        } catch {
            logger.error("heartbeat failed", metadata: ["error": "\(error)"])
            return nil
        }
    }
}
