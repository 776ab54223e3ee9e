import ArgumentParser
import Foundation
import TransferKeyCore
import TransferKeyStore

/// `transferkeyd status`: health and counts, read from SQLite whether or not the daemon runs.
struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Show health and counts; exit 1 when the daemon is down, a transfer is stuck or refused, a key was rescued from deletion in the last day, or orphan cleanup is paused.",
        discussion: """
            Reads the database only, so it works whether or not the daemon runs. The daemon counts \
            as running while its heartbeat is younger than \(Int(Status.heartbeatWindow)) s (and, on \
            the same host, its pid exists). A daemon that is not running either stopped cleanly \
            (SIGTERM, exit 0) or left no heartbeat (crashed, killed, or the host went down): the \
            text says which and for how long. A `refused` transfer is a key that will not be \
            deleted until an operator decides; it counts as a problem like a `stuck` one.

            Fields of --json: see `man 8 transferkeyd` (JSON DOCUMENTS).
            """)

    /// A heartbeat older than this means the daemon is not running.
    static let heartbeatWindow: TimeInterval = 60

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Print one JSON document (fields in `man 8 transferkeyd`, JSON DOCUMENTS).")
    var json = false

    func run() async throws {
        let loaded = try global.loadConfig()
        guard try loaded.databaseExists() else {
            // Nothing ever ran here: that is a finding about the daemon, not an unavailable database.
            let problem = "daemon not running (no database at \(loaded.databasePath) yet)"
            if json {
                Console.out(
                    JSONValue.object([
                        "ok": false, "problems": [.string(problem)], "database": .string(loaded.databasePath),
                        "daemon": ["running": false],
                    ]).prettyText)
            } else {
                Console.out(
                    "daemon:    NOT running (no database at \(loaded.databasePath) yet: start the daemon or run `transferkeyd migrate`)\nhealth:    \(problem)"
                )
            }
            throw ExitCode(1)
        }
        let store = try loaded.openExistingStore()
        let now = Date()
        var status = try store.status(now: now)
        // Only the account × regions configured now (a one-off `reconcile --config` elsewhere leaves scan rows).
        if !loaded.config.accounts.isEmpty {
            let pairs = Set(loaded.config.configuredPairs)
            status.scans = status.scans.filter { pairs.contains($0.pair) }
        }
        let running = Self.isRunning(status.heartbeat, now: now)
        let stuckCount = status.counts[.stuck] ?? 0
        let refusedCount = status.counts[.refused] ?? 0
        var problems: [String] = []
        if !running { problems.append("daemon not running (\(Self.downReason(status.heartbeat, now: now)))") }
        if stuckCount > 0 { problems.append("\(plural(stuckCount, "transfer")) stuck") }
        if refusedCount > 0 {
            problems.append(
                "\(plural(refusedCount, "transfer")) refused (\(status.refused.map(\.importID).joined(separator: ", "))): "
                    + "a key that failed a safety check and will not be deleted until an operator decides; see `transferkeyd show ID`"
            )
        }
        if let reason = status.orphanCleanupPausedReason {
            problems.append("orphan cleanup paused (\(reason)); run `transferkeyd approve-orphans` once reviewed")
        }
        if !status.rescued.isEmpty {
            problems.append(
                "\(plural(status.rescued.count, "key")) rescued from deletion in the last 24 h because something "
                    + "still used them (\(status.rescued.map(\.importID).joined(separator: ", "))): AWS left them "
                    + "Disabled; an operator must decide (`transferkeyd show ID`)")
        }
        if let reason = status.heartbeat?.pausedReason, running { problems.append("daemon paused: \(reason)") }
        // Told from the file system itself: a full disk may keep the daemon from writing why it paused.
        let shortage = FileSystemSpace.shortage(forDatabaseAt: loaded.databasePath)
        if let shortage, status.heartbeat?.pausedReason != shortage {
            problems.append(running ? "daemon paused: \(shortage)" : shortage)
        }

        if json {
            Console.out(
                Self.document(status, running: running, problems: problems, databasePath: loaded.databasePath, now: now)
                    .prettyText)
        } else {
            Console.out(
                Self.text(status, running: running, problems: problems, databasePath: loaded.databasePath, now: now))
        }
        if !problems.isEmpty { throw ExitCode(1) }
    }

    static func isRunning(_ heartbeat: StatusSnapshot.Heartbeat?, now: Date) -> Bool {
        guard let heartbeat, heartbeat.stoppedAt == nil, now.timeIntervalSince(heartbeat.heartbeatAt) < heartbeatWindow
        else { return false }
        if heartbeat.hostname == ProcessInfo.processInfo.hostName {
            return kill(pid_t(heartbeat.pid), 0) == 0 || errno == EPERM
        }
        return true
    }

    /// Why a daemon that is not running is not: `stopped cleanly 4 min ago` or `no heartbeat for 4 min
    /// (crashed?) — systemctl status transferkeyd`.
    static func downReason(_ heartbeat: StatusSnapshot.Heartbeat?, now: Date) -> String {
        guard let heartbeat else { return "no daemon has run on this database yet" }
        if let stopped = heartbeat.stoppedAt {
            return "stopped cleanly \(HumanText.relative(stopped, now: now))"
        }
        let silence = HumanText.relative(heartbeat.heartbeatAt, now: now)
        let since = silence.hasSuffix(" ago") ? String(silence.dropLast(4)) : silence
        return "no heartbeat for \(since) (crashed?) — systemctl status transferkeyd"
    }

    /// Whole seconds since the running daemon started; nil when it is not running.
    static func uptime(_ heartbeat: StatusSnapshot.Heartbeat?, running: Bool, now: Date) -> Int? {
        guard running, let heartbeat else { return nil }
        return max(0, Int(now.timeIntervalSince(heartbeat.startedAt)))
    }

    /// `90061` → `1d 1h`, `3700` → `1h 1m`, `65` → `1m 5s`: the two largest units.
    static func humanDuration(seconds: Int) -> String {
        let units: [(String, Int)] = [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)]
        var parts: [String] = []
        var rest = seconds
        for (name, size) in units where rest >= size || (parts.isEmpty && size == 1) {
            parts.append("\(rest / size)\(name)")
            rest %= size
            if parts.count == 2 { break }
        }
        return parts.joined(separator: " ")
    }

    static func document(
        _ status: StatusSnapshot, running: Bool, problems: [String], databasePath: String, now: Date
    ) -> JSONValue {
        var counts: [String: JSONValue] = [:]
        for state in TransferState.allCases { counts[state.rawValue] = .int(Int64(status.counts[state] ?? 0)) }
        let daemon: JSONValue = [
            "running": .bool(running),
            "pid": status.heartbeat.map { .int(Int64($0.pid)) } ?? .null,
            "hostname": .string(status.heartbeat?.hostname),
            "version": .string(status.heartbeat?.version),
            "started_at": .time(status.heartbeat?.startedAt),
            "heartbeat_at": .time(status.heartbeat?.heartbeatAt),
            "stopped_at": .time(status.heartbeat?.stoppedAt),
            "uptime_seconds": uptime(status.heartbeat, running: running, now: now).map { .int(Int64($0)) } ?? .null,
            "paused_reason": .string(status.heartbeat?.pausedReason),
            // Null while it runs (it has not stopped at all); after a stop, whether it recorded stopping.
            "stopped_cleanly": running ? .null : status.heartbeat.map { .bool($0.stoppedAt != nil) } ?? .null,
        ]
        let brief = { (record: TransferRecord) -> JSONValue in
            [
                "import_id": .string(record.importID), "state": .string(record.state.rawValue),
                "account_id": .string(record.accountID), "region": .string(record.region),
                "key_id": .string(record.keyID), "deadline_at": .time(record.deadlineAt),
                "key_deletion_date": .time(record.keyDeletionDate), "last_error": .string(record.lastError),
                "created_at": .time(record.createdAt),
            ]
        }
        let scans = status.scans.map { scan -> JSONValue in
            [
                "account_id": .string(scan.accountID), "region": .string(scan.region),
                "started_at": .time(scan.startedAt), "finished_at": .time(scan.finishedAt), "ok": .bool(scan.isOK),
                "aliases_seen": .int(Int64(scan.aliasesSeen)), "orphans_found": .int(Int64(scan.orphansFound)),
                "error": .string(scan.error),
            ]
        }
        return [
            "ok": .bool(problems.isEmpty),
            "problems": .array(problems.map { .string($0) }),
            "database": .string(databasePath),
            "daemon": daemon,
            "counts": .object(counts),
            "oldest_active": status.oldestActive.map(brief) ?? .null,
            "overdue": .array(status.overdue.map(brief)),
            "stuck": .array(status.stuck.map(brief)),
            "refused": .array(status.refused.map(brief)),
            "rescued": .array(status.rescued.map(brief)),
            "orphan_cleanup_paused": .bool(status.orphanCleanupPausedReason != nil),
            "orphan_cleanup_paused_reason": .string(status.orphanCleanupPausedReason),
            "scans": .array(scans),
            "next_deletions": .array(status.nextDeletions.map(brief)),
            "deferred": .array(status.deferred.map(brief)),
            "retrying": .array(
                status.failing.map { failing -> JSONValue in
                    [
                        "account_id": .string(failing.accountID), "region": .string(failing.region),
                        "transfers": .int(Int64(failing.transfers)), "failing_since": .time(failing.since),
                        "failing_seconds": failing.since.map {
                            .int(Int64(max(0, now.timeIntervalSince($0))))
                        } ?? .null,
                        "last_error": .string(failing.lastError),
                    ]
                }),
            "snapshots_never_seen": .array(
                status.neverSeenSnapshots.map {
                    [
                        "import_id": .string($0.importID), "snapshot_id": .string($0.snapshotID),
                        "place": .string($0.place),
                    ]
                }),
            "events": .int(Int64(status.eventCount)),
        ]
    }

    static func text(
        _ status: StatusSnapshot, running: Bool, problems: [String], databasePath: String, now: Date
    ) -> String {
        var lines: [String] = []
        if let beat = status.heartbeat {
            let up = uptime(beat, running: running, now: now).map { "up \(humanDuration(seconds: $0)), " } ?? ""
            lines.append(
                running
                    ? "daemon:    running (pid \(beat.pid) on \(beat.hostname), version \(beat.version), \(up)since \(Timestamp.string(beat.startedAt)), heartbeat \(HumanText.at(beat.heartbeatAt, now: now)))"
                    : "daemon:    NOT running: \(downReason(beat, now: now)) (last heartbeat \(HumanText.at(beat.heartbeatAt, now: now)) from pid \(beat.pid) on \(beat.hostname))"
            )
        } else {
            lines.append("daemon:    NOT running (no daemon has run on this database yet)")
        }
        lines.append("database:  \(databasePath) (\(plural(status.eventCount, "audit event")))")
        let counts = TransferState.allCases.map { "\($0.rawValue)=\(status.counts[$0] ?? 0)" }.joined(separator: " ")
        lines.append("transfers: \(counts)")
        if let oldest = status.oldestActive {
            lines.append(
                "oldest:    \(oldest.importID) (\(oldest.state.rawValue) since \(HumanText.at(oldest.createdAt, now: now)), deadline \(HumanText.at(oldest.deadlineAt, now: now)))"
            )
        }
        lines.append(
            "orphans:   " + (status.orphanCleanupPausedReason.map { "cleanup PAUSED: \($0)" } ?? "cleanup enabled"))
        for scan in status.scans {
            lines.append(
                "scan:      \(scan.accountID)/\(scan.region) at \(HumanText.at(scan.startedAt, now: now)): "
                    + (scan.isOK
                        ? "ok, \(plural(scan.aliasesSeen, "alias", plural: "aliases")), \(plural(scan.orphansFound, "orphan"))"
                        : "FAILED: \(scan.error ?? "?")"))
        }
        for record in status.overdue {
            lines.append(
                "overdue:   \(record.importID) \(record.state.rawValue), deadline \(HumanText.at(record.deadlineAt, now: now))"
            )
        }
        for record in status.stuck {
            lines.append(
                "stuck:     \(record.importID) \(record.accountID)/\(record.region): \(record.lastError ?? "?") — fix, then `transferkeyd retry \(record.importID)`"
            )
        }
        for record in status.refused {
            lines.append(
                "refused:   \(record.importID) \(record.accountID)/\(record.region): \(record.lastError ?? "?") — decide by hand: `transferkeyd show \(record.importID)`"
            )
        }
        for failing in status.failing {
            let since = failing.since.map {
                humanDuration(seconds: max(0, Int(now.timeIntervalSince($0))))
            }
            lines.append(
                "retrying:  AWS failing for \(since ?? "?") in \(failing.accountID)/\(failing.region): "
                    + "\(plural(failing.transfers, "transfer")) retried with backoff until it answers "
                    + "(last: \(failing.lastError ?? "?"))")
        }
        for record in status.deferred {
            lines.append(
                "deferred:  \(record.importID) \(record.accountID)/\(record.region): \(record.lastError ?? "?"); next look \(HumanText.at(record.nextAttemptAt, now: now))"
            )
        }
        for entry in status.neverSeenSnapshots {
            lines.append(
                "unseen:    \(entry.importID) snapshot \(entry.snapshotID) never seen in \(entry.place): wrong --snapshot-account or --snapshot-region? Only the lease ends this import"
            )
        }
        for record in status.nextDeletions {
            lines.append(
                "deletion:  \(record.importID) key \(record.keyID ?? "-") on \(HumanText.at(record.keyDeletionDate, now: now))"
            )
        }
        lines.append(problems.isEmpty ? "health:    ok" : "health:    " + problems.joined(separator: "; "))
        return lines.joined(separator: "\n")
    }
}
