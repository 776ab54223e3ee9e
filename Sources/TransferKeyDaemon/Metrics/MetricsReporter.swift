import Foundation
import Logging
import Synchronization
import TransferKeyAWS
import TransferKeyCore
import TransferKeyStore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes the daemon's metrics in Prometheus text format to `metrics_file`, for node_exporter's
/// textfile collector: atomically (a temporary file in the same folder, then rename), mode 0644.
///
/// Gauges of the transfers come from SQLite at each write (so they agree with `status`); counters
/// (AWS calls, errors, throttling, orphans found) count since this process started, which
/// Prometheus' `rate()` and `increase()` handle across restarts.
public final class MetricsReporter: Sendable {
    /// The file written.
    public let path: String
    let store: TransferStore
    let aws: AWSCallMetrics
    let logger: Logger
    private let state = Mutex(State())

    /// The last successful orphan scan of one account and region.
    private struct ScanMark {
        var account: String
        var region: String
        var at: Date
    }

    /// What the reporter remembers between writes.
    private struct State {
        var orphansFound = 0
        var lastCycleSeconds: Double?
        /// By "account/region".
        var lastSuccessfulScan: [String: ScanMark] = [:]
        var lastWriteFailed = false
    }

    /// Creates the reporter; nothing is written until ``write(now:isUp:)``.
    /// `ACCOUNT/REGION` of every configured pair; nil: every pair the database has scanned.
    let configuredPairs: Set<String>?

    public init(
        path: String, store: TransferStore, aws: AWSCallMetrics, logger: Logger, configuredPairs: Set<String>? = nil
    ) {
        self.configuredPairs = configuredPairs
        self.path = path
        self.store = store
        self.aws = aws
        self.logger = logger
    }

    /// Counts the orphans a scan recorded.
    public func record(scan: ScanReport) {
        let adopted = scan.regions.reduce(0) { $0 + $1.adopted.count }
        state.withLock { $0.orphansFound += adopted }
    }

    /// Remembers how long the last work cycle took.
    public func record(cycleDuration: Duration) {
        let seconds =
            Double(cycleDuration.components.seconds) + Double(cycleDuration.components.attoseconds) / 1e18
        state.withLock { $0.lastCycleSeconds = seconds }
    }

    /// The exposition at `now`; `isUp` false for the last write of a stopping daemon.
    public func render(now: Date, isUp: Bool = true) throws -> String {
        let status = try store.status(now: now, countingEvents: false)
        let (orphans, cycle, scans) = state.withLock { state in
            // Only the account × regions configured now: one `reconcile --config` with other regions leaves scan rows
            // that must not raise a stale-scan alert for ever.
            for scan in status.scans where scan.isOK && configuredPairs.map({ $0.contains(scan.pair) }) ?? true {
                let at = scan.finishedAt ?? scan.startedAt
                let key = "\(scan.accountID)/\(scan.region)"
                if let known = state.lastSuccessfulScan[key], known.at >= at { continue }
                state.lastSuccessfulScan[key] = ScanMark(account: scan.accountID, region: scan.region, at: at)
            }
            let scans = state.lastSuccessfulScan.values.sorted { ($0.account, $0.region) < ($1.account, $1.region) }
            return (state.orphansFound, state.lastCycleSeconds, scans)
        }
        let calls = aws.snapshot

        typealias Sample = PrometheusExposition.Sample
        var out = PrometheusExposition()
        out.add(
            "transferkeyd_up", help: "1 while the daemon runs; 0 written as it stops.", kind: .gauge,
            value: isUp ? 1 : 0)
        out.add(
            "transferkeyd_build_info", help: "The running transferkeyd's version.", kind: .gauge,
            samples: [Sample([("version", DaemonVersion.current)], 1)])
        out.add(
            "transferkeyd_transfers", help: "Transfers by state (every state, also at 0).", kind: .gauge,
            samples: TransferState.allCases.map { Sample([("state", $0.rawValue)], Double(status.counts[$0] ?? 0)) })
        out.add(
            "transferkeyd_keys_rescued_24h",
            help: "Keys whose deletion was cancelled in the last 24 h because something tried to use them (page).",
            kind: .gauge, value: Double(status.rescued.count))
        out.add(
            "transferkeyd_aws_failing_seconds",
            help: "How long transfers of an account and region have been failing transiently (retried with backoff).",
            kind: .gauge,
            samples: status.failing.compactMap { failing in
                failing.since.map {
                    Sample(
                        [("account", failing.accountID), ("region", failing.region)], max(0, now.timeIntervalSince($0)))
                }
            })
        let oldestAge = status.oldestActive.map(\.createdAt).map {
            max(0, now.timeIntervalSince($0))
        }
        out.add(
            "transferkeyd_oldest_active_transfer_age_seconds",
            help: "Age of the oldest unfinished transfer (0 when there is none).", kind: .gauge, value: oldestAge ?? 0)
        out.add(
            "transferkeyd_aws_calls_total", help: "AWS HTTP attempts (retries included) by service and operation.",
            kind: .counter,
            samples: calls.calls.sorted { $0.key < $1.key }.map {
                Sample([("service", $0.key.service), ("operation", $0.key.operation)], Double($0.value))
            })
        out.add(
            "transferkeyd_aws_errors_total", help: "Failed AWS attempts by service, operation and error code.",
            kind: .counter,
            samples: calls.errors.sorted { $0.key < $1.key }.flatMap { operation, codes in
                codes.sorted { $0.key < $1.key }.map { code, count -> Sample in
                    Sample(
                        [("service", operation.service), ("operation", operation.operation), ("code", code)],
                        Double(count))
                }
            })
        out.add(
            "transferkeyd_aws_throttled_total", help: "Throttled AWS answers by service and operation.", kind: .counter,
            samples: calls.throttled.sorted { $0.key < $1.key }.map {
                Sample([("service", $0.key.service), ("operation", $0.key.operation)], Double($0.value))
            })
        out.add(
            "transferkeyd_cycle_duration_seconds", help: "Duration of the last work cycle (poll, scan, due work).",
            kind: .gauge, value: cycle ?? 0)
        out.add(
            "transferkeyd_orphans_found_total", help: "Orphaned prefixed aliases recorded by the orphan scans.",
            kind: .counter, value: Double(orphans))
        out.add(
            "transferkeyd_last_successful_scan_timestamp_seconds",
            help: "Unix time of the last successful orphan scan per account and region.", kind: .gauge,
            samples: scans.map {
                Sample([("account", $0.account), ("region", $0.region)], $0.at.timeIntervalSince1970)
            })
        return out.text
    }

