import Synchronization

/// A moment of progress: a service's own turn, or an AWS attempt ending inside the work of the task that carries
/// the mark (``current``). The daemon's watchdog is fed only while every service's mark is recent.
public final class ProgressMark: Sendable {
    /// The mark of the work the current task does for a service: every AWS attempt that ends in it (answered or
    /// failed) marks progress, so a scan that lasts minutes through timeouts and retries still counts as alive.
    @TaskLocal public static var current: ProgressMark?

    private let instant = Mutex<ContinuousClock.Instant?>(nil)

    /// No progress yet.
    public init() {}

    /// Records progress now.
    public func mark() { instant.withLock { $0 = .now } }

    /// The last progress.
    public var last: ContinuousClock.Instant? { instant.withLock { $0 } }
}
