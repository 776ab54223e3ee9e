import Foundation

/// Runs blocking work on its own thread (not the Swift concurrency pool, which two blocked
/// SQLite calls could exhaust on a 2-core machine) and hands back its result.
final class Background<T: Sendable>: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var result: Result<T, any Error>?

    /// Starts `work` at once.
    init(_ work: @escaping @Sendable () throws -> T) {
        let thread = Thread { [self] in
            let outcome = Result { try work() }
            lock.withLock { result = outcome }
            done.signal()
        }
        thread.start()
    }

    /// Waits for the work to finish and returns its value or throws its error.
    func value() throws -> T {
        done.wait()
        done.signal()
        return try lock.withLock { result! }.get()
    }
}
