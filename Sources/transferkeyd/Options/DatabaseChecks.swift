import Foundation
import TransferKeyDaemon
import TransferKeyStore

/// The database rows of `transferkeyd check`: schema, writable by this user, file mode, audit chain.
/// Reads only: the file stays byte-identical (the audit chain is read through a read-only connection).
struct DatabaseChecks {
    let loaded: LoadedConfig
    var path: String { loaded.databasePath }

    func run() -> [PrerequisiteCheck] {
        var rows: [PrerequisiteCheck] = []
        func add(_ name: String, _ outcome: PrerequisiteCheck.Outcome, _ detail: String, fix: String? = nil) {
            rows.append(PrerequisiteCheck(scope: "database", name: name, outcome: outcome, detail: detail, fix: fix))
        }
        let folder = (path as NSString).deletingLastPathComponent
        let state: DatabaseSchemaState
        do {
            state = try DatabaseSchemaState.inspect(path: path)
        } catch let error as StoreError {
            let outcome: PrerequisiteCheck.Outcome =
                switch error.code {
                case .unavailable, .busy: .unreachable
                default: .failed
                }
            add(
                "schema", outcome, error.description,
                fix: outcome == .unreachable
                    ? "make \(path) readable by \(userName) (the daemon's user), or wait for the process holding it"
                    : "point `database` at transferkeyd's database, or move this file away (it is left untouched)")
            return rows
        } catch {
            add("schema", .unreachable, "\(error)", fix: "make \(path) readable by \(userName)")
            return rows
        }

        switch state {
        case .absent:
            let existing = Self.nearestExistingFolder(of: folder)
            if existing != folder, folder != LoadedConfig.packagedStateDirectory {
                // The same rule as every writer's: a missing folder is a typo until someone creates it.
                add(
                    "schema", .failed, "the folder \(folder) of \(path) does not exist; no command creates it",
                    fix: "create \(folder) owned by \(userName) (mode 0700), or fix `database` in the config")
            } else if access(existing, W_OK) == 0 {
                add(
                    "schema", .passed,
                    "\(path) does not exist yet: the daemon or `transferkeyd migrate` creates it "
                        + "(\(existing) is writable by \(userName))")
            } else {
                add(
                    "schema", .failed, "\(path) does not exist and \(existing) is not writable by \(userName)",
                    fix: "create \(folder) owned by \(userName) (systemd's StateDirectory= does it for the unit)")
            }
            return rows
        case .empty:
            add("schema", .passed, "\(path) is empty: initialised when the daemon or `transferkeyd migrate` opens it")
        case .current(let applied):
            add("schema", .passed, "\(path): current (\(applied.joined(separator: ", ")))")
        case .older(_, let pending):
            add(
                "schema", .passed,
                "\(path): older schema; \(pending.joined(separator: ", ")) applied when the daemon starts "
                    + "(or run `transferkeyd migrate`)")
        }

        // SQLite writes the file and, in WAL mode, `-wal`/`-shm` files beside it.
        if access(path, W_OK) == 0 && access(folder, W_OK) == 0 {
            add("writable", .passed, "by \(userName) (file and folder)")
        } else {
            add(
                "writable", .failed, "\(path) or its folder is not writable by \(userName)",
                fix: "chown \(userName) \(path) \(folder) (SQLite also writes -wal and -shm files beside it)")
        }

        var info = stat()
        if stat(path, &info) == 0 {
            let mode = String(info.st_mode & 0o777, radix: 8)
            if info.st_mode & (S_IWGRP | S_IWOTH) == 0 {
                add("file mode", .passed, "0\(mode)")
            } else {
                add(
                    "file mode", .failed, "0\(mode): group or others may write the audit trail",
                    fix: "chmod go-w \(path)")
            }
        }

        guard case .empty = state else {
            do {
                let store = try loaded.openExistingStore(readOnly: true)
                switch try store.database.verifyAuditTrail() {
                case .intact(let events):
                    let keyed = store.database.auditKey.map {
                        " (keyed with \($0.fingerprint) from event \($0.fromSeq))"
                    }
                    add("audit chain", .passed, "\(plural(events, "event")) intact" + (keyed ?? ""))
                case .unverified(_, let reason):
                    add("audit chain", .failed, reason, fix: "restore audit_key_file from where it is kept")
                case .broken(let seq, let reason):
                    add(
                        "audit chain", .failed, "broken at event \(seq): \(reason)",
                        fix: "find out who edited the database (a backup shows the original rows); "
                            + "`transferkeyd audit verify` names the link")
                }
            } catch {
                let message = CLIFailure.from(error).message
                add("audit chain", .unreachable, message, fix: "make \(path) readable by \(userName)")
            }
            return rows
        }
        return rows
    }

    private var userName: String { String(cliActor().dropFirst(4)) }

    /// `folder`, or its closest ancestor that exists.
    static func nearestExistingFolder(of folder: String) -> String {
        var current = folder.isEmpty ? "." : folder
        while !FileManager.default.fileExists(atPath: current) && current != "/" && !current.isEmpty {
            current = (current as NSString).deletingLastPathComponent
            if current.isEmpty { current = "." }
        }
        return current
    }
}
