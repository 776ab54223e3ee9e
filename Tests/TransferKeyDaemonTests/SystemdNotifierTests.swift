import Foundation
import Logging
import Testing
import TransferKeyTestSupport

@testable import TransferKeyDaemon

#if canImport(Glibc)
    import Glibc
#endif

@Suite("sd_notify without libsystemd")
struct SystemdNotifierTests {
    @Test("a socket file receives READY, STATUS, WATCHDOG and STOPPING, each as its own datagram")
    func socketFile() throws {
        // Given a listener bound in a temporary folder
        let folder = try TemporaryDirectory(prefix: "tkd-notify")
        defer { folder.remove() }
        let listener = try DatagramListener(path: folder.path("notify.sock"))
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": listener.notifySocket])

        // When the daemon reports its life cycle
        #expect(notifier.isEnabled)
        notifier.ready()
        notifier.status("3 active, 1 cleanup due")
        notifier.watchdog()
        notifier.stopping()

        // Then systemd hears exactly that, in order
        #expect(listener.receive() == "READY=1")
        #expect(listener.receive() == "STATUS=3 active, 1 cleanup due")
        #expect(listener.receive() == "WATCHDOG=1")
        #expect(listener.receive() == "STOPPING=1")
        #expect(listener.receive(timeout: 0.1) == nil)
        #expect(notifier.failureCount == 0)
    }

    @Test("an @name socket is reached in the abstract namespace")
    func abstractName() throws {
        let listener = try DatagramListener(abstractName: "transferkeyd-test-\(UUID().uuidString.prefix(8))")
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": listener.notifySocket])

        notifier.ready()
        notifier.send(["STATUS=two fields", "ERRNO=0"])

        #expect(listener.receive() == "READY=1")
        #expect(listener.receive() == "STATUS=two fields\nERRNO=0")
        #expect(notifier.failureCount == 0)
    }

    @Test("an abstract name is sent without trailing NULs, so a longer bound name is not reached")
    func abstractNameLength() throws {
        // Given a listener on "@name-x" and a notifier told "@name"
        let name = "transferkeyd-test-\(UUID().uuidString.prefix(8))"
        let listener = try DatagramListener(abstractName: name + "-x")
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": "@" + name], logger: CapturedLog().logger)

        // When it sends, the address is exactly "\0name": nobody listens there
        notifier.ready()

        #expect(listener.receive(timeout: 0.2) == nil)
        #expect(notifier.failureCount == 1)
    }

    @Test("STATUS is one line, cut at a character boundary with an ellipsis")
    func statusOneLine() throws {
        let folder = try TemporaryDirectory(prefix: "tkd-notify")
        defer { folder.remove() }
        let listener = try DatagramListener(path: folder.path("n.sock"))
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": listener.notifySocket])

        notifier.status("first line\nREADY=1\r\tend")
        notifier.status(String(repeating: "é", count: 300))

        #expect(listener.receive() == "STATUS=first line READY=1  end")
        let long = try #require(listener.receive())
        #expect(long.hasPrefix("STATUS=éé"))
        #expect(long.hasSuffix("…"))
        #expect(long.utf8.count - "STATUS=".utf8.count <= SystemdNotifier.maximumStatusLength)
        #expect(!long.contains("\u{FFFD}"))
    }

    @Test("a newline inside a raw field cannot smuggle in a second assignment")
    func sendFlattensNewlines() throws {
        let folder = try TemporaryDirectory(prefix: "tkd-notify")
        defer { folder.remove() }
        let listener = try DatagramListener(path: folder.path("n.sock"))
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": listener.notifySocket])

        notifier.send(["STATUS=x\nREADY=1"])

        #expect(listener.receive() == "STATUS=x READY=1")
    }

    @Test("WATCHDOG_USEC=2000000 means a ping every second")
    func watchdogInterval() throws {
        let environment = ["NOTIFY_SOCKET": "/run/systemd/notify", "WATCHDOG_USEC": "2000000"]
        #expect(SystemdNotifier(environment: environment).watchdogInterval == .seconds(1))

        var ours = environment
        ours["WATCHDOG_PID"] = "\(getpid())"
        #expect(SystemdNotifier(environment: ours).watchdogInterval == .seconds(1))
    }

    @Test("no watchdog when WATCHDOG_PID names another process, or the values are unusable")
    func watchdogDisabled() {
        let base = ["NOTIFY_SOCKET": "/run/systemd/notify", "WATCHDOG_USEC": "2000000"]
        for (name, value) in [("WATCHDOG_PID", "\(getpid() + 1)"), ("WATCHDOG_PID", "self")] {
            var environment = base
            environment[name] = value
            #expect(SystemdNotifier(environment: environment).watchdogInterval == nil, "\(name)=\(value)")
        }
        for usec in ["0", "-5", "soon", ""] {
            var environment = base
            environment["WATCHDOG_USEC"] = usec
            #expect(SystemdNotifier(environment: environment).watchdogInterval == nil, "WATCHDOG_USEC=\(usec)")
        }
        // Without a socket nobody would hear the pings.
        #expect(SystemdNotifier(environment: ["WATCHDOG_USEC": "2000000"]).watchdogInterval == nil)
    }

    @Test("without NOTIFY_SOCKET every call is a quiet no-op")
    func disabled() {
        for environment in [[:], ["NOTIFY_SOCKET": ""]] {
            let notifier = SystemdNotifier(environment: environment)
            #expect(!notifier.isEnabled)
            notifier.ready()
            notifier.status("x")
            notifier.watchdog()
            notifier.stopping()
            notifier.send(["X=1"])
            #expect(notifier.failureCount == 0)
        }
    }

    @Test("an unreachable or malformed socket is counted and logged once, never fatal")
    func unreachable() throws {
        let folder = try TemporaryDirectory(prefix: "tkd-notify")
        defer { folder.remove() }
        let log = CapturedLog()

        // Given a path where no socket exists
        let notifier = SystemdNotifier(
            environment: ["NOTIFY_SOCKET": folder.path("nobody-home.sock")], logger: log.logger)
        #expect(notifier.isEnabled)

        // When the daemon keeps reporting
        for _ in 0..<3 { notifier.watchdog() }

        // Then every failure is counted but only the first is logged
        #expect(notifier.failureCount == 3)
        #expect(log.lines.count == 1)
        #expect(log.lines.first?.contains("cannot notify systemd") == true)

        // And an address systemd would never hand out disables notifying, with one warning
        let relative = SystemdNotifier(environment: ["NOTIFY_SOCKET": "relative/path"], logger: log.logger)
        #expect(!relative.isEnabled)
        relative.ready()
        let tooLong = SystemdNotifier(
            environment: ["NOTIFY_SOCKET": "/" + String(repeating: "x", count: 200)], logger: log.logger)
        #expect(!tooLong.isEnabled)
        #expect(log.lines.count == 3)
    }
}
