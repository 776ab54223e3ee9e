import ArgumentParser
import Foundation
import TransferKeyCore
import TransferKeyStore

/// `transferkeyd show`: one transfer and its audit timeline.
struct Show: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show one transfer, its snapshots and its audit timeline.",
        discussion: """
            The first line says, in plain words, where the transfer is and what to do next (if \
            anything). Times are UTC, with how long ago or how far ahead they are. ID is the import \
            id, the key id or the key ARN (as CloudTrail shows it).
            """)

    @OptionGroup var global: GlobalOptions

    @OptionGroup var target: TransferIDArgument

    @Flag(help: "Print one JSON document: {\"transfer\": {...}, \"events\": [...]} (fields in `man 8 transferkeyd`).")
    var json = false

    func run() async throws {
        let loaded = try global.loadConfig()
        let reference = try target.reference()
        let store = try loaded.openExistingStore()
        guard let record = try store.transfer(matching: reference) else {
            throw TransferStoreError.notFound(reference)
        }
        let snapshots = try store.snapshots(importID: record.importID)
        let events = try store.events(importID: record.importID)
        if json {
            Console.out(
                JSONValue.object(["transfer": record.json(snapshots: snapshots), "events": .array(events.map(\.json))])
                    .prettyText)
            return
        }
        Console.out(Self.text(record, snapshots: snapshots, events: events, now: Date(), width: Console.width))
    }

    /// The plain-words line that opens `show`: where the transfer is and the next action.
    static func summary(_ record: TransferRecord, snapshots: [SnapshotRecord], now: Date) -> String {
        let id = record.importID
        let deletion = record.keyDeletionDate.map { HumanText.at($0, now: now) } ?? "its deletion date"
        switch record.state {
        case .creating:
            return "being created: the key and its alias are being made; the daemon finishes the create or parks it "
                + "as stuck when no key was made"
        case .active:
            let done = snapshots.filter { $0.state == SnapshotState.completed.rawValue }.count
            let waiting =
                snapshots.isEmpty
                ? "waiting for `transferkeyd complete \(id)`"
                : "waiting for the import: \(done) of \(plural(snapshots.count, "snapshot copy", plural: "snapshot copies")) completed"
            return "\(waiting); cleanup at the latest at the lease's end, \(HumanText.at(record.deadlineAt, now: now))"
        case .cleanupDue:
            let how =
                record.attempts == 0
                ? "the daemon re-checks the key and schedules its deletion now"
                : "attempt \(record.attempts) failed (\(record.lastError ?? "?")); the daemon tries again at "
                    + HumanText.at(record.nextAttemptAt, now: now)
            return "import ended (\(record.completion?.rawValue ?? "?")); \(how)"
        case .keyScheduled:
            return "key pending deletion until \(deletion); its alias is removed next; "
                + "rescue with `transferkeyd cancel-deletion \(id)` before then"
        case .cleaned:
            return "alias removed; key pending deletion until \(deletion); "
                + "rescue with `transferkeyd cancel-deletion \(id)` before then"
        case .deleted:
            return "done: AWS deleted the key; nothing left to do"
        case .stuck:
            return "STUCK: \(record.lastError ?? "no error recorded"); fix the cause (`transferkeyd check`, "
                + "`transferkeyd policy`), then `transferkeyd retry \(id)`; if the record itself is wrong (a wrong "
                + "--region or key id), close it: `transferkeyd close \(id) --reason \"…\"`"
        case .refused:
            let rule = record.lastError.flatMap { $0.split(separator: ":", maxSplits: 1).first }
                .flatMap { SafetyRule(rawValue: String($0)) }
            if let rule, rule.isWaivable {
                // Only a person can supply what is missing: the words for it are `accept`, not a fix and retry.
                return "REFUSED, key left untouched: \(record.lastError ?? "no reason recorded"); review it (the key's "
                    + "age, aliases and the missing evidence are below): if it is an abandoned transfer key, "
                    + "`transferkeyd accept \(id) --reason \"…\"`; if it is not, `transferkeyd close \(id) --reason \"…\"`"
            }
            return "REFUSED, key left untouched: \(record.lastError ?? "no reason recorded"); decide by hand: if it "
                + "really is a transfer key, remove what made it unsafe (a foreign alias, say) and run "
                + "`transferkeyd retry \(id)`; if it is not, `transferkeyd close \(id) --reason \"…\"`"
        case .cancelled:
            return "deletion cancelled: the key stays (AWS leaves it Disabled; "
                + "`aws kms enable-key --key-id \(record.keyID ?? "KEY")` to use it again); nothing more happens"
        }
    }

    /// When the daemon looks at the transfer next, named for what it will do then; nil when nothing is planned.
    static func nextStep(_ record: TransferRecord) -> String? {
        switch record.state {
        case .creating, .cleanupDue, .keyScheduled: "next attempt"
        case .cleaned: "next check that AWS deleted it"
        case .active: "lease ends"
        case .deleted, .stuck, .refused, .cancelled: nil
        }
    }

    static func text(
        _ record: TransferRecord, snapshots: [SnapshotRecord], events: [AuditEvent], now: Date, width: Int
    ) -> String {
        var fields = TextTable("FIELD", "VALUE")
        var rows: [(String, String?)] = [
            ("import id", record.importID), ("state", record.state.rawValue), ("origin", record.origin.rawValue),
            ("account", record.accountID), ("region", record.region), ("key id", record.keyID),
            ("key arn", record.keyARN), ("alias", record.aliasName),
            ("created", HumanText.at(record.createdAt, now: now)),
            ("deadline", HumanText.at(record.deadlineAt, now: now)),
            (
                "completed",
                record.completedAt.map { "\(HumanText.at($0, now: now)) (\(record.completion?.rawValue ?? "?"))" }
            ),
            ("deletion date", record.keyDeletionDate.map { HumanText.at($0, now: now) }),
        ]
        // Attempts count failed tries of a step; in a state with no step to try they mean nothing.
        if record.attempts > 0 || [.creating, .cleanupDue, .keyScheduled].contains(record.state) {
            rows.append(("attempts", String(record.attempts)))
        }
        if let label = nextStep(record), let next = record.nextAttemptAt,
            label != "lease ends" || next != record.deadlineAt
        {
            rows.append((label, HumanText.at(next, now: now)))
        }
        rows.append(("last error", record.lastError))
        for (name, value) in rows { fields.add(name, value ?? "-") }
        var output = "\(record.importID): \(summary(record, snapshots: snapshots, now: now))\n\n" + fields.rendered
        if !snapshots.isEmpty {
            var table = TextTable("SNAPSHOT", "STATE", "CHECKED")
            for snapshot in snapshots {
                table.add(snapshot.snapshotID, snapshot.state, HumanText.at(snapshot.checkedAt, now: now))
            }
            output += "\n\n" + table.rendered
        }
        var timeline = TextTable("AT", "EVENT", "ACTOR", "DETAIL")
        for event in events {
            timeline.add(
                event.date.map { HumanText.at($0, now: now) } ?? event.at, event.kind, event.actor,
                Self.readable(detail: event.detail))
        }
        output += "\n\n" + timeline.rendered(wrappingLastColumnAt: width)
        return output
    }

    /// An event's stored JSON detail as `key=value` pairs, keys sorted, nulls left out, lists and nested
    /// objects with a space after each comma (so they wrap); the text as stored when it is not a JSON object.
    static func readable(detail: String) -> String {
        guard let object = try? JSONDecoder().decode([String: DetailValue].self, from: Data(detail.utf8)) else {
            return detail
        }
        return object.keys.sorted().compactMap { key -> String? in
            guard let value = object[key], value != .null else { return nil }
            return "\(key)=\(value.readable)"
        }.joined(separator: " ")
    }
}
