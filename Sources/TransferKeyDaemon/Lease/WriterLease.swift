import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import TransferKeyCore

/// Why the daemon may not work: the lease is somebody else's, or this holder could not confirm it in time.
public struct LeaseFailure: Error, CustomStringConvertible {
    public var description: String
}

/// One writer across hosts: taking the lease, and keeping it while the daemon works.
///
/// The lease is an item with a random version the holder replaces every third of `duration`; every change of holder
/// is a conditional write, so AWS decides every race. A contender that sees the version unchanged for the holder's
/// whole `duration` (measured on its own monotonic clock) takes over; a holder that has not had a renewal confirmed
/// for half its `duration` (on its monotonic clock, from when the confirmed write was sent) stops working and exits,
/// so it has stopped before anyone may take over. No wall clock is compared across hosts (the DynamoDB lock client's
/// design). A hand-written algorithm, because no maintained Swift package implements it over our AWS client.
public final class WriterLease: Sendable {
    public enum Acquired: Sendable, Equatable {
        /// Nobody held it.
        case free
        /// Somebody held it: it renewed nothing for its whole duration, or released it.
        case takenOver(from: LeaseRecord)
    }

    let table: any LeaseTable
    let duration: Duration
    let host: String
    let pid: Int
    let logger: Logger
    let now: @Sendable () -> ContinuousClock.Instant
    let sleep: @Sendable (Duration) async throws -> Void
    private let state: Mutex<(version: String, confirmedAt: ContinuousClock.Instant)?>

    public init(
        table: any LeaseTable, duration: TimeInterval, host: String = ProcessInfo.processInfo.hostName,
        pid: Int = Int(ProcessInfo.processInfo.processIdentifier), logger: Logger,
        now: @escaping @Sendable () -> ContinuousClock.Instant = { .now },
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
    ) {
        self.now = now
        self.table = table
        self.duration = .milliseconds(Int64(duration * 1000))
        self.host = host
        self.pid = pid
        self.logger = logger
        self.sleep = sleep
        state = Mutex(nil)
    }

    /// The version this daemon last wrote, while it holds the lease.
    public var version: String? { state.withLock { $0?.version } }

    private func record(version: String) -> LeaseRecord {
        LeaseRecord(
            host: host, pid: pid, version: version,
            duration: Double(duration.components.seconds)
                + Double(duration.components.attoseconds) / 1e18, since: Timestamp.string(Date()))
    }

    /// Writes a new version if the item's is `expected`; a write whose answer was lost and whose retry failed the
    /// condition is recognised by reading the item back.
    private func claim(ifVersion expected: String?) async throws -> Bool {
        let mine = record(version: UUID().uuidString)
        let sent = now()
        if try await table.write(mine, ifVersion: expected) == false {
            guard try await table.read()?.version == mine.version else { return false }
        }
        state.withLock { $0 = (mine.version, sent) }
        return true
    }

    /// Takes the lease. With `wait` false, a live holder (its version changes while watched) is a `LeaseFailure`
    /// naming it; with `wait` true (a standby) it keeps watching, calling `waiting` each time the holder renews.
    public func acquire(wait: Bool, waiting: @Sendable (LeaseRecord) -> Void = { _ in }) async throws -> Acquired {
        // The last holder seen: a lease found free after that was handed on (a clean stop), not free from the start.
        var seen: LeaseRecord?
        while true {
            try Task.checkCancellation()
            guard var observed = try await table.read() else {
                if try await claim(ifVersion: nil) { return seen.map { .takenOver(from: $0) } ?? .free }
                continue
            }
            seen = observed
            if wait { waiting(observed) }
            var since = now()
            var changed = false
            // Watch for the holder's whole promise (and never less than ours).
            while true {
                let promise = max(duration, .milliseconds(Int64(observed.duration * 1000)))
                let left = promise - (now() - since)
                if left <= .zero { break }
                try await sleep(min(left, duration / 6))
                guard let again = try await table.read() else {
                    changed = true
                    break
                }
                if again.version != observed.version {
                    guard wait else {
                        throw LeaseFailure(
                            description: "another transferkeyd holds the writer lease: \(again); it renewed while "
                                + "this one watched. Stop it first, or set [lease] standby = true to wait for it")
                    }
                    observed = again
                    seen = again
                    since = now()
                    waiting(again)
                }
            }
            if changed { continue }
            if try await claim(ifVersion: observed.version) {
                logger.warning(
                    "took the writer lease over from \(observed): it renewed nothing for \(observed.duration) s")
                return .takenOver(from: observed)
            }
        }
    }

    /// Renews the lease every third of `duration` until cancelled; throws when it is somebody else's, or when no
    /// renewal was confirmed for half of `duration` (then another host may soon take over: stop working first).
    public func keep() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.renewLoop() }
            group.addTask { try await self.deadlineWatch() }
            try await group.next()
            group.cancelAll()
        }
    }

    func renewLoop() async throws {
        while true {
            try await sleep(duration / 3)
            _ = try await renew()
        }
    }

    /// One renewal: true when confirmed, false when the table could not be reached (logged; the deadline watch
    /// decides when that is too long); a `LeaseFailure` when the lease is somebody else's.
    func renew() async throws -> Bool {
        guard let current = version else { throw LeaseFailure(description: "the writer lease is not held") }
        do {
            if try await claim(ifVersion: current) { return true }
            let holder = try? await table.read()
            throw LeaseFailure(
                description: "the writer lease was taken by \(holder.map { "\($0)" } ?? "nobody (the item is gone)")"
                    + "; this daemon stops so that only one writes")
        } catch let failure as LeaseFailure {
            throw failure
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            logger.warning("could not renew the writer lease (retried next)", metadata: ["error": "\(error)"])
            return false
        }
    }

    func deadlineWatch() async throws {
        while true {
            guard let confirmed = state.withLock({ $0?.confirmedAt }) else {
                throw LeaseFailure(description: "the writer lease is not held")
            }
            let left = confirmed + duration / 2 - now()
            if left <= .zero {
                throw LeaseFailure(
                    description: "no renewal of the writer lease was confirmed for half its duration; this daemon "
                        + "stops before another host may take over")
            }
            try await sleep(min(left, .seconds(1)))
        }
    }

    /// Hands the lease on at once (a clean stop); failures are logged, the lease then lapses after `duration`.
    public func release() async {
        guard let current = version else { return }
        do {
            try await table.release(version: current)
            state.withLock { $0 = nil }
        } catch {
            logger.warning("could not release the writer lease; it lapses by itself", metadata: ["error": "\(error)"])
        }
    }
}

/// Keeps the writer lease while the daemon's other services run; its failure stops them all.
public struct WriterLeaseService: Service {
    let lease: WriterLease

    public init(lease: WriterLease) { self.lease = lease }

    public func run() async throws {
        try await cancelWhenGracefulShutdown {
            do {
                try await lease.keep()
            } catch is CancellationError {
                return
            }
        }
    }
}
