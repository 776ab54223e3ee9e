import Foundation
import Logging
import TransferKeyDaemon

/// Lines written through a `DaemonLogHandler`, kept in memory instead of going to stderr.
final class CapturedLog: @unchecked Sendable {
    private let lock = NSLock()
    private var written: [String] = []

    /// Every write so far, one string per call (each should be exactly one line).
    var writes: [String] { lock.withLock { written } }

    /// Every line so far, without the newline.
    var lines: [String] {
        writes.joined().split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
    }

    /// A sink that records into this log.
    var sink: LogSink { LogSink { [self] line in lock.withLock { written.append(line) } } }

    /// The fixed time plain lines are stamped with.
    /// 2026-11-28T23:18:16.123Z; the extra half millisecond keeps rounding from showing .122.
    static let fixedTime = Date(timeIntervalSince1970: 1_795_907_896.1235)

    /// A logger writing `format` lines at `level` and above into this log.
    func logger(format: DaemonLogHandler.Format = .plain, level: Logger.Level = .trace) -> Logger {
        let sink = sink
        return Logger(label: "test") { label in
            DaemonLogHandler(label: label, format: format, logLevel: level, sink: sink, now: { Self.fixedTime })
        }
    }

    /// A plain-format logger at trace level.
    var logger: Logger { logger() }
}
