import Foundation
import Testing
import TransferKeyDaemon

@Suite("Daemon version")
struct DaemonVersionTests {
    @Test("the version is a semantic version")
    func semantic() {
        let parts = DaemonVersion.current.split(separator: ".")
        #expect(parts.count == 3 && parts.allSatisfy { Int($0) != nil })
    }

    @Test("the man page's title line and the CHANGELOG name the version the binary reports")
    func oneVersionString() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let man = try String(contentsOf: root.appendingPathComponent("docs/transferkeyd.8"), encoding: .utf8)
        let title = man.split(separator: "\n").first { $0.hasPrefix(".TH ") }
        #expect(title?.contains("\"transferkeyd \(DaemonVersion.current)\"") == true, "\(String(describing: title))")
        let changelog = try String(contentsOf: root.appendingPathComponent("CHANGELOG.md"), encoding: .utf8)
        #expect(changelog.contains("## \(DaemonVersion.current) "), "CHANGELOG.md has a section for the version")
    }
}
