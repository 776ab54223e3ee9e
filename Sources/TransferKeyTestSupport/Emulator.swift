import AsyncHTTPClient
import Foundation
import NIOCore

/// A running AWS emulator: moto behind our fault layer (`emulator/fault_moto.py`), on a free port.
///
/// Point an AWS client at `endpoint` with any credentials (SigV4 is checked only when started
/// with `INITIAL_NO_AUTH_ACTION_COUNT`). The server exits by itself when the test process
/// ends, even after a crash, because it watches its parent's pid.
public final class Emulator: Sendable {
    /// The local TCP port the emulator listens on.
    public let port: Int
    /// The file the emulator writes its stderr to (one line per request).
    public let logURL: URL

    private let process: Process
    private let folder: TemporaryDirectory

    /// The AWS endpoint URL, e.g. `http://127.0.0.1:41234`.
    public var endpoint: String { "http://127.0.0.1:\(port)" }

    private init(port: Int, process: Process, folder: TemporaryDirectory) {
        self.port = port
        self.process = process
        self.folder = folder
        self.logURL = folder.url.appending(path: "emulator.log")
    }

    // MARK: - Starting and stopping

    /// Starts a new emulator, with `environment` added to this process's environment
    /// (e.g. `["INITIAL_NO_AUTH_ACTION_COUNT": "3"]`); waits up to `timeout` until it answers.
    ///
    /// Uses `python3` from `PATH`, or the interpreter named by `TRANSFERKEYD_PYTHON`.
    public static func start(
        environment: [String: String] = [:], timeout: Duration = .seconds(120)
    ) async throws -> Emulator {
        let script = try scriptURL()
        let folder = try TemporaryDirectory(prefix: "transferkeyd-emulator")
        let portFile = folder.path("port")
        let logURL = folder.url.appending(path: "emulator.log")
        guard FileManager.default.createFile(atPath: logURL.path(), contents: nil) else {
            throw EmulatorError("cannot create \(logURL.path())")
        }
        let log = try FileHandle(forWritingTo: logURL)
        defer { try? log.close() }

        var childEnvironment = ProcessInfo.processInfo.environment
        childEnvironment.merge(environment) { _, new in new }
        let python = childEnvironment["TRANSFERKEYD_PYTHON"] ?? "python3"

        let process = Process()
        // /usr/bin/env looks `python3` up in PATH, as a shell would.
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            python, script.path(), "--port", "0", "--port-file", portFile,
            "--parent-pid", String(ProcessInfo.processInfo.processIdentifier),
        ]
        process.environment = childEnvironment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = log
        process.standardError = log
        do {
            try process.run()
        } catch {
            folder.remove()
            throw EmulatorError("cannot run \(python) \(script.path()): \(error)")
        }

