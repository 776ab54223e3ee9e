import Crypto
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The secret that keys the audit chain, kept outside the database (`audit_key_file`: a root-owned file readable by
/// the daemon's group, or a systemd credential). Every event written with it carries `mac` = HMAC-SHA-256(secret,
/// hash); whoever can write the database but not read this file cannot forge one.
///
/// The file is one line: `transferkeyd-audit-key v1 <64 hex digits> from <N>`. `from` is the first event that must
/// carry a MAC: events before it were written before the ledger was keyed (an existing database keyed later) and stay
/// verifiable as the plain chain they are. Recording it in the key file, not the database, means that stripping the
/// MACs from the database does not turn keyed events back into "unkeyed" ones.
public struct AuditKey: Sendable {
    private let key: SymmetricKey
    /// The first event that must carry a MAC.
    public let fromSeq: Int64
    /// The file it came from.
    public let path: String
    /// A short, non-secret name of the key (first 8 hex digits of SHA-256 of it), for messages and `check`.
    public let fingerprint: String

    static let magic = "transferkeyd-audit-key"

    init(secret: [UInt8], fromSeq: Int64, path: String) {
        key = SymmetricKey(data: secret)
        self.fromSeq = max(fromSeq, 1)
        self.path = path
        fingerprint = String(AuditLog.hex(SHA256.hash(data: secret)).prefix(8))
    }

    /// The MAC of an event with chain hash `hash`.
    public func mac(hash: String) -> String {
        AuditLog.hex(HMAC<SHA256>.authenticationCode(for: Array(hash.utf8), using: key))
    }

    /// Reads the key file at `path`. Throws `StoreError` naming the file when it is missing, unreadable, readable by
    /// anyone (mode o+r), or not a key file.
    public static func load(path: String) throws -> AuditKey {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw StoreError.auditKey(path: path, "\(String(cString: strerror(errno)))")
        }
        if info.st_mode & 0o004 != 0 {
            throw StoreError.auditKey(
                path: path, "readable by anyone (mode \(String(info.st_mode & 0o777, radix: 8))); chmod o-r it")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw StoreError.auditKey(path: path, "cannot be read by this user (permissions?)")
        }
        let words = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isWhitespace)
        guard words.count == 5, words[0] == magic, words[1] == "v1", words[3] == "from", let from = Int64(words[4]),
            from >= 1, let secret = hexBytes(words[2]), secret.count == 32
        else {
            throw StoreError.auditKey(path: path, "is not a transferkeyd audit key file")
        }
        return AuditKey(secret: secret, fromSeq: from, path: path)
    }

    /// Creates a new key file at `path` (mode 0440, never replacing a file) whose keying starts at event `fromSeq`.
    public static func create(path: String, fromSeq: Int64) throws -> AuditKey {
        var secret = [UInt8](repeating: 0, count: 32)
        var generator = SystemRandomNumberGenerator()
        for index in secret.indices { secret[index] = UInt8.random(in: 0...255, using: &generator) }
        let line = "\(magic) v1 \(AuditLog.hex(secret)) from \(max(fromSeq, 1))\n"
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o440)
        guard descriptor >= 0 else {
            throw StoreError.auditKey(path: path, "cannot be created: \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        let bytes = Array(line.utf8)
        guard fchmod(descriptor, 0o440) == 0, write(descriptor, bytes, bytes.count) == bytes.count,
            fsync(descriptor) == 0
        else {
            let reason = String(cString: strerror(errno))
            unlink(path)
            throw StoreError.auditKey(path: path, "cannot be written: \(reason)")
        }
        return AuditKey(secret: secret, fromSeq: fromSeq, path: path)
    }

    private static func hexBytes(_ text: Substring) -> [UInt8]? {
        guard text.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            guard let byte = UInt8(text[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        return bytes
    }
}
