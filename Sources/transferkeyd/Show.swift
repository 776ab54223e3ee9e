import ArgumentParser
import Foundation
import TransferKeyCore
import TransferKeyStore

/// `transferkeyd show`: one transfer and its audit timeline.
struct Show: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show one transfer, its snapshots and its audit timeline.")

    @OptionGroup var global: GlobalOptions

    @OptionGroup var target: TransferIDArgument

    @Flag(help: "Print one JSON document: {\"transfer\": {...}, \"events\": [...]}.")
    var json = false

    func run() async throws {
        let loaded = try global.loadConfig()
        let reference = try target.reference()
        let store = try loaded.openExistingStore()
        let (record, snapshots, events) = try withExitCodes {
            guard let record = try store.transfer(matching: reference) else {
                throw CLIFailure.badInput(
                    "transferkeyd: invalid ID: no transfer has import id, key id or key ARN \(reference)")
            }
            return (record, try store.snapshots(importID: record.importID), try store.events(importID: record.importID))
        }
        if json {
            Console.out(
                JSONValue.object(["transfer": record.json(snapshots: snapshots), "events": .array(events.map(\.json))])
                    .prettyText)
            return
        }
        var fields = TextTable("FIELD", "VALUE")
        let rows: [(String, String?)] = [
            ("import id", record.importID), ("state", record.state.rawValue), ("origin", record.origin.rawValue),
            ("account", record.accountID), ("region", record.region), ("key id", record.keyID),
            ("key arn", record.keyARN), ("alias", record.aliasName), ("created", record.createdAt),
            ("deadline", record.deadlineAt),
            ("completed", record.completedAt.map { "\($0) (\(record.completion?.rawValue ?? "?"))" }),
            ("deletion date", record.keyDeletionDate), ("attempts", String(record.attempts)),
            ("next attempt", record.nextAttemptAt), ("last error", record.lastError),
        ]
        for (name, value) in rows { fields.add(name, value ?? "-") }
        Console.out(fields.rendered)
        if !snapshots.isEmpty {
            var table = TextTable("SNAPSHOT", "STATE", "CHECKED")
            for snapshot in snapshots { table.add(snapshot.snapshotID, snapshot.state, snapshot.checkedAt ?? "-") }
            Console.out("\n" + table.rendered)
        }
        var timeline = TextTable("AT", "EVENT", "ACTOR", "DETAIL")
        for event in events { timeline.add(event.at, event.kind, event.actor, event.detail) }
        Console.out("\n" + timeline.rendered)
    }
}
