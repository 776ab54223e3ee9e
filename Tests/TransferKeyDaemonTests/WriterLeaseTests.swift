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

    static func lease(_ table: MemoryTable, pid: Int, duration: TimeInterval = 0.4) -> WriterLease {
        WriterLease(table: table, duration: duration, host: "host-\(pid)", pid: pid, logger: Logger(label: "test"))
    }

    @Test("a free lease is taken at once; a live holder makes a second daemon refuse, naming its pid and host")
    func liveHolderRefuses() async throws {
        let table = MemoryTable()
        let first = Self.lease(table, pid: 1)
        #expect(try await first.acquire(wait: false) == .free)
        let keeper = Task { try await first.keep() }
        defer { keeper.cancel() }
        let second = Self.lease(table, pid: 2)
        do {
            _ = try await second.acquire(wait: false)
            Issue.record("a second daemon took a live lease")
        } catch let failure as LeaseFailure {
            #expect(failure.description.contains("pid 1 on host-1"), "\(failure)")
        }
        #expect(table.state.withLock { $0.item?.pid } == 1)
    }

    @Test("a holder that renews nothing is taken over only after its whole duration, measured by the contender")
    func deadHolderTakenOver() async throws {
        let table = MemoryTable()
        let dead = Self.lease(table, pid: 1, duration: 0.6)
        #expect(try await dead.acquire(wait: false) == .free)
        let contender = Self.lease(table, pid: 2, duration: 0.2)
        let started = ContinuousClock.now
        let acquired = try await contender.acquire(wait: false)
        let waited = ContinuousClock.now - started
        guard case .takenOver(let from) = acquired else {
            Issue.record("not taken over: \(acquired)")
            return
        }
        #expect(from.pid == 1)
        // The dead holder's own promise (0.6 s), not the contender's shorter one.
        #expect(waited >= .milliseconds(600), "took over after \(waited)")
        #expect(table.state.withLock { $0.item?.pid } == 2)
    }

    @Test("a standby waits through renewals and takes over once the holder stops renewing")
    func standbyTakesOver() async throws {
        let table = MemoryTable()
        let holder = Self.lease(table, pid: 1, duration: 0.3)
        _ = try await holder.acquire(wait: false)
        let keeper = Task { try await holder.keep() }
        let renewalsSeen = Mutex(0)
        let standby = Self.lease(table, pid: 2, duration: 0.3)
        let waiting = Task {
            try await standby.acquire(wait: true) { _ in renewalsSeen.withLock { $0 += 1 } }
        }
        try await Task.sleep(for: .milliseconds(900))
        #expect(table.state.withLock { $0.item?.pid } == 1, "the standby took a live lease")
        #expect(renewalsSeen.withLock { $0 } >= 2)
        keeper.cancel()
        let acquired = try await waiting.value
        #expect(table.state.withLock { $0.item?.pid } == 2)
        guard case .takenOver(let from) = acquired else {
            Issue.record("\(acquired)")
            return
        }
        #expect(from.pid == 1)
    }

    @Test("a released lease is handed on at once, and counts as taken over (a standby restores the replica)")
    func releaseHandsOn() async throws {
        let table = MemoryTable()
        let holder = Self.lease(table, pid: 1, duration: 5)
        _ = try await holder.acquire(wait: false)
        let standby = Self.lease(table, pid: 2, duration: 5)
        let waiting = Task { try await standby.acquire(wait: true) }
        try await Task.sleep(for: .milliseconds(100))
        await holder.release()
        let started = ContinuousClock.now
        let acquired = try await waiting.value
        #expect(ContinuousClock.now - started < .seconds(3), "handed on well before the 5 s duration")
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
        let holder = Self.lease(table, pid: 1, duration: 0.3)
        _ = try await holder.acquire(wait: false)
        table.state.withLock {
            $0.item = LeaseRecord(host: "host-9", pid: 9, version: "theirs", duration: 0.3, since: "now")
        }
        do {
            try await holder.keep()
            Issue.record("kept a lease somebody else holds")
        } catch let failure as LeaseFailure {
            #expect(failure.description.contains("pid 9 on host-9"), "\(failure)")
        }
    }

    @Test("a holder that cannot reach the table stops within half its duration, before a contender may take over")
    func unreachableTableStops() async throws {
        let table = MemoryTable()
        let holder = Self.lease(table, pid: 1, duration: 0.6)
        _ = try await holder.acquire(wait: false)
        table.state.withLock { $0.failing = true }
        let started = ContinuousClock.now
        do {
            try await holder.keep()
            Issue.record("kept working without a confirmed renewal")
        } catch let failure as LeaseFailure {
            #expect(failure.description.contains("half its duration"), "\(failure)")
        }
        let stoppedAfter = ContinuousClock.now - started
        #expect(stoppedAfter < .milliseconds(600), "stopped after \(stoppedAfter): a contender may take over at 0.6 s")
    }
}
