import Foundation
import Logging
import Synchronization
import Testing

@testable import TransferKeyDaemon

/// The writer lease's algorithm against an in-memory table with DynamoDB's conditional-write semantics.
@Suite("Writer lease: one holder, takeover only after a whole silent duration, a holder that cannot renew stops")
struct WriterLeaseTests {
    /// One item, changed only when the condition holds; can fail every call, or lose the answer of a performed write.
    final class MemoryTable: LeaseTable, Sendable {
        struct State {
            var item: LeaseRecord?
            var failing = false
            var loseNextAnswer = false
            var writes = 0
        }
        let state = Mutex(State())

        func read() async throws -> LeaseRecord? {
            try state.withLock { state in
                if state.failing { throw LeaseTestError.unreachable }
                return state.item
            }
        }

        func write(_ record: LeaseRecord, ifVersion expected: String?) async throws -> Bool {
            try state.withLock { state in
                if state.failing { throw LeaseTestError.unreachable }
                guard state.item?.version == expected else { return false }
                state.item = record
                state.writes += 1
                if state.loseNextAnswer {
                    state.loseNextAnswer = false
                    // Performed, answer lost; the SDK's retry then fails the condition it just made false.
                    return false
                }
                return true
            }
        }

        func release(version: String) async throws {
            state.withLock { state in
                if state.item?.version == version { state.item = nil }
            }
        }
    }

    enum LeaseTestError: Error { case unreachable }

    /// Virtual time: `sleep` moves it on at once (then runs `onSleep`, e.g. the other daemon's renewal), so every
    /// test is a fixed sequence of steps, whatever the machine's load.
    final class JumpingClock: Sendable {
        let instant = Mutex(ContinuousClock.now)
        let onSleep = Mutex<(@Sendable () async throws -> Void)?>(nil)
        let slept = Mutex(Duration.zero)

        @Sendable func now() -> ContinuousClock.Instant { instant.withLock { $0 } }

        @Sendable func sleep(_ duration: Duration) async throws {
            try Task.checkCancellation()
            instant.withLock { $0 += duration }
            slept.withLock { $0 += duration }
            if let hook = onSleep.withLock({ $0 }) { try await hook() }
        }
    }

    static func lease(
        _ table: MemoryTable, pid: Int, duration: TimeInterval = 30, clock: JumpingClock = JumpingClock()
    ) -> WriterLease {
        WriterLease(
            table: table, duration: duration, host: "host-\(pid)", pid: pid, logger: Logger(label: "test"),
            now: clock.now, sleep: clock.sleep)
    }

    @Test("a free lease is taken at once; a live holder makes a second daemon refuse, naming its pid and host")
    func liveHolderRefuses() async throws {
        let table = MemoryTable()
        let first = Self.lease(table, pid: 1)
        #expect(try await first.acquire(wait: false) == .free)
        // While the second watches, the first renews (every third of its duration).
        let clock = JumpingClock()
        clock.onSleep.withLock { $0 = { _ = try await first.renew() } }
        let second = Self.lease(table, pid: 2, clock: clock)
        do {
            _ = try await second.acquire(wait: false)
            Issue.record("a second daemon took a live lease")
        } catch let failure as LeaseFailure {
            #expect(failure.description.contains("pid 1 on host-1"), "\(failure)")
        }
        #expect(table.state.withLock { $0.item?.pid } == 1)
        #expect(clock.slept.withLock { $0 } < .seconds(30), "refused at the first renewal seen, not after a duration")
    }

    @Test("a holder that renews nothing is taken over only after its whole duration, measured by the contender")
    func deadHolderTakenOver() async throws {
        let table = MemoryTable()
        let dead = Self.lease(table, pid: 1, duration: 60)
        #expect(try await dead.acquire(wait: false) == .free)
        let clock = JumpingClock()
        let contender = Self.lease(table, pid: 2, duration: 20, clock: clock)
        let acquired = try await contender.acquire(wait: false)
        guard case .takenOver(let from) = acquired else {
            Issue.record("not taken over: \(acquired)")
            return
        }
        #expect(from.pid == 1)
        // The dead holder's own promise (60 s), not the contender's shorter one.
        let waited = clock.slept.withLock { $0 }
        #expect(waited >= .seconds(60) && waited < .seconds(70), "took over after \(waited)")
        #expect(table.state.withLock { $0.item?.pid } == 2)
    }

