import Foundation
import TransferKeyCore

/// The ledger's off-host copy as Litestream keeps it (`[replication]`), read through the `litestream` command: which
/// LTX files the replica holds for the database, and when the newest was made.
///
/// Litestream is a separate program (the operator runs `litestream replicate` beside the daemon); transferkeyd only
/// asks it about the replica. Its S3 client cannot apply `AWS_CA_BUNDLE` (it refuses to start with "unable to add
/// custom RootCAs"), so the variable is left out of its environment; a private CA goes in the system trust store.
struct Replica {
    let settings: Config.Replication
    /// Litestream's config, resolved like `database`.
    let configPath: String
    let databasePath: String
    /// How long one `litestream` call may take (an unreachable bucket makes it retry for minutes).
    var timeout: TimeInterval = 20

    /// What the replica holds.
    struct Listing: Equatable {
        var files: Int
        var newest: Date?
    }

    /// Why the replica could not be read.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    init(settings: Config.Replication, loaded: LoadedConfig) {
        self.settings = settings
        configPath = loaded.resolve(settings.litestreamConfig)
        databasePath = loaded.databasePath
    }

    /// `litestream ltx -config C DB`: one line per LTX file after a header; the last column is when it was made.
    func list() throws(Failure) -> Listing {
        let output = try run(["ltx", "-config", configPath, databasePath])
        var listing = Listing(files: 0, newest: nil)
        for line in output.split(separator: "\n").dropFirst() {
            let columns = line.split(whereSeparator: \.isWhitespace)
            guard columns.count >= 5 else { continue }
            listing.files += 1
            if let made = ISO8601DateFormatter().date(from: String(columns[columns.count - 1])) {
                listing.newest = max(listing.newest ?? made, made)
            }
        }
        return listing
    }

    /// Replaces the local ledger with the replica's (a standby that took the writer lease over: the replica is what the
    /// previous holder wrote). A local file is moved aside, not deleted (`DB.replaced-<time>`, with its `-wal`,
    /// `-shm` and Litestream's state folder); nothing happens when the replica holds no ledger.
    /// Returns where the old file went, if anywhere.
    func restoreReplacing(now: Date = Date()) throws(Failure) -> String? {
        guard try list().files > 0 else { return nil }
        let manager = FileManager.default
        let folder = (databasePath as NSString).deletingLastPathComponent
        let name = (databasePath as NSString).lastPathComponent
        let aside = databasePath + ".replaced-" + Timestamp.string(now).replacingOccurrences(of: ":", with: "")
        var moved: String?
        for (from, to) in [
            (databasePath, aside), (databasePath + "-wal", aside + "-wal"), (databasePath + "-shm", aside + "-shm"),
            ((folder as NSString).appendingPathComponent(".\(name)-litestream"), aside + "-litestream"),
        ] where manager.fileExists(atPath: from) {
            do {
                try manager.moveItem(atPath: from, toPath: to)
            } catch {
                throw Failure(
                    description: "cannot move \(from) aside before the restore: \(error.localizedDescription)")
            }
            if from == databasePath { moved = to }
        }
        _ = try run(["restore", "-config", configPath, databasePath], timeout: 300)
        return moved
    }

    /// The command that restores the ledger from the replica, for messages.
    var restoreCommand: String { "\(settings.litestream) restore -config \(configPath) \(databasePath)" }

    private func run(_ arguments: [String], timeout: TimeInterval? = nil) throws(Failure) -> String {
        let timeout = timeout ?? self.timeout
        let process = Process()
        if settings.litestream.contains("/") {
            process.executableURL = URL(fileURLWithPath: settings.litestream)
            process.arguments = arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [settings.litestream] + arguments
        }
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "AWS_CA_BUNDLE")
        process.environment = environment
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw Failure(description: "cannot run \(settings.litestream): \(error.localizedDescription)")
        }
        let done = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in done.signal() }
        // Read while it runs: a full pipe would stall it.
        let out = Mutexed(Data())
        let reader = Thread { out.set(output.fileHandleForReading.readDataToEndOfFile()) }
        reader.start()
        if done.wait(timeout: .now() + timeout) == .timedOut {
            process.terminate()
            _ = done.wait(timeout: .now() + 2)
            throw Failure(
                description: "`litestream \(arguments.first ?? "")` gave no answer within \(Int(timeout)) s "
                    + "(is the replica's bucket reachable?)")
        }
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        while !out.isSet { Thread.sleep(forTimeInterval: 0.01) }
        guard process.terminationStatus == 0 else {
            let line = message.split(separator: "\n").last.map(String.init) ?? "exit \(process.terminationStatus)"
            throw Failure(description: "`litestream \(arguments.first ?? "")` failed: \(line)")
        }
        return String(decoding: out.value, as: UTF8.self)
    }
}

/// A value set once by another thread.
private final class Mutexed: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Data?
    init(_: Data) {}
    func set(_ data: Data) { lock.withLock { stored = data } }
    var isSet: Bool { lock.withLock { stored != nil } }
    var value: Data { lock.withLock { stored ?? Data() } }
}
