import Foundation
import Testing
import TransferKeyTestSupport

@testable import TransferKeyDaemon

@Suite("Work loop: intervals on the monotonic clock, and the pause while the database takes no writes")
struct WorkLoopClockTests {
    @Test("an interval timer is due at once, then once per interval, never more however long the gap")
    func intervalTimer() {
        let start = ContinuousClock.now
        var timer = IntervalTimer(interval: .seconds(30))
        #expect(timer.isDue(at: start))
        timer.markRun(at: start)
        #expect(!timer.isDue(at: start.advanced(by: .seconds(29))))
        #expect(timer.isDue(at: start.advanced(by: .seconds(30))))
        // A day away (a suspended machine, a stalled loop): one run, not 2,880 catch-up runs.
        let late = start.advanced(by: .seconds(86_400))
        #expect(timer.isDue(at: late))
        timer.markRun(at: late)
        #expect(!timer.isDue(at: late.advanced(by: .seconds(1))))
    }

    @Test(
        "a week of leases in milliseconds: due work is looked at within a tick of each lease's end or a commit, and on no other turn"
    )
    func weekOfLeases() {
        let start = Date(timeIntervalSince1970: 1_795_000_000)
        let base = ContinuousClock.now
        let week = 604_800
        // 300 leases ending at fractional seconds over the week (a few in the same second), 40 commits by other
        // processes (`track`, `complete`), and 25 finished polls; all from a fixed seed.
        var seed: UInt64 = 0x5EED
        func next(_ bound: Int) -> Int {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((seed >> 33) % UInt64(bound))
        }
        var leases = (0..<300).map { _ in Double(1 + next(week - 2)) + Double(next(1000)) / 1000 }.sorted()
        // The turn that sees each lease end: the first whole second at or after it.
        let leaseTurns = Set(leases.map { Int($0.rounded(.up)) })
        let commits = Set((0..<40).map { _ in 1 + next(week - 1) })
        let polls = Set((0..<25).map { _ in 1 + next(week - 1) })
        var trigger = DueWorkTrigger(change: 0, wakes: 0)
        var beat = IntervalTimer(interval: .seconds(5), startingAt: base)
        var change = 0
        var wakes = 0
        var looks: Set<Int> = []
        var beats = 0
        var latest = 0.0
        var misreadPolls = 0
        for second in 0...week {
            if commits.contains(second) { change += 1 }
            if polls.contains(second) { wakes += 1 }
            let turn = trigger.turn(now: start.addingTimeInterval(Double(second)), change: change, wakes: wakes)
            if turn.jobFinished != polls.contains(second) { misreadPolls += 1 }
            if turn.runsDueWork {
                looks.insert(second)
                // The store: every lease ended by now is worked; it answers the next due date.
                while let first = leases.first, first <= Double(second) {
                    latest = max(latest, Double(second) - first)
                    leases.removeFirst()
                }
                trigger.looked(nextDue: leases.first.map { start.addingTimeInterval($0) })
            }
            let instant = base.advanced(by: .seconds(second))
            if beat.isDue(at: instant) {
                beats += 1
                beat.markRun(at: instant)
            }
        }
        #expect(leases.isEmpty, "every lease was worked")
        #expect(latest < 1, "within a tick of its end")
        #expect(looks == Set([0]).union(commits).union(polls).union(leaseTurns), "at start, and then only when needed")
        #expect(beats == week / 5, "a heartbeat every 5 s, no more")
        #expect(misreadPolls == 0, "a finished poll is seen on its turn, and only then")
    }

    @Test("due work is looked at again at once when the store could not say when the next is due")
    func failedReadLooksAgain() {
        let now = Date(timeIntervalSince1970: 1_795_000_000)
        var trigger = DueWorkTrigger(change: 1, wakes: 0)
        #expect(trigger.turn(now: now, change: 1, wakes: 0).runsDueWork, "at once at start")
        trigger.looked(nextDue: nil)
        #expect(!trigger.turn(now: now.addingTimeInterval(1), change: 1, wakes: 0).runsDueWork, "nothing waits")
        #expect(!trigger.turn(now: now.addingTimeInterval(2), change: nil, wakes: 0).runsDueWork, "an unread counter")
        #expect(trigger.turn(now: now.addingTimeInterval(3), change: 2, wakes: 0).runsDueWork, "a commit")
        trigger.looked(nextDue: nil, readFailed: true)
        #expect(trigger.turn(now: now.addingTimeInterval(4), change: 2, wakes: 0).runsDueWork, "the read failed")
        trigger.looked(nextDue: now.addingTimeInterval(60))
        #expect(!trigger.turn(now: now.addingTimeInterval(5), change: 2, wakes: 0).runsDueWork)
        trigger.resume()
        #expect(trigger.turn(now: now.addingTimeInterval(6), change: 2, wakes: 0).runsDueWork, "the database is back")
    }

    @Test("a timer started with a first run is not due before its interval")
    func intervalTimerStartingLater() {
        let start = ContinuousClock.now
        let timer = IntervalTimer(interval: .seconds(5), startingAt: start)
        #expect(!timer.isDue(at: start.advanced(by: .seconds(4))))
        #expect(timer.isDue(at: start.advanced(by: .seconds(5))))
    }

    @Test("the store pause: a problem pauses, a new reason is told once, no problem resumes with the duration")
    func storePause() {
        let start = ContinuousClock.now
        var pause = StorePause()
        #expect(pause.update(problem: nil, at: start) == .none)
        #expect(!pause.isPaused)
        #expect(pause.update(problem: "disk full", at: start) == .paused("disk full"))
        #expect(pause.isPaused)
        #expect(pause.update(problem: "disk full", at: start.advanced(by: .seconds(1))) == .none, "said once")
        #expect(pause.update(problem: "locked", at: start.advanced(by: .seconds(2))) == .stillPaused("locked"))
        #expect(
            pause.update(problem: nil, at: start.advanced(by: .seconds(9)))
                == .resumed(after: .seconds(9), reason: "locked"))
        #expect(!pause.isPaused)
        #expect(pause.reason == nil)
    }

    @Test("the wall clock is Date() unless the test hook names an offset file, which is read anew while running")
    func wallClockHook() async throws {
        #expect(abs(WallClock(environment: [:]).now().timeIntervalSinceNow) < 5)
        let folder = try TemporaryDirectory(prefix: "transferkeyd-clock")
        defer { folder.remove() }
        let file = folder.path("offset")
        try "86400\n".write(toFile: file, atomically: true, encoding: .utf8)
        let clock = WallClock(environment: [WallClock.offsetFileVariable: file])
        #expect(abs(clock.now().timeIntervalSinceNow - 86400) < 5)
        try "-3600".write(toFile: file, atomically: true, encoding: .utf8)
        try await Task.sleep(for: .milliseconds(300))
        #expect(abs(clock.now().timeIntervalSinceNow + 3600) < 5)
        try "not a number".write(toFile: file, atomically: true, encoding: .utf8)
        try await Task.sleep(for: .milliseconds(300))
        #expect(abs(clock.now().timeIntervalSinceNow + 3600) < 5, "a bad file keeps the last offset")
    }
}
