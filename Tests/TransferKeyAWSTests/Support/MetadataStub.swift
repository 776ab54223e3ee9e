import Foundation

/// Runs `Fixtures/metadata_stub.py` (IMDSv2 + ECS agent stand-in) on a free 127.0.0.1 port.
final class MetadataStub: @unchecked Sendable {
    let process = Process()
    let input = Pipe()
    let port: Int

    var baseURL: String { "http://127.0.0.1:\(port)" }

    init() throws {
        let script = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appending(path: "metadata_stub.py")
        let output = Pipe()
        process.executableURL = URL(filePath: "/usr/bin/env")
        process.arguments = ["python3", script.path()]
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        var line = Data()
        while let byte = try output.fileHandleForReading.read(upToCount: 1), !byte.isEmpty, byte != Data("\n".utf8) {
            line.append(byte)
        }
        guard let port = Int(String(decoding: line, as: UTF8.self)) else {
            process.terminate()
            throw CocoaError(.fileReadCorruptFile)
        }
        self.port = port
    }

    /// Stops the stub (closing stdin ends it; terminate is the fallback).
    func stop() {
        try? input.fileHandleForWriting.close()
        process.terminate()
        process.waitUntilExit()
    }
}