        let deadline = ContinuousClock.now + timeout
        do {
            let port = try await waitForPort(file: portFile, process: process, deadline: deadline)
            let emulator = Emulator(port: port, process: process, folder: folder)
            try await emulator.waitUntilAnswering(deadline: deadline)
            return emulator
        } catch {
            let logTail = tail(of: logURL)
            terminate(process)
            folder.remove()
            let reason = (error as? EmulatorError)?.message ?? "\(error)"
            throw EmulatorError("\(python) \(script.path()) did not start: \(reason)", logTail: logTail)
        }
    }

    /// The emulator shared by every test of this process, started on first use.
    ///
    /// Tests that share it must not assume a clean state: call `reset()` or use unique names.
    public static func shared() async throws -> Emulator {
        try await SharedEmulator.instance.emulator()
    }

    /// Stops the emulator (SIGTERM, SIGKILL after 5 s), waits for it to exit and removes its files.
    ///
    /// Not for the `shared()` emulator: other tests of the process still use it.
    public func stop() {
        Self.terminate(process)
        folder.remove()
    }

    // MARK: - Control API

    /// Forgets every rule, the request log, paging, overrides, and all of moto's state.
    public func reset() async throws {
        _ = try await control("POST", "/_fault/reset", body: [String: String]())
    }

    /// Adds a fault rule and returns its id (as reported in `requestLog()`).
    @discardableResult
    public func addRule(_ rule: FaultRule) async throws -> String {
        let data = try await control("POST", "/_fault/rules", body: rule)
        return try JSONDecoder().decode(RuleID.self, from: data).id
    }

    /// Removes every fault rule.
    public func clearRules() async throws {
        _ = try await control("DELETE", "/_fault/rules")
    }

    /// Pages `operation` (only `ListAliases`) at `pageSize` entries; 0 turns paging off again.
    public func setPaging(operation: String, pageSize: Int) async throws {
        _ = try await control("POST", "/_fault/paging", body: [operation: pageSize])
    }

    /// Reports snapshots in `DescribeSnapshots` as `pending`, `completed` or `error`, by snapshot id.
    public func setSnapshotStates(_ states: [String: String]) async throws {
        _ = try await control("POST", "/_fault/snapshots", body: states)
    }

    /// Reports the `CreationDate` of aliases (by name, in seconds since 1970) in `ListAliases`.
    ///
    /// With `keyLead`, each alias's key is dated that many seconds before its alias, as a real transfer key is
    /// (made, then aliased): an orphan with provenance. Without it the key keeps its own date.
    public func setAliasCreationDates(_ dates: [String: Double], keyLead: Double? = nil) async throws {
        guard let keyLead else {
            _ = try await control("POST", "/_fault/alias-dates", body: dates)
            return
        }
        _ = try await control(
            "POST", "/_fault/alias-dates", body: dates.mapValues { ["created": $0, "key_lead": keyLead] })
    }

    /// Posts `body` to a control route (for the control extensions in other files).
    func post(_ path: String, body: some Encodable) async throws {
        _ = try await control("POST", path, body: body)
    }

    /// How many requests each `service.Operation` received (faulted ones included).
    public func counts() async throws -> [String: Int] {
        try await decodedCounts().counts
    }

    /// How many requests of each `service.Operation` the emulator received and has not answered yet.
    public func inFlightCounts() async throws -> [String: Int] {
        let data = try await control("GET", "/_fault/counts")
        let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        return (object?["in_flight"] as? [String: Any] ?? [:]).compactMapValues { $0 as? Int }
    }

    /// How many requests of each `service.Operation` were answered by a fault rule.
    public func faultedCounts() async throws -> [String: Int] {
        try await decodedCounts().faulted
    }

    /// Every AWS request seen since the last reset, oldest first.
    public func requestLog() async throws -> [LoggedRequest] {
        let data = try await control("GET", "/_fault/log")
        return try JSONDecoder().decode([LoggedRequest].self, from: data)
    }

    /// Forgets the request log.
    public func clearRequestLog() async throws {
        _ = try await control("DELETE", "/_fault/log")
    }

    /// Runs AWS's clock `seconds` ahead of this host's (negative: behind): answers carry that `Date`, and a
    /// request signed more than 5 minutes from it is refused as AWS refuses it (`POST /_fault/clock`);
    /// `nil` turns it off.
    public func setClockOffset(seconds: Double?) async throws {
        if let seconds {
            _ = try await control("POST", "/_fault/clock", body: ["offset_seconds": seconds])
        } else {
            _ = try await control("DELETE", "/_fault/clock")
        }
    }

    /// Asks for an outage of `seconds` (see ``refuseConnections(for:)``).
    func startOutage(seconds: Double) async throws {
        _ = try await control("POST", "/_fault/outage", body: ["seconds": seconds])
    }

    /// Waits until the emulator answers again (after an outage), at most `timeout`.
    public func waitUntilAnswering(timeout: Duration) async throws {
        try await waitUntilAnswering(deadline: ContinuousClock.now + timeout)
    }

    // MARK: - Private

    private struct RuleID: Decodable {
        var id: String
    }

    private func decodedCounts() async throws -> (counts: [String: Int], faulted: [String: Int]) {
        let data = try await control("GET", "/_fault/counts")
        // {"kms.ScheduleKeyDeletion": 3, …, "faulted": {"kms.ScheduleKeyDeletion": 2}}
        guard var object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw EmulatorError("GET /_fault/counts did not answer a JSON object")
        }
        let faulted = (object.removeValue(forKey: "faulted") as? [String: Any] ?? [:]).compactMapValues { $0 as? Int }
        return (object.compactMapValues { $0 as? Int }, faulted)
    }

    private func control(_ method: String, _ path: String) async throws -> Data {
        try await send(method, path, body: nil)
    }

    private func control(_ method: String, _ path: String, body: some Encodable) async throws -> Data {
        try await send(method, path, body: JSONEncoder().encode(body))
    }

    /// Through async-http-client's shared client (not FoundationNetworking's URLSession: the benchmark program links
    /// the Swift runtime in, and a static FoundationNetworking needs a static libcurl the machine does not have).
    private func send(
        _ method: String, _ path: String, body: Data?, timeout: TimeAmount = .seconds(60)
    ) async throws -> Data {
        var request = HTTPClientRequest(url: endpoint + path)
        request.method = .RAW(value: method)
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        request.headers.add(name: "Content-Type", value: "application/json")
        let response = try await HTTPClient.shared.execute(request, timeout: timeout)
        var buffer = try await response.body.collect(upTo: 64 * 1024 * 1024)
        let data = Data(buffer.readBytes(length: buffer.readableBytes) ?? [])
        let status = Int(response.status.code)
        guard status == 200 else {
            let text = String(decoding: data, as: UTF8.self)
            throw EmulatorError("\(method) \(path) answered HTTP \(status): \(text)")
        }
        return data
    }

    private func waitUntilAnswering(deadline: ContinuousClock.Instant) async throws {
        while ContinuousClock.now < deadline {
            guard process.isRunning else { throw EmulatorError("exited (status \(process.terminationStatus))") }
            if (try? await send("GET", "/moto-api/", body: nil, timeout: .seconds(2))) != nil { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw EmulatorError("GET \(endpoint)/moto-api/ did not answer 200 in time")
    }

    private static func waitForPort(
        file: String, process: Process, deadline: ContinuousClock.Instant
    ) async throws -> Int {
        while ContinuousClock.now < deadline {
            // The file is written atomically (rename), so it is either absent or complete.
            if let text = try? String(contentsOfFile: file, encoding: .utf8),
                let port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
            {
                return port
            }
            guard process.isRunning else { throw EmulatorError("exited (status \(process.terminationStatus))") }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw EmulatorError("no port file in time; is moto installed (python3 -c 'import moto')?")
    }

    /// SIGTERM, then SIGKILL; never waits for ever.
    ///
    /// `Foundation.Process` sees an exit only when every holder of an inherited socket is gone,
    /// so a wrapper script in `TRANSFERKEYD_PYTHON` that forks python can outlive SIGKILL here;
    /// python then still exits with the test process (`--parent-pid`).
    private static func terminate(_ process: Process) {
        guard process.isRunning else { return }
        process.terminate()
        if waitForExit(of: process, seconds: 5) { return }
        kill(process.processIdentifier, SIGKILL)
        _ = waitForExit(of: process, seconds: 2)
    }

    private static func waitForExit(of process: Process, seconds: TimeInterval) -> Bool {
        let deadline = Date(timeIntervalSinceNow: seconds)
        while process.isRunning && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.02)
        }
        return !process.isRunning
    }

    /// `emulator/fault_moto.py`, found by walking up from this source file to the package root.
    private static func scriptURL(sourceFile: String = #filePath) throws -> URL {
        var folder = URL(fileURLWithPath: sourceFile).deletingLastPathComponent()
        while folder.path() != "/" {
            let candidate = folder.appending(path: "emulator/fault_moto.py")
            if FileManager.default.fileExists(atPath: candidate.path()) {
                return candidate
            }
            folder.deleteLastPathComponent()
        }
        throw EmulatorError("emulator/fault_moto.py not found above \(sourceFile)")
    }

    private static func tail(of file: URL, characters: Int = 4000) -> String {
        guard let data = try? Data(contentsOf: file) else { return "" }
        return String(String(decoding: data, as: UTF8.self).suffix(characters))
    }
}

/// Starts the shared emulator once, even when many tests ask for it at the same time.
private actor SharedEmulator {
    static let instance = SharedEmulator()

    private var starting: Task<Emulator, any Error>?

    func emulator() async throws -> Emulator {
        if let starting {
            return try await starting.value
        }
        let task = Task { try await Emulator.start() }
        starting = task
        do {
            return try await task.value
        } catch {
            // Let a later test try again rather than failing every test with a stale error.
            starting = nil
            throw error
        }
    }
}
