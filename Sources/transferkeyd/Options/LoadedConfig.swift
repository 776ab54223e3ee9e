import ArgumentParser
import Foundation
import TransferKeyCore
import TransferKeyStore

/// A validated config and where it came from.
struct LoadedConfig {
    var path: String
    var config: Config

    /// The database path, relative paths taken from the config file's folder.
    var databasePath: String {
        if config.database.hasPrefix("/") { return config.database }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        return folder.appending(path: config.database).standardizedFileURL.path
    }

    /// A path from the config, relative paths taken from the config file's folder.
    func resolve(_ file: String) -> String {
        if file.hasPrefix("/") { return file }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        return folder.appending(path: file).standardizedFileURL.path
    }

    /// The `metrics_file` path, if set, resolved like `database`.
    var metricsPath: String? {
        guard let file = config.metricsFile else { return nil }
        if file.hasPrefix("/") { return file }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        return folder.appending(path: file).standardizedFileURL.path
    }

    static func load(path: String) throws -> LoadedConfig {
        var status = stat()
        guard stat(path, &status) == 0 else {
            throw CLIFailure.badInput(
                "transferkeyd: invalid config: cannot read \(path): \(String(cString: strerror(errno))) "
                    + "(use --config PATH or TRANSFERKEYD_CONFIG)")
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            throw CLIFailure.badInput("transferkeyd: invalid config: \(path) is not a regular file")
        }
        // Anyone who can write the config can point the daemon at any prefix: refuse it.
        guard status.st_mode & S_IWOTH == 0 else {
            throw CLIFailure.badInput(
                "transferkeyd: invalid config: \(path) is world-writable; run `chmod o-w \(path)`")
        }
        guard access(path, R_OK) == 0 else {
            let owner =
                "owner uid \(status.st_uid), gid \(status.st_gid), mode \(String(status.st_mode & 0o777, radix: 8))"
            throw CLIFailure.badInput(
                "transferkeyd: invalid config: permission denied: \(path) (\(owner)); run as the daemon's user "
                    + "(`sudo -u transferkeyd transferkeyd …`) or as root")
        }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
        else {
            throw CLIFailure.badInput("transferkeyd: invalid config: \(path) is not readable UTF-8 text")
        }
        let config: Config
        do {
            config = try Config.parse(text)
        } catch {
            throw CLIFailure.badInput("transferkeyd: \(path): \(error)")
        }
        // AWS_ENDPOINT_URL* beat endpoint_url, so they get the same checks (https, or http to loopback).
        do {
            try Validator.endpointEnvironment(
                ProcessInfo.processInfo.environment, allowInsecure: config.aws.allowInsecureEndpoint)
        } catch {
            throw CLIFailure.badInput("transferkeyd: invalid environment: \(error)")
        }
        return LoadedConfig(path: path, config: config)
    }

    /// The audit key file: `audit_key_file` (resolved like `database`), else systemd's credential `audit-key` when
    /// the unit passes one; nil when neither (an unkeyed chain).
    var auditKeyPath: String? {
        if let file = config.auditKeyFile {
            if file.hasPrefix("/") { return file }
            let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
            return folder.appending(path: file).standardizedFileURL.path
        }
        if let credentials = ProcessInfo.processInfo.environment["CREDENTIALS_DIRECTORY"], !credentials.isEmpty {
            let credential = credentials + "/audit-key"
            if FileManager.default.fileExists(atPath: credential) { return credential }
        }
        return nil
    }

    /// Opens the database for writing, creating and migrating it if needed, with its audit key. With
    /// `[replication]`, a new ledger is not started while the replica holds one: it must be restored first.
    func openStore(pooled: Bool = false) throws -> TransferStore {
        try requireDatabaseFolder()
        try refuseNewLedgerWhileReplicated()
        let database = try AppDatabase.open(path: databasePath, pooled: pooled)
        return TransferStore(database.keyed(with: try auditKey(for: database, writing: true)))
    }

