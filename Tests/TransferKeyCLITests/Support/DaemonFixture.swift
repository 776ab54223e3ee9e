import Foundation
import TransferKeyTestSupport

/// A config pointing at the shared emulator, a database in a temporary folder, the platform's
/// moves (`aws_seed.py`), and the built binary run as a real daemon subprocess.
final class DaemonFixture: @unchecked Sendable {
    static let account = "123456789012"
    static let prefix = "alias/CadoResponse-KMS-Alias"

    let emulator: Emulator
    let folder: TemporaryDirectory
    let configPath: String
    let databasePath: String
    /// Makes this test's alias names unique in the shared emulator.
    let tag = String(UUID().uuidString.prefix(8)).lowercased()
    private var daemon: Process?
    private var logIndex = 0

    /// `emulator` nil means the process's shared emulator.
    init(extraConfig: String = "", emulator: Emulator? = nil) async throws {
        if let emulator {
            self.emulator = emulator
        } else {
            self.emulator = try await Emulator.shared()
        }
        folder = try TemporaryDirectory(prefix: "transferkeyd-daemon")
        databasePath = folder.path("transferkeyd.db")
        configPath = folder.path("config.toml")
        try CLIFixture.write(
            """
            database = "\(databasePath)"
            poll_interval = "1s"
            scan_interval = "10m"
            \(extraConfig)

            [aws]
            endpoint_url = "\(self.emulator.endpoint)"
            max_attempts = 3

            [[accounts]]
            id = "\(Self.account)"
            regions = ["us-east-1"]
            """, to: configPath)
    }

    static let awsEnvironment = [
        "AWS_ACCESS_KEY_ID": "AKIAFIXTUREFIXTURE00", "AWS_SECRET_ACCESS_KEY": "fixture-secret-not-for-logs",
        "AWS_EC2_METADATA_DISABLED": "true", "AWS_REGION": "us-east-1",
    ]

    /// The alias `alias/CadoResponse-KMS-Alias-<name>-<tag>`.
    func alias(_ name: String) -> String { "\(Self.prefix)-\(name)-\(tag)" }

    /// Runs `emulator/aws_seed.py` and returns its trimmed output.
    @discardableResult
    func seed(_ arguments: [String]) throws -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments =
            ["python3", root.appending(path: "emulator/aws_seed.py").path, "--endpoint", emulator.endpoint] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CommandRunnerError(message: "aws_seed.py \(arguments) exited \(process.terminationStatus)")
        }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func createKey(aliases: [String]) throws -> String {
        try seed(["create-key"] + aliases.flatMap { ["--alias", $0] })
    }

    /// `KeyState` as the emulator reports it, or "gone".
    func keyState(_ keyID: String) throws -> String {
        String(try seed(["key-state", keyID]).split(separator: " ").first ?? "")
    }

    func aliasNames() throws -> Set<String> {
        Set(try seed(["aliases"]).split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) })
    }

    /// `transferkeyd args… --config <ours>`.
    func cli(_ arguments: [String]) throws -> CommandResult {
        try CommandRunner.run(arguments + ["--config", configPath], environment: Self.awsEnvironment)
    }

    func state(_ importID: String) throws -> String {
        let result = try cli(["show", importID, "--json"])
        let document = try parseJSON(result.stdout)
        return (document["transfer"] as? [String: Any])?["state"] as? String ?? "?"
    }

    /// Starts `transferkeyd run` in the background; a `wrapper` command (e.g. `unshare …`) runs it in
    /// turn and must end by exec'ing it, so the process is the daemon.
    func start(environment: [String: String] = [:], wrapper: [String] = []) throws {
        let process = Process()
        if wrapper.isEmpty {
            process.executableURL = URL(fileURLWithPath: try CommandRunner.binaryPath())
            process.arguments = ["run", "--config", configPath]
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = wrapper + [try CommandRunner.binaryPath(), "run", "--config", configPath]
        }
        var merged = ProcessInfo.processInfo.environment.merging(Self.awsEnvironment) { _, new in new }
        for key in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM"] {
            merged.removeValue(forKey: key)
        }
        for (key, value) in environment { merged[key] = value }
        process.environment = merged
        logIndex += 1
        let log = folder.path("daemon-\(logIndex).log")
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        daemon = process
    }

    /// Waits until the daemon's work loop runs (its signal handling is then in place: a SIGTERM
    /// before that ends the process by the signal, which systemd also counts as a clean stop).
    func waitUntilRunning(timeout: TimeInterval = 20) async throws {
        let started = try await eventually(timeout: timeout) {
            logs().contains("transferkeyd started") || !(daemon?.isRunning ?? false)
        }
        guard started, daemon?.isRunning == true else {
            throw CommandRunnerError(message: "the daemon did not start: \(logs())")
        }
        try await Task.sleep(for: .milliseconds(300))
    }

    /// Waits for the daemon to exit by itself (a failpoint), at most `timeout` seconds.
    func waitForExit(timeout: TimeInterval = 30) async throws -> (status: Int32, reason: Process.TerminationReason) {
        guard let daemon else { throw CommandRunnerError(message: "no daemon") }
        let deadline = Date().addingTimeInterval(timeout)
        while daemon.isRunning, Date() < deadline { try await Task.sleep(for: .milliseconds(100)) }
        if daemon.isRunning {
            daemon.interrupt()
            throw CommandRunnerError(message: "daemon did not exit within \(timeout) s")
        }
        self.daemon = nil
        return (daemon.terminationStatus, daemon.terminationReason)
    }

    /// The running daemon's pid.
    var pid: Int32? { daemon?.processIdentifier }

    /// Whether the daemon process is still running.
    var isRunning: Bool { daemon?.isRunning ?? false }

    /// SIGTERM, then the exit status (at most 15 s later).
    func stop() async throws -> Int32 {
        guard let daemon else { return 0 }
        try await waitUntilRunning()
        kill(daemon.processIdentifier, SIGTERM)
        return try await waitForExit(timeout: 15).status
    }

    /// Polls `condition` every 200 ms until it holds or `timeout` passes; returns whether it held.
    func eventually(timeout: TimeInterval = 20, _ condition: () throws -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() { return true }
            try await Task.sleep(for: .milliseconds(200))
        }
        return try condition()
    }

    /// Everything the daemon wrote to its logs so far.
    func logs() -> String {
        (1...max(logIndex, 1)).compactMap {
            try? String(contentsOfFile: folder.path("daemon-\($0).log"), encoding: .utf8)
        }
        .joined(separator: "\n")
    }

    func remove() {
        if let daemon, daemon.isRunning { kill(daemon.processIdentifier, SIGKILL) }
        folder.remove()
    }
}
