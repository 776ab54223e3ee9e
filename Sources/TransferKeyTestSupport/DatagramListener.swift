import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A bound `AF_UNIX` datagram socket standing in for systemd's notification socket (immutable: the kernel
/// serializes concurrent receives on the descriptor).
public final class DatagramListener: Sendable {
    /// What to put in `NOTIFY_SOCKET`: the file path, or `@name` for an abstract socket.
    public let notifySocket: String
    private let descriptor: Int32

    /// Binds a socket file at `path`.
    public convenience init(path: String) throws {
        try self.init(notifySocket: path, pathBytes: Array(path.utf8) + [0])
    }

    /// Binds `@name` in Linux's abstract namespace.
    public convenience init(abstractName name: String) throws {
        try self.init(notifySocket: "@" + name, pathBytes: [0] + Array(name.utf8))
    }

    private init(notifySocket: String, pathBytes: [UInt8]) throws {
        self.notifySocket = notifySocket
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw ListenerError("socket: errno \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: pathBytes) }
        let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path)! + pathBytes.count)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        guard bound == 0 else {
            let error = errno
            close(descriptor)
            throw ListenerError("bind \(notifySocket): errno \(error)")
        }
    }

    deinit { close(descriptor) }

    /// The next datagram as text, or `nil` when none arrives within `timeout` seconds.
    public func receive(timeout: Double = 2) -> String? {
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, Int32(timeout * 1000)) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        guard count >= 0 else { return nil }
        return String(decoding: buffer[..<count], as: UTF8.self)
    }
}

/// The listener could not be set up.
public struct ListenerError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