    /// The folder the unit's StateDirectory= names: the one folder a writer may create (mode 0700) before the
    /// first start.
    static let packagedStateDirectory = "/var/lib/transferkeyd"

    /// One rule for every command that writes: the database's folder must exist (a typo'd path would otherwise
    /// hold tracked keys the daemon never reads), except the packaged state directory. Readers report a missing
    /// database; `check` says the same as this.
    func requireDatabaseFolder() throws {
        let folder = (databasePath as NSString).deletingLastPathComponent
        var isFolder: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder)
        if !exists, folder != Self.packagedStateDirectory {
            throw CLIFailure.badInput(
                "transferkeyd: invalid database: the folder \(folder) of \(databasePath) does not exist; "
                    + "create it, or fix `database` in \(path)")
        }
        if exists, !isFolder.boolValue {
            throw CLIFailure.badInput(
                "transferkeyd: invalid database: \(folder) (the folder of \(databasePath)) is not a folder")
        }
    }

    /// Whether the database file exists; a folder this user may not look into is "permission denied" (exit 3),
    /// not "no database yet".
    func databaseExists() throws -> Bool {
        var info = stat()
        if stat(databasePath, &info) == 0 { return true }
        let code = errno
        if code == ENOENT { return false }
        throw CLIFailure.unavailable(
            "transferkeyd: permission denied: \(databasePath): \(String(cString: strerror(code))) "
                + "(run as the daemon's user: `sudo -u transferkeyd transferkeyd …`)")
    }

    /// Opens an existing database without creating or migrating anything, with its audit key when there is one.
    func openExistingStore(readOnly: Bool = true) throws -> TransferStore {
        _ = try databaseExists()
        let database = try AppDatabase.openExisting(path: databasePath, readOnly: readOnly, pooled: false)
        return TransferStore(database.keyed(with: try auditKey(for: database, writing: !readOnly)))
    }

    /// With `[replication]` and no ledger here (no file, or a 0-byte one): refused while the replica holds one — a
    /// lost host's ledger is restored, never silently started afresh beside it (exit 2, naming the restore command).
    private func refuseNewLedgerWhileReplicated() throws {
        guard let settings = config.replication else { return }
        var info = stat()
        let exists = stat(databasePath, &info) == 0
        guard !exists || info.st_size == 0 else { return }
        let replica = Replica(settings: settings, loaded: self)
        let listing: Replica.Listing
        do {
            listing = try replica.list()
        } catch {
            throw CLIFailure.unavailable(
                "transferkeyd: no ledger at \(databasePath), and its replica cannot be read to tell whether one must be "
                    + "restored: \(error)")
        }
        guard listing.files > 0 else { return }
        throw CLIFailure.badInput(
            "transferkeyd: invalid database: \(databasePath) is missing but its replica holds a ledger "
                + "(\(listing.files) files, newest \(listing.newest.map(Timestamp.string) ?? "?")): restore it first with "
                + "`\(replica.restoreCommand)`")
    }

    /// The audit key for `database`. A writer whose key file is missing creates one (keying from the next event)
    /// only while the chain carries no MAC yet; a chain already keyed needs its own key back (exit 3 naming it).
    /// Readers go on without a missing key: `audit verify` then reports the keyed part as unverified.
    private func auditKey(for database: AppDatabase, writing: Bool) throws -> AuditKey? {
        guard let keyPath = auditKeyPath else { return nil }
        if FileManager.default.fileExists(atPath: keyPath) { return try AuditKey.load(path: keyPath) }
        guard writing else { return nil }
        let state = try database.keyingState()
        if let keyedFrom = state.firstKeyed {
            throw CLIFailure.unavailable(
                "transferkeyd: audit key file \(keyPath) is missing, but the audit chain is keyed from event "
                    + "\(keyedFrom): restore the key file (a new key cannot vouch for the events already written)")
        }
        return try AuditKey.create(path: keyPath, fromSeq: state.lastSeq + 1)
    }
}
