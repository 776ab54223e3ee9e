import Foundation
import Logging
import Synchronization

extension DaemonLogHandler {
    /// Environment variable naming the lowest level logged (`trace` … `critical`).
    public static let logLevelVariable = "TRANSFERKEYD_LOG_LEVEL"

    /// `.journald` when stderr is connected to the journal (`JOURNAL_STREAM` set), else `.plain`.
    public static func format(environment: [String: String]) -> Format {
        // systemd sets JOURNAL_STREAM for StandardError=journal, the default for services.
        environment["JOURNAL_STREAM"].map { $0.isEmpty ? Format.plain : .journald } ?? .plain
    }

    /// The level named by `TRANSFERKEYD_LOG_LEVEL` (case-insensitive), or `nil` when it names none.
    public static func logLevel(environment: [String: String]) -> Logger.Level? {
        guard let text = environment[logLevelVariable]?.trimmingCharacters(in: .whitespaces), !text.isEmpty
        else { return .info }
        return Logger.Level(rawValue: text.lowercased())
    }

    /// Makes every `Logger` of the process write through a `DaemonLogHandler` to stderr.
    ///
    /// Only the first call has an effect (`LoggingSystem.bootstrap` may run once per process);
    /// later calls return `false`. An unknown `TRANSFERKEYD_LOG_LEVEL` falls back to `info`
    /// and says so in the log rather than stopping the daemon.
    @discardableResult
    public static func bootstrap(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        sink: LogSink = .standardError
    ) -> Bool {
        let isFirst = bootstrapState.withLock { done in
            defer { done = true }
            return !done
        }
        guard isFirst else { return false }
        let chosenFormat = Self.format(environment: environment)
        let level = Self.logLevel(environment: environment)
        LoggingSystem.bootstrap { label in
            DaemonLogHandler(label: label, format: chosenFormat, logLevel: level ?? .info, sink: sink)
        }
        if level == nil {
            Logger(label: "transferkeyd").warning(
                "unknown log level; using info",
                metadata: [
                    "variable": "\(logLevelVariable)",
                    "value": "\(environment[logLevelVariable] ?? "")",
                    "expected": "trace, debug, info, notice, warning, error or critical",
                ])
        }
        return true
    }

    private static let bootstrapState = BootstrapState()
}

/// Remembers whether the logging system was set up, behind a lock.
private final class BootstrapState: Sendable {
    private let done = Mutex(false)

    func withLock<T>(_ body: (inout Bool) -> T) -> T {
        done.withLock { body(&$0) }
    }
}
