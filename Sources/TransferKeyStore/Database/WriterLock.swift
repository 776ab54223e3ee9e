import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The one daemon that works a database: an exclusive `flock` on `<database>.lock`, held for the life of the process
/// (the kernel releases it when the process ends, also on SIGKILL), with the holder's pid and host name written in the file.
///
/// Two `transferkeyd run` on one database would each schedule and delete what the other is about to, and share one
/// heartbeat row; the second is refused instead, naming the first. Commands (`track`, `complete`, …) write beside
/// the daemon as before: SQLite serialises their transactions.
public final class WriterLock: Sendable {
    /// The lock file's path.
    public let path: String
    private let descriptor: Int32

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    /// The lock file of the database at `databasePath`.
    public static func path(forDatabase databasePath: String) -> String { databasePath + ".lock" }

    /// Takes the lock of the database at `databasePath` without waiting.
    /// - Throws: `StoreError` (`busy`) naming the holder's pid when another process holds it; `unavailable` when the
    ///   lock file cannot be opened.
    public static func acquire(databasePath: String) throws -> WriterLock {
        let path = path(forDatabase: databasePath)
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw StoreError.unavailable(
                path: databasePath, reason: "cannot open the lock file \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            var buffer = [UInt8](repeating: 0, count: 300)
            let count = pread(descriptor, &buffer, buffer.count, 0)
            close(descriptor)
            guard code == EWOULDBLOCK else {
                throw StoreError.unavailable(
                    path: databasePath, reason: "cannot lock \(path): \(String(cString: strerror(code)))")
            }
            // "PID HOST": who holds it, for the message.
            let holder = String(decoding: buffer.prefix(max(count, 0)), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: " ", with: " on host ")
            throw StoreError.heldByAnotherDaemon(path: databasePath, pid: holder.isEmpty ? nil : holder)
        }
        let pid = Array("\(getpid()) \(ProcessInfo.processInfo.hostName)\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = pwrite(descriptor, pid, pid.count, 0)
        return WriterLock(path: path, descriptor: descriptor)
    }
}
