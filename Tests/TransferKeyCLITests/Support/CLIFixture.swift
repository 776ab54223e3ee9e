import Foundation
import TransferKeyTestSupport

/// A temporary folder with a config and (once something ran) a database, for running the binary.
struct CLIFixture {
    let folder: TemporaryDirectory
    let configPath: String
    let databasePath: String

    static let keyID = "1234abcd-12ab-34cd-56ef-1234567890ab"
    static let account = "111122223333"
    static let alias = "alias/CadoResponse-KMS-Alias-imp-1"

    init(extraConfig: String = "") throws {
        folder = try TemporaryDirectory(prefix: "transferkeyd-cli")
        databasePath = folder.path("state/transferkeyd.db")
        configPath = folder.path("config.toml")
        // The state directory exists, as systemd's StateDirectory= makes it; no command creates a missing folder.
        try FileManager.default.createDirectory(
            atPath: folder.path("state"), withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try Self.write(
            """
            database = "\(databasePath)"
            poll_interval = "5s"
            \(extraConfig)

            [[accounts]]
            id = "\(Self.account)"
            regions = ["eu-west-1", "us-east-1"]
            """, to: configPath)
    }

    static func write(_ text: String, to path: String, mode: Int = 0o640) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
    }

    /// Runs `transferkeyd args… --config <ours>`.
    func run(_ arguments: [String], environment: [String: String] = [:]) throws -> CommandResult {
        try CommandRunner.run(arguments + ["--config", configPath], environment: environment)
    }

    /// `track` with good defaults; `extra` adds flags.
    func track(importID: String = "imp-1", keyID: String = keyID, extra: [String] = []) throws -> CommandResult {
        try run(
            ["track", "--import-id", importID, "--account", Self.account, "--region", "eu-west-1", "--key-id", keyID]
                + extra)
    }

    /// The database files' bytes, to prove a command changed nothing. An empty `-wal` file holds
    /// no data (a read-only connection may leave one behind), so it counts as absent.
    func databaseBytes() -> [String: Data] {
        var bytes: [String: Data] = [:]
        for suffix in ["", "-wal", "-journal"] {
            if let data = FileManager.default.contents(atPath: databasePath + suffix), !data.isEmpty {
                bytes[suffix] = data
            }
        }
        return bytes
    }

    /// Runs the sqlite3 CLI on the database and returns its trimmed output.
    func sqlite(_ sql: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["sqlite3", databasePath, sql]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func remove() { folder.remove() }
}

/// Parses a `--json` document.
func parseJSON(_ text: String) throws -> [String: Any] {
    guard let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
        throw CommandRunnerError(message: "not a JSON object: \(text)")
    }
    return object
}
