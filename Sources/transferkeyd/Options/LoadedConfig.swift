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

    /// Opens the database for writing, creating and migrating it if needed.
    func openStore() throws -> TransferStore {
        TransferStore(try AppDatabase.open(path: databasePath, pooled: false))
    }

    /// Opens an existing database without creating or migrating anything.
    func openExistingStore(readOnly: Bool = true) throws -> TransferStore {
        TransferStore(try AppDatabase.openExisting(path: databasePath, readOnly: readOnly, pooled: false))
    }
}
