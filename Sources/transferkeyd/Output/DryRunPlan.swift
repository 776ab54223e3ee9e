import Foundation
import TransferKeyCore
import TransferKeyDaemon
import TransferKeyStore

/// What a `reconcile --dry-run` pass would do, built from the events the pass recorded (the worker's
/// `would_*` notes and its refusals), like `terraform plan`: each key to schedule for deletion, each
/// alias to delete, each alias to create (finishing an interrupted `create`), each refusal with its reason.
struct DryRunPlan {
    /// The audit events a plan is made of.
    static let eventKinds: [AuditEventKind] = [
        .wouldScheduleKeyDeletion, .wouldDeleteAlias, .wouldCreateAlias, .keyRefused,
    ]

    struct Place {
        var importID: String
        var accountID: String
        var region: String
        var keyID: String?
    }

    struct Schedule {
        var place: Place
        var pendingWindowDays: Int?
        var replicaRegions: [String]
        var aliases: [String]
    }

    struct AliasStep {
        var place: Place
        var aliasName: String
        /// `now` (the key is already scheduled) or `after_schedule` (once this pass's schedule went through).
        var when: String
    }

    struct Refusal {
        var place: Place
        var reason: String
    }

    var schedules: [Schedule] = []
    var aliasDeletions: [AliasStep] = []
    var aliasCreations: [AliasStep] = []
    var refusals: [Refusal] = []

    init(events: [AuditEvent], transfers: [TransferRecord]) {
        let byImport = Dictionary(transfers.map { ($0.importID, $0) }, uniquingKeysWith: { $1 })
        for event in events {
            guard let importID = event.importID else { continue }
            let detail =
                (try? JSONSerialization.jsonObject(with: Data(event.detail.utf8)) as? [String: Any]) ?? [:]
            let record = byImport[importID]
            let place = Place(
                importID: importID, accountID: record?.accountID ?? "-", region: record?.region ?? "-",
                keyID: detail["key_id"] as? String ?? record?.keyID)
            let aliases = detail["aliases"] as? [String] ?? []
            switch AuditEventKind(rawValue: event.kind) {
            case .wouldScheduleKeyDeletion:
                schedules.append(
                    Schedule(
                        place: place, pendingWindowDays: detail["pending_window_days"] as? Int,
                        replicaRegions: detail["replica_regions"] as? [String] ?? [], aliases: aliases))
                // Cleanup deletes the key's prefixed aliases right after scheduling it.
                aliasDeletions += aliases.map { AliasStep(place: place, aliasName: $0, when: "after_schedule") }
            case .wouldDeleteAlias:
                aliasDeletions += aliases.map { AliasStep(place: place, aliasName: $0, when: "now") }
            case .wouldCreateAlias:
                if let alias = detail["alias_name"] as? String {
                    aliasCreations.append(AliasStep(place: place, aliasName: alias, when: "now"))
                }
            case .keyRefused:
                refusals.append(
                    Refusal(place: place, reason: detail["reason"] as? String ?? record?.lastError ?? "refused"))
            default:
                continue
            }
        }
    }

    var isEmpty: Bool { schedules.isEmpty && aliasDeletions.isEmpty && aliasCreations.isEmpty && refusals.isEmpty }

    /// The plan for people: one line per step, then a summary.
    var rendered: String {
        guard !isEmpty else { return "plan (dry run): nothing would change in AWS" }
        var table = TextTable("ACTION", "IMPORT", "ACCOUNT", "REGION", "TARGET", "NOTE")
        for step in schedules {
            var notes = ["window \(step.pendingWindowDays.map(String.init) ?? "?") days"]
            if !step.replicaRegions.isEmpty {
                notes.append("replicas in \(step.replicaRegions.joined(separator: ", "))")
            }
            table.add(
                "schedule-key-deletion", step.place.importID, step.place.accountID, step.place.region,
                step.place.keyID ?? "-", notes.joined(separator: "; "))
        }
        for step in aliasDeletions {
            table.add(
                "delete-alias", step.place.importID, step.place.accountID, step.place.region, step.aliasName,
                step.when == "now" ? "key already scheduled" : "after the key is scheduled")
        }
        for step in aliasCreations {
            table.add(
                "create-alias", step.place.importID, step.place.accountID, step.place.region, step.aliasName,
                "finishes an interrupted create (key \(step.place.keyID ?? "-"))")
        }
        for refusal in refusals {
            table.add(
                "refuse", refusal.place.importID, refusal.place.accountID, refusal.place.region,
                refusal.place.keyID ?? "-", refusal.reason)
        }
        return "plan (dry run): \(schedules.count) key(s) to schedule for deletion, \(aliasDeletions.count) "
            + "alias(es) to delete, \(aliasCreations.count) alias(es) to create, \(refusals.count) refusal(s)\n"
            + table.rendered
    }

    /// The plan as one JSON document, with the scan's per-account × region results.
    func json(scan: ScanReport) -> JSONValue {
        func base(_ place: Place) -> [String: JSONValue] {
            [
                "import_id": .string(place.importID), "account_id": .string(place.accountID),
                "region": .string(place.region), "key_id": .string(place.keyID),
            ]
        }
        return [
            "dry_run": true,
            "schedule_key_deletion": .array(
                schedules.map { step -> JSONValue in
                    var item = base(step.place)
                    item["pending_window_days"] = step.pendingWindowDays.map { JSONValue.int(Int64($0)) } ?? .null
                    item["replica_regions"] = .array(step.replicaRegions.map { .string($0) })
                    item["aliases"] = .array(step.aliases.map { .string($0) })
                    return .object(item)
                }),
            "delete_alias": .array(
                aliasDeletions.map { step -> JSONValue in
                    var item = base(step.place)
                    item["alias_name"] = .string(step.aliasName)
                    item["when"] = .string(step.when)
                    return .object(item)
                }),
            "create_alias": .array(
                aliasCreations.map { step -> JSONValue in
                    var item = base(step.place)
                    item["alias_name"] = .string(step.aliasName)
                    return .object(item)
                }),
            "refused": .array(
                refusals.map { refusal -> JSONValue in
                    var item = base(refusal.place)
                    item["reason"] = .string(refusal.reason)
                    return .object(item)
                }),
            "scans": .array(
                scan.regions.map { region -> JSONValue in
                    [
                        "account_id": .string(region.accountID), "region": .string(region.region),
                        "aliases_seen": .int(Int64(region.aliasesSeen)),
                        "adopted": .array(region.adopted.map { .string($0) }), "error": .string(region.error),
                    ]
                }),
        ]
    }
}
