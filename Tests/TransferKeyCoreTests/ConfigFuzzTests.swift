import Testing
import TransferKeyTestSupport

@testable import TransferKeyCore

@Suite("Config fuzzing")
struct ConfigFuzzTests {
    static let fragments = [
        "[", "]", "[[", "]]", "{", "}", "\"", "'", "\\", "\\u", "=", ",", ".", "#", "\n", "\r\n", "\r", " ", "\t",
        "k", "aws", "accounts", "id", "regions", "max_attempts", "1", "0", "-", "+", "_", "e", "x", ":", "true",
        "\"111122223333\"", "\"us-east-1\"", "\u{0}", "\u{7F}", "é", "\u{FEFF}", "poll_interval", "\"30s\"",
    ]

    @Test("random fragments of TOML never crash the parser, and every error names a line of the text")
    func randomInput() {
        var generator = SeededGenerator(seed: 42)
        for _ in 0..<3000 {
            let count = Int.random(in: 0...24, using: &generator)
            let text = (0..<count).map { _ in Self.fragments.randomElement(using: &generator)! }.joined()
            // Lines as the parser counts them: LF and CRLF end a line.
            let lineCount = text.unicodeScalars.filter { $0 == "\n" }.count + 1
            do {
                _ = try Config.parse(text)
            } catch {
                let line = error.line ?? 0
                #expect((1...lineCount).contains(line), "line \(line) of \(lineCount) for \(text.inputQuoted)")
                #expect(!error.description.contains("\n"))
                #expect(!error.description.contains("\r"))
            }
        }
    }
}
