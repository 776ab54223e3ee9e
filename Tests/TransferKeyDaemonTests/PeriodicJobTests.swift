import Testing

@testable import TransferKeyDaemon

@Suite("Periodic job naps")
struct PeriodicJobTests {
    func job(gate: WorkGate, interval: Duration = .seconds(600)) -> PeriodicJob {
        PeriodicJob(name: "scan", interval: interval, tick: .seconds(1), gate: gate) { false }
    }

    @Test("a closed gate or a job never run: one tick; a job waiting for its interval: until due, five ticks at most")
    func naps() {
        let now = ContinuousClock.now
        var ran = IntervalTimer(interval: .seconds(600))
        ran.markRun(at: now)
        #expect(job(gate: WorkGate()).nap(ran, at: now) == .seconds(1), "closed: it may open any time")
        let open = WorkGate(open: true)
        #expect(job(gate: open).nap(IntervalTimer(interval: .seconds(600)), at: now) == .seconds(1), "due at once")
        #expect(job(gate: open).nap(ran, at: now) == .seconds(5), "the watchdog sees a turn every five ticks")
        #expect(job(gate: open).nap(ran, at: now + .seconds(597)) == .seconds(3), "due in three seconds")
        #expect(job(gate: open).nap(ran, at: now + .milliseconds(599_800)) == .seconds(1), "never under a tick")
        #expect(job(gate: open).nap(ran, at: now + .seconds(900)) == .seconds(1), "overdue")
    }
}
