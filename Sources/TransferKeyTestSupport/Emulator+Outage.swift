import Foundation

#if canImport(Glibc)
    import Glibc
#endif

extension Emulator {
    /// Closes the emulator's listening socket for `duration`, then listens again on the same port
    /// (`POST /_fault/outage`): new connections are refused and AWS requests on connections already
    /// open are dropped, as when AWS is unreachable; moto keeps every key. Returns once the port
    /// refuses connections.
    public func refuseConnections(for duration: Duration) async throws {
        let (seconds, attoseconds) = duration.components
        try await startOutage(seconds: Double(seconds) + Double(attoseconds) / 1e18)
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if !isAcceptingConnections() { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw EmulatorError("the emulator still accepts connections 10 s after POST /_fault/outage")
    }

    /// Whether a TCP connection to the emulator's port is accepted right now.
    public func isAcceptingConnections() -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        return result == 0
    }
}
