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