    /// Renders and replaces the file atomically; a failure is logged (once until a write succeeds again).
    public func write(now: Date, isUp: Bool = true) {
        do {
            try Self.replace(path: path, with: try render(now: now, isUp: isUp))
            if noteWrite(failed: false) { logger.notice("metrics file written again", metadata: ["path": "\(path)"]) }
        } catch {
            if !noteWrite(failed: true) {
                logger.error(
                    "cannot write the metrics file; retrying every cycle",
                    metadata: ["path": "\(path)", "error": "\(error)"])
            }
        }
    }

    /// Remembers whether the last write failed; returns whether the one before it had.
    private func noteWrite(failed: Bool) -> Bool {
        state.withLock { state in
            defer { state.lastWriteFailed = failed }
            return state.lastWriteFailed
        }
    }

    /// Writes `text` to a new temporary file beside `path` (mode 0644 whatever the umask), then renames it
    /// over `path`, so a reader sees the old file or the new one, never half of one.
    ///
    /// The temporary name is random and the file is created with `O_EXCL | O_NOFOLLOW`: a file or symlink
    /// planted in a shared folder is never opened, followed, truncated or re-moded.
    static func replace(path: String, with text: String) throws {
        let folder = (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        var temporary = ""
        var descriptor: Int32 = -1
        for _ in 0..<8 {
            let suffix = String(UInt64.random(in: .min ... .max), radix: 16)
            temporary = (folder.isEmpty ? "" : folder + "/") + ".\(name).\(suffix).tmp"
            descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            if descriptor >= 0 || errno != EEXIST { break }
        }
        guard descriptor >= 0 else { throw MetricsWriteError(path: temporary, call: "open", code: errno) }
        var ok = false
        defer {
            if !ok { unlink(temporary) }
        }
        do {
            defer { close(descriptor) }
            guard fchmod(descriptor, 0o644) == 0 else {
                throw MetricsWriteError(path: temporary, call: "fchmod", code: errno)
            }
            let bytes = Array(text.utf8)
            var written = 0
            while written < bytes.count {
                let result = bytes[written...].withUnsafeBytes { buffer in
                    #if canImport(Glibc)
                        Glibc.write(descriptor, buffer.baseAddress, buffer.count)
                    #else
                        Darwin.write(descriptor, buffer.baseAddress, buffer.count)
                    #endif
                }
                if result < 0 {
                    if errno == EINTR { continue }
                    throw MetricsWriteError(path: temporary, call: "write", code: errno)
                }
                written += result
            }
        }
        guard rename(temporary, path) == 0 else { throw MetricsWriteError(path: path, call: "rename", code: errno) }
        ok = true
    }
}

/// A system call failed while writing the metrics file.
struct MetricsWriteError: Error, CustomStringConvertible {
    var path: String
    var call: String
    var code: Int32

    var description: String { "\(call) \(path): \(String(cString: strerror(code)))" }
}
