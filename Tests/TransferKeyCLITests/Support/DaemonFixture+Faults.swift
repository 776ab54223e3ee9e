import Foundation
import TransferKeyTestSupport

/// Helpers for `FaultScenarioTests`: other programs run beside the daemon (a second SQLite writer, the
/// daemon's own mount namespace), and the daemon's view of the clock.
extension DaemonFixture {
    /// Runs `executable arguments…` (a full path or a name looked up in `PATH`), waits, and captures its output.
    @discardableResult
    static func runTool(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws
        -> CommandResult
    {
        try CommandRunner.runTool(executable, arguments, environment: environment)
    }

    /// Polls the async `condition` every 200 ms until it holds or `timeout` passes; returns whether it held.
    func eventuallyAsync(timeout: TimeInterval, _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(200))
        }
        return try await condition()
    }

    /// Adds `line` (e.g. `request_timeout = "1s"`) to the config's `[aws]` table.
    func setAWSOption(_ line: String) throws {
        let text = try String(contentsOfFile: configPath, encoding: .utf8)
        let changed = text.replacingOccurrences(of: "[aws]\n", with: "[aws]\n\(line)\n")
        guard changed != text else { throw CommandRunnerError(message: "no [aws] table in \(configPath)") }
        try CLIFixture.write(changed, to: configPath)
    }

    /// Points the config at another database file (e.g. one on a file system of its own).
    func moveDatabase(to path: String) throws {
        let text = try String(contentsOfFile: configPath, encoding: .utf8)
        let moved = text.replacingOccurrences(of: "database = \"\(databasePath)\"", with: "database = \"\(path)\"")
        guard moved != text else { throw CommandRunnerError(message: "no database line in \(configPath)") }
        try CLIFixture.write(moved, to: configPath)
    }

    /// `transferkeyd args… --config <ours>` inside the running daemon's mount namespace (`nsenter`), so it
    /// sees the file systems the daemon sees.
    func cliInDaemonNamespace(_ arguments: [String]) throws -> CommandResult {
        guard let pid else { throw CommandRunnerError(message: "no daemon running") }
        return try Self.runTool(
            "nsenter",
            ["--target", "\(pid)", "--mount", "--", try CommandRunner.binaryPath()] + arguments + [
                "--config", configPath,
            ], environment: Self.awsEnvironment)
    }

    /// Runs `command arguments…` inside the running daemon's mount namespace.
    @discardableResult
    func inDaemonNamespace(_ command: String, _ arguments: [String]) throws -> CommandResult {
        guard let pid else { throw CommandRunnerError(message: "no daemon running") }
        return try Self.runTool("nsenter", ["--target", "\(pid)", "--mount", "--", command] + arguments)
    }

    /// `status --json` of a CLI result, parsed.
    static func statusDocument(_ result: CommandResult) throws -> [String: Any] {
        try parseJSON(result.stdout)
    }

    /// How often the daemon logged `line` so far.
    func logCount(_ line: String) -> Int {
        logs().components(separatedBy: line).count - 1
    }
}

/// A process holding an SQLite database locked (`BEGIN IMMEDIATE`) until it is released: another
/// writer, as an operator's `sqlite3` session or a backup tool would be.
final class DatabaseLockHolder {
    private let process: Process
    private let releaseFile: String

    /// Locks `databasePath` and returns once the lock is held.
    init(databasePath: String, folder: TemporaryDirectory) async throws {
        releaseFile = folder.path("hold-lock")
        let ready = folder.path("lock-held")
        _ = FileManager.default.createFile(atPath: releaseFile, contents: nil)
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        // Python's sqlite3 module, not the daemon's code: a stranger to transferkeyd takes the write lock.
        process.arguments = [
            "python3", "-c",
            """
            import os, sqlite3, sys, time
            db, hold, ready = sys.argv[1:4]
            connection = sqlite3.connect(db, isolation_level=None, timeout=30)
            connection.execute("BEGIN IMMEDIATE")
            open(ready, "w").close()
            while os.path.exists(hold):
                time.sleep(0.05)
            connection.execute("ROLLBACK")
            """,
            databasePath, releaseFile, ready,
        ]
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: ready) {
            guard process.isRunning, Date() < deadline else {
                throw CommandRunnerError(message: "the lock holder did not take the lock")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Whether the lock is still held.
    var isHolding: Bool { process.isRunning }

    /// Rolls back and ends the holder; waits for it.
    func release() async throws {
        try? FileManager.default.removeItem(atPath: releaseFile)
        let deadline = Date().addingTimeInterval(30)
        while process.isRunning, Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        if process.isRunning { process.terminate() }
    }

    deinit {
        if process.isRunning { process.terminate() }
    }
}
