import Testing
import TransferKeyDaemon

@Suite("Daemon version")
struct DaemonVersionTests {
    @Test("the version is a semantic version")
    func semantic() {
        let parts = DaemonVersion.current.split(separator: ".")
        #expect(parts.count == 3 && parts.allSatisfy { Int($0) != nil })
    }
}
