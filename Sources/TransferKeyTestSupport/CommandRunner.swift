import Foundation

/// Runs the built `transferkeyd` binary as a real subprocess.
public enum CommandRunner {
    /// The built binary: `$TRANSFERKEYD_BINARY`, else `transferkeyd` beside the test bundle.
    public static func binaryPath() throws -> String {
        if let path = ProcessInfo.processInfo.environment["TRANSFERKEYD_BINARY"], !path.isEmpty { return path }
        var candidates: [URL] = []
        if let executable = Bundle.main.executableURL { candidates.append(executable.deletingLastPathComponent()) }
        candidates.append(Bundle.main.bundleURL.deletingLastPathComponent())
        candidates.append(Bundle.main.bundleURL)
        for folder in candidates {
            var current = folder
            for _ in 0..<4 {
                let binary = current.appending(path: "transferkeyd")
                if FileManager.default.isExecutableFile(atPath: binary.path) { return binary.path }
                current = current.deletingLastPathComponent()
            }
        }
        throw CommandRunnerError(
            message:
                "transferkeyd binary not found near \(Bundle.main.bundleURL.path); build it or set TRANSFERKEYD_BINARY")
    }

    /// Runs `transferkeyd arguments…` with `environment` added to ours, waits, and captures its output.
    public static func run(
        _ arguments: [String], environment: [String: String] = [:], stdin: String? = nil
    ) throws -> CommandResult {
        var merged = ProcessInfo.processInfo.environment
        merged.removeValue(forKey: "TRANSFERKEYD_CONFIG")
        for (key, value) in environment { merged[key] = value }
        return try runProgram(
            URL(fileURLWithPath: try binaryPath()), arguments, environment: merged, stdin: stdin)
    }

    /// Runs `name arguments…` (a full path or a program looked up in `PATH`) with `environment` added to ours.
    public static func runTool(
        _ name: String, _ arguments: [String], environment: [String: String] = [:],
        currentDirectory: URL? = nil, timeout: TimeInterval? = nil
    ) throws -> CommandResult {
        try runProgram(
            URL(fileURLWithPath: "/usr/bin/env"), [name] + arguments,
            environment: ProcessInfo.processInfo.environment.merging(environment) { _, new in new },
            currentDirectory: currentDirectory, timeout: timeout)
    }

    /// Runs `executable` with exactly `environment`, waits (at most `timeout`, then SIGINT and SIGKILL),
    /// and captures its output. Files, not pipes: a chatty child can never block on a full pipe buffer.
    public static func runProgram(
        _ executable: URL, _ arguments: [String], environment: [String: String], currentDirectory: URL? = nil,
        stdin: String? = nil, timeout: TimeInterval? = nil
    ) throws -> CommandResult {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = environment
        if let currentDirectory { process.currentDirectoryURL = currentDirectory }
        let folder = try TemporaryDirectory(prefix: "transferkeyd-run")
        defer { folder.remove() }
        let outURL = folder.url.appending(path: "stdout")
        let errURL = folder.url.appending(path: "stderr")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL)
        let err = try FileHandle(forWritingTo: errURL)
        defer {
            try? out.close()
            try? err.close()
        }
        process.standardOutput = out
        process.standardError = err
        if let stdin {
            let inURL = folder.url.appending(path: "stdin")
            try Data(stdin.utf8).write(to: inURL)
            process.standardInput = try FileHandle(forReadingFrom: inURL)
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        try process.run()
        if let timeout {
            let deadline = Date().addingTimeInterval(timeout)
            while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.2) }
            if process.isRunning {
                process.interrupt()
                Thread.sleep(forTimeInterval: 2)
                if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            }
        }
        process.waitUntilExit()
        return CommandResult(
            exitCode: process.terminationStatus,
            stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "")
    }
}
