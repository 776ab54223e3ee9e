import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where finished log lines go, one whole line at a time.
///
/// All loggers of the process share one sink; its lock makes sure two tasks logging at the
/// same instant produce two intact lines, never one interleaved mess.
public final class LogSink: Sendable {
    /// Held while a line is written: one writer at a time.
    private let lock = Mutex(())
    private let writeLine: @Sendable (String) -> Void

    /// A sink that hands each line (ending in `\n`) to `writeLine`, one call at a time.
    public init(writeLine: @escaping @Sendable (String) -> Void) {
        self.writeLine = writeLine
    }

    /// The process's standard error, where systemd (or a terminal) collects the log.
    public static let standardError = LogSink { line in
        var bytes = Array(line.utf8)[...]
        // write(2) may take less than asked (a pipe under pressure) or be interrupted.
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { systemWrite(STDERR_FILENO, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                return  // Nowhere left to report a broken stderr; dropping the line beats dying.
            }
            bytes = bytes.dropFirst(written)
        }
    }

    /// Writes `line`, which already ends in a newline.
    public func write(_ line: String) {
        lock.withLock { _ in writeLine(line) }
    }
}

#if canImport(Glibc)
    private let systemWrite = Glibc.write
#elseif canImport(Darwin)
    private let systemWrite = Darwin.write
#endif
