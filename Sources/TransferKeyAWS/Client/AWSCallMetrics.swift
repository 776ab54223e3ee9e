import Synchronization

/// Counts of the HTTP attempts an ``AWSRequestExecutor`` made, for the daemon's metrics file: every
/// attempt by service and operation, failed attempts by error code too, and throttled answers.
///
/// A retried call counts once per attempt, so throttling that the retry loop absorbed still shows.
public final class AWSCallMetrics: Sendable {
    /// A service and operation, e.g. `kms` `ListAliases`.
    public struct Operation: Hashable, Sendable, Comparable {
        /// The service, e.g. `kms`.
        public var service: String
        /// The operation, e.g. `ScheduleKeyDeletion`.
        public var operation: String

        public static func < (lhs: Self, rhs: Self) -> Bool {
            (lhs.service, lhs.operation) < (rhs.service, rhs.operation)
        }
    }

    /// The counts at one instant.
    public struct Snapshot: Sendable, Equatable {
        /// Attempts by operation.
        public var calls: [Operation: Int] = [:]
        /// Failed attempts by operation and error code (AWS's, or a transport code such as `ConnectionRefused`).
        public var errors: [Operation: [String: Int]] = [:]
        /// Throttled attempts by operation.
        public var throttled: [Operation: Int] = [:]
    }

    private struct State {
        var counts = Snapshot()
        var lastAttempt: ContinuousClock.Instant?
    }

    private let state = Mutex(State())

    /// When the last attempt ended (answered or failed): progress, for the daemon's watchdog feeder.
    public var lastActivity: ContinuousClock.Instant? { state.withLock { $0.lastAttempt } }

    /// Creates empty counters.
    public init() {}

    /// Records one attempt (and progress on the current task's ``ProgressMark``); `errorCode` nil when it succeeded.
    public func record(service: String, operation: String, errorCode: String?, isThrottled: Bool = false) {
        ProgressMark.current?.mark()
        let key = Operation(service: service, operation: operation)
        state.withLock { state in
            state.counts.calls[key, default: 0] += 1
            state.lastAttempt = .now
            if let errorCode { state.counts.errors[key, default: [:]][Self.boundedCode(errorCode), default: 0] += 1 }
            if isThrottled { state.counts.throttled[key, default: 0] += 1 }
        }
    }

    /// The error code as a metrics label: codes matching `[A-Za-z0-9._-]{1,64}` as they are, anything else
    /// (a forged or garbled answer) as `other`, so label values stay few and harmless.
    public static func boundedCode(_ code: String) -> String {
        let isPlain =
            (1...64).contains(code.utf8.count)
            && code.utf8.allSatisfy { byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                    || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: ".")
                    || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
            }
        return isPlain ? code : "other"
    }

    /// The counts so far.
    public var snapshot: Snapshot { state.withLock { $0.counts } }
}
