import Testing

@testable import TransferKeyCore

@Suite("Config fuzzing")
struct ConfigFuzzTests {
    /// A small deterministic generator (SplitMix64), so a failure reproduces.
    struct SplitMix64: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let fragments = [
        "[", "]", "[[", "]]", "{", "}", "\"", "'", "\\", "\\u", "=", ",", ".", "#", "\n", "\r\n", "\r", " ", "\t",
        "k", "aws", "accounts", "id", "regions", "max_attempts", "1", "0", "-", "+", "_", "e", "x", ":", "true",
        "\"111122223333\"", "\"us-east-1\"", "\u{0}", "\u{7F}", "é", "\u{FEFF}", "poll_interval", "\"30s\"",
    ]

    @Test("random fragments of TOML never crash the parser, and every error names a line of the text")
    func randomInput() {
        var generator = SplitMix64(state: 42)
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
