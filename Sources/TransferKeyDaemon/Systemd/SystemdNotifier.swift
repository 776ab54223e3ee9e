import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Tells systemd how the daemon is doing (`sd_notify(3)`), without linking libsystemd.
///
/// Every call is a no-op when `NOTIFY_SOCKET` is unset (run by hand, under tests, or by a
/// unit that is not `Type=notify`). A failed send is ignored — the daemon's work matters
/// more than its report — but counted, and logged once.
public struct SystemdNotifier: Sendable {
    /// Longest `STATUS=` text sent, in UTF-8 bytes; `systemctl status` shows one line.
    public static let maximumStatusLength = 200

    private let destination: Destination?
    private let watchdogMicroseconds: UInt64?
    private let failures: FailureCounter

    /// Reads `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID` from `environment`.
    public init(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        logger: Logger = Logger(label: "transferkeyd.systemd")
    ) {
        failures = FailureCounter(logger: logger)
        switch Destination.parse(environment["NOTIFY_SOCKET"]) {
        case .none:
            destination = nil
        case .success(let parsed):
            destination = parsed
        case .failure(let reason):
            destination = nil
            logger.warning(
                "NOTIFY_SOCKET is unusable; systemd will not hear from the daemon",
                metadata: ["reason": "\(reason)"])
        }
        watchdogMicroseconds = Self.watchdogMicroseconds(environment: environment, pid: getpid())
    }

    /// Whether there is a notification socket to talk to.
    public var isEnabled: Bool { destination != nil }

    /// How often to call `watchdog()`: half of `WATCHDOG_USEC`, as `sd_watchdog_enabled(3)`
    /// advises; `nil` when systemd expects no pings (or cannot hear them).
    public var watchdogInterval: Duration? {
        guard isEnabled, let watchdogMicroseconds else { return nil }
        return .microseconds(Int64(clamping: watchdogMicroseconds / 2))
    }

    /// How many notifications could not be sent since start.
    public var failureCount: Int { failures.count }

    /// `READY=1`: start-up finished; `systemctl start` returns.
    public func ready() { send(["READY=1"]) }

    /// `STATUS=…`: one line of free text shown by `systemctl status`.
    public func status(_ text: String) { send(["STATUS=" + Self.oneLine(text)]) }

    /// `WATCHDOG=1`: the daemon is alive; due every `watchdogInterval`.
    public func watchdog() { send(["WATCHDOG=1"]) }

    /// `STOPPING=1`: shutdown began.
    public func stopping() { send(["STOPPING=1"]) }

    /// Sends `fields` (`NAME=value` each) as one datagram.
    ///
    /// A newline inside a field would start a new assignment, so it becomes a space.
    public func send(_ fields: [String]) {
        guard let destination, !fields.isEmpty else { return }
        let message = fields.map { $0.replacing("\n", with: " ") }.joined(separator: "\n")
        if let errorNumber = destination.send(message) {
            failures.record(errorNumber: errorNumber, destination: destination.description)
        }
    }

    // MARK: - Parsing

    static func watchdogMicroseconds(environment: [String: String], pid: pid_t) -> UInt64? {
        guard let text = environment["WATCHDOG_USEC"], let usec = UInt64(text), usec > 0 else { return nil }
        // The pings are for WATCHDOG_PID only; a child that inherited the variables must stay quiet.
        if let pidText = environment["WATCHDOG_PID"], !pidText.isEmpty {
            guard let watchdogPID = pid_t(pidText), watchdogPID == pid else { return nil }
        }
        return usec
    }

    /// `text` on one line (control characters become spaces), cut at a character boundary
    /// so that it fits `maximumStatusLength` bytes, with `…` marking the cut.
    static func oneLine(_ text: String) -> String {
        let flat = String(
            String.UnicodeScalarView(
                text.unicodeScalars.map { $0.properties.generalCategory == .control ? " " : $0 }))
        guard flat.utf8.count > maximumStatusLength else { return flat }
        let ellipsis = "…"
        var cut = ""
        for character in flat {
            if cut.utf8.count + character.utf8.count + ellipsis.utf8.count > maximumStatusLength { break }
            cut.append(character)
        }
        return cut + ellipsis
    }
}

extension SystemdNotifier {
    /// Where notifications go: a socket file, or a name in Linux's abstract namespace.
    struct Destination: Sendable, CustomStringConvertible {
        /// Bytes of `sun_path`; an abstract name starts with NUL and is not NUL-terminated.
        let pathBytes: [UInt8]
        let description: String

        enum ParseResult {
            case success(Destination)
            case failure(String)
        }

        static func parse(_ value: String?) -> ParseResult? {
            guard let value, !value.isEmpty else { return nil }
            var bytes = Array(value.utf8)
            switch bytes.first {
            case UInt8(ascii: "/"):
                // A file path needs its terminating NUL inside sun_path.
                guard bytes.count < Self.pathCapacity else { return .failure("path longer than sun_path") }
            case UInt8(ascii: "@"):
                // Abstract namespace: the name is every byte after the leading NUL, no terminator.
                bytes[0] = 0
                guard bytes.count <= Self.pathCapacity else { return .failure("name longer than sun_path") }
            default:
                // systemd 254+ may also hand out "vsock:…" addresses; a host service never gets one.
                return .failure("neither an absolute path nor an @abstract name")
            }
            return .success(Destination(pathBytes: bytes, description: value))
        }

        static var pathCapacity: Int { MemoryLayout.size(ofValue: sockaddr_un().sun_path) }

        /// Sends `message`; returns `errno` on failure.
        func send(_ message: String) -> Int32? {
            #if canImport(Glibc)
                let socketType = Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
                let sendFlags = Int32(MSG_NOSIGNAL)
            #else
                let socketType = SOCK_DGRAM
                let sendFlags: Int32 = 0
            #endif
            // A fresh socket per message, as libsystemd does: nothing to keep open or to leak.
            let descriptor = socket(AF_UNIX, socketType, 0)
            guard descriptor >= 0 else { return errno }
            defer { close(descriptor) }

            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { path in
                path.copyBytes(from: pathBytes)
            }
            // For an abstract name the length must end exactly at the name: trailing NULs would
            // be part of it. For a file path the NUL is counted, as libsystemd does.
            let pathOffset = MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path)!
            let isAbstract = pathBytes.first == 0
            let length = socklen_t(pathOffset + pathBytes.count + (isAbstract ? 0 : 1))

            let payload = Array(message.utf8)
            let sent = payload.withUnsafeBytes { buffer in
                withUnsafePointer(to: &address) { pointer in
                    pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                        sendto(descriptor, buffer.baseAddress, buffer.count, sendFlags, socketAddress, length)
                    }
                }
            }
            guard sent >= 0 else { return errno }
            // A datagram is sent whole or not at all; a short count would be a kernel surprise.
            return sent == payload.count ? nil : EMSGSIZE
        }
    }

    /// Counts failed sends and logs only the first, so a vanished socket cannot flood the log.
    final class FailureCounter: Sendable {
        private let failures = Mutex(0)
        private let logger: Logger

        init(logger: Logger) { self.logger = logger }

        var count: Int { failures.withLock { $0 } }

        func record(errorNumber: Int32, destination: String) {
            let isFirst = failures.withLock { failures in
                failures += 1
                return failures == 1
            }
            guard isFirst else { return }
            logger.warning(
                "cannot notify systemd; carrying on, further failures are only counted",
                metadata: [
                    "socket": "\(destination)",
                    "errno": "\(errorNumber)",
                    "error": "\(String(cString: strerror(errorNumber)))",
                ])
        }
    }
}
