import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Free space on the file system that holds the database: the daemon stops claiming work before
/// SQLite runs out of room mid-transaction, and `status` can say why although nothing can be written.
public enum FileSystemSpace {
    /// Below this many free bytes next to the database, the daemon claims no work (a cleanup step writes
    /// a few pages; this leaves room for the WAL to grow and for the records that resume work).
    public static let minimumFreeBytes: Int64 = 1 << 20

    /// Bytes an unprivileged writer may still use on the file system of `path` (or of its folder
    /// when the file does not exist yet); nil when it cannot be told.
    public static func availableBytes(near path: String) -> Int64? {
        var candidate = path
        var info = statvfs()
        while statvfs(candidate, &info) != 0 {
            let parent = (candidate as NSString).deletingLastPathComponent
            guard !parent.isEmpty, parent != candidate else { return nil }
            candidate = parent
        }
        return Int64(info.f_bavail) * Int64(info.f_frsize)
    }

    /// Why the database's file system is too full to work on, in one line naming the file; nil when it is not
    /// (or when its free space cannot be told: the writes then say so themselves).
    public static func shortage(forDatabaseAt path: String) -> String? {
        guard let free = availableBytes(near: path), free < minimumFreeBytes else { return nil }
        return "the disk holding database \(path) is full (\(free) bytes free, at least \(minimumFreeBytes) needed)"
            + " — free space; work resumes by itself"
    }
}