    @Test("a standby waits through renewals and takes over once the holder stops renewing")
    func standbyTakesOver() async throws {
        let table = MemoryTable()
        let holder = Self.lease(table, pid: 1)
        _ = try await holder.acquire(wait: false)
        // The holder renews through the standby's first 20 looks, then dies.
        let clock = JumpingClock()
        let looks = Mutex(0)
        clock.onSleep.withLock {
            $0 = {
                if looks.withLock({
                    $0 += 1; return $0
                }) <= 20 {
                    _ = try await holder.renew()
                }
            }
        }
        let renewalsSeen = Mutex(0)
        let standby = Self.lease(table, pid: 2, clock: clock)
        let acquired = try await standby.acquire(wait: true) { _ in renewalsSeen.withLock { $0 += 1 } }
        guard case .takenOver(let from) = acquired else {
            Issue.record("\(acquired)")
            return
        }
        #expect(from.pid == 1)
        #expect(renewalsSeen.withLock { $0 } >= 10, "it saw the holder renew and kept waiting")
        #expect(table.state.withLock { $0.item?.pid } == 2)
        #expect(standby.version == table.state.withLock { $0.item?.version })
    }

    @Test("a released lease is handed on at once, and counts as taken over (a standby restores the replica)")
    func releaseHandsOn() async throws {
        let table = MemoryTable()
        let holder = Self.lease(table, pid: 1)
        _ = try await holder.acquire(wait: false)
        let clock = JumpingClock()
        clock.onSleep.withLock { $0 = { await holder.release() } }
        let standby = Self.lease(table, pid: 2, clock: clock)
        let acquired = try await standby.acquire(wait: true)
        #expect(clock.slept.withLock { $0 } < .seconds(30), "handed on well before the 30 s duration")
        guard case .takenOver(let from) = acquired else {
            Issue.record("\(acquired)")
            return
        }
        #expect(from.pid == 1)
    }

    @Test("a write performed but answered as a failed condition is recognised as ours by reading the item back")
    func lostAnswer() async throws {
        let table = MemoryTable()
        table.state.withLock { $0.loseNextAnswer = true }
        let lease = Self.lease(table, pid: 1)
        #expect(try await lease.acquire(wait: false) == .free)
        #expect(lease.version == table.state.withLock { $0.item?.version })
    }

    @Test("a holder whose lease another took stops with a LeaseFailure naming the new holder")
    func lostLeaseStops() async throws {
        let table = MemoryTable()
        let holder = Self.lease(table, pid: 1)
        _ = try await holder.acquire(wait: false)
        table.state.withLock {
            $0.item = LeaseRecord(host: "host-9", pid: 9, version: "theirs", duration: 30, since: "now")
        }
        do {
            try await holder.renewLoop()
            Issue.record("kept a lease somebody else holds")
        } catch let failure as LeaseFailure {
            #expect(failure.description.contains("pid 9 on host-9"), "\(failure)")
        }
    }

    @Test("a holder that cannot reach the table keeps trying, and stops once half its duration passed unconfirmed")
    func unreachableTableStops() async throws {
        let table = MemoryTable()
        let clock = JumpingClock()
        let holder = Self.lease(table, pid: 1, duration: 30, clock: clock)
        _ = try await holder.acquire(wait: false)
        table.state.withLock { $0.failing = true }
        #expect(try await holder.renew() == false, "a failed renewal is not the end by itself")
        let started = clock.now()
        do {
            try await holder.deadlineWatch()
            Issue.record("kept working without a confirmed renewal")
        } catch let failure as LeaseFailure {
            #expect(failure.description.contains("half its duration"), "\(failure)")
        }
        let stoppedAfter = clock.now() - started
        #expect(stoppedAfter >= .seconds(15) && stoppedAfter < .seconds(30), "stopped after \(stoppedAfter)")
        // A renewal confirmed moves the deadline on.
        table.state.withLock { $0.failing = false }
        #expect(try await holder.renew())
    }
}
