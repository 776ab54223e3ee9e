import ServiceLifecycle
import TransferKeyAWS

/// One of the daemon's periodic jobs (the orphan scan, the snapshot poll, settling `create` commands that died
/// half-way) as a service of its own, with its own cadence: a scan that lasts minutes (many account × regions, an
/// AWS outage) delays neither the cleanup nor the other jobs.
///
/// The job runs at once, then `interval` after each run ended (elapsed time on the monotonic clock: a wall-clock
/// jump neither fires catch-up runs nor stops them), only while the ``WorkGate`` is open. Its ``progress`` is
/// marked at every turn and by every AWS attempt the job makes, which is what the watchdog is fed from.
public struct PeriodicJob: Service {
    /// The job's name, for logs and the watchdog's verdict.
    public let name: String
    /// Time between the end of one run and the start of the next.
    public let interval: Duration
    /// How often the service looks whether its job is due (and whether it is shutting down).
    public let tick: Duration
    /// The job's latest progress.
    public let progress = ProgressMark()
    /// Whether a graceful shutdown cancels a run in progress: only for a job that records nothing of a cancelled
    /// run (the orphan scan: `OrphanScanner.scan`). Any other job finishes its run before the service ends.
    public let cancelledByShutdown: Bool
    let gate: WorkGate
    let job: @Sendable () async -> Bool

    /// A job run every `interval` while `gate` is open; it returns whether it may have made work due (or changed
    /// what the metrics show), which wakes the cleanup loop. `cancelledByShutdown`: see ``cancelledByShutdown``.
    public init(
        name: String, interval: Duration, tick: Duration = .seconds(1), gate: WorkGate,
        cancelledByShutdown: Bool = false, job: @escaping @Sendable () async -> Bool
    ) {
        self.name = name
        self.interval = interval
        self.tick = tick
        self.gate = gate
        self.cancelledByShutdown = cancelledByShutdown
        self.job = job
    }

    public func run() async throws {
        var timer = IntervalTimer(interval: interval)
        while !Task.isShuttingDownGracefully {
            progress.mark()
            if gate.isOpen, timer.isDue(at: .now) {
                let changed = await ProgressMark.$current.withValue(progress) { await runJob() }
                timer.markRun(at: .now)
                progress.mark()
                if changed { gate.wake() }
                continue
            }
            let nap = nap(timer, at: .now)
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: nap) }
        }
    }

    /// One run; cancelled by a graceful shutdown when ``cancelledByShutdown``: a scan through an AWS outage (every
    /// call waiting out its attempts and backoff) would otherwise hold the stop past the unit's `TimeoutStopSec`.
    private func runJob() async -> Bool {
        guard cancelledByShutdown else { return await job() }
        let job = self.job
        return await cancelWhenGracefulShutdown { await job() }
    }

    /// The most ticks a job sleeps at once while it waits for its interval: its progress stays recent for the
    /// watchdog (whose bound is request_timeout + 30 s), and an idle daemon's four jobs wake every 5 s, not every
    /// second (`make bench`, idle CPU per second).
    static let quietTicks = 5

    /// How long the job sleeps before it looks again: a tick while the gate is closed (it may open at any time);
    /// otherwise until the job is due, at least a tick and at most ``quietTicks`` ticks.
    func nap(_ timer: IntervalTimer, at now: ContinuousClock.Instant) -> Duration {
        guard gate.isOpen, let lastRun = timer.lastRun else { return tick }
        let left = timer.interval - (now - lastRun)
        return min(max(left, tick), tick * Self.quietTicks)
    }
}
