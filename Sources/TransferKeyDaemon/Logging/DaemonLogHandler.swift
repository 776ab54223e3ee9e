import Foundation
import Logging
import TransferKeyCore

/// The daemon's `LogHandler`: one line per event on stderr, for journald or for a terminal.
///
/// Under journald (`JOURNAL_STREAM` set) a line is `<6>message key=value …`: the `<N>` prefix
/// becomes the entry's priority and journald adds the time. Elsewhere it is
/// `2026-11-28T23:18:16.123Z info message key=value …` in UTC. Secrets are redacted
/// (see `LogRedaction`) before anything is written.
public struct DaemonLogHandler: LogHandler {
    /// How lines are laid out.
    public enum Format: Sendable {
        /// `<N>` syslog priority prefix, no timestamp: journald adds its own.
        case journald
        /// UTC timestamp and level name first.
        case plain
    }

    /// The logger's label (not printed: one process, one log).
    public let label: String
    /// The layout of each line.
    public let format: Format
    /// Events below this level are dropped by `Logger`.
    public var logLevel: Logger.Level
    /// Metadata attached to every event of this logger.
    public var metadata: Logger.Metadata = [:]
    /// Contextual metadata (task locals), read at each event.
    public var metadataProvider: Logger.MetadataProvider?

    private let sink: LogSink
    private let now: @Sendable () -> Date

    /// A handler writing `format` lines at `logLevel` and above to `sink`; `now` stamps plain lines.
    public init(
        label: String,
        format: Format,
        logLevel: Logger.Level = .info,
        sink: LogSink = .standardError,
        metadataProvider: Logger.MetadataProvider? = nil,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.label = label
        self.format = format
        self.logLevel = logLevel
        self.sink = sink
        self.metadataProvider = metadataProvider
        self.now = now
    }

    /// Reads and writes one metadata entry of this logger.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Formats `event` as one line and writes it.
    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() {
            merged.merge(provided) { _, provided in provided }
        }
        if let explicit = event.metadata {
            merged.merge(explicit) { _, explicit in explicit }
        }
        if let error = event.error, merged["error"] == nil {
            merged["error"] = "\(error)"
        }
        sink.write(line(level: event.level, message: "\(event.message)", metadata: merged))
    }

    /// The line (with its `\n`) for one event.
    func line(level: Logger.Level, message: String, metadata: Logger.Metadata) -> String {
        var line: String
        switch format {
        case .journald:
            line = "<\(Self.syslogPriority(level))>"
        case .plain:
            line = "\(Timestamp.string(now())) \(level.rawValue) "
        }
        line += LogLineEncoding.escapeMessage(LogRedaction.scrub(message))
        for (key, value) in LogLineEncoding.orderedFields(metadata) {
            let shown = LogRedaction.isSecretKey(key) ? LogRedaction.placeholder : LogRedaction.scrub(value)
            line += " \(LogLineEncoding.sanitizeKey(key))=\(LogLineEncoding.quoteValue(shown))"
        }
        return line + "\n"
    }

    /// The syslog priority journald reads from a `<N>` prefix (`sd-daemon(3)`).
    static func syslogPriority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }
}
