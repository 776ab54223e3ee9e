import Foundation
import PropertyBased
import Testing

@testable import TransferKeyCore

@Suite("Config loader: property-based fuzzing")
struct ConfigPropertyTests {
    /// What the loader promises for any text: a config whose values are inside their documented
    /// limits, or one printable line naming the key and a line of the text.
    func expectParsesSafelyOrExplains(_ text: String) {
        let lineCount = text.unicodeScalars.filter { $0 == "\n" }.count + 1
        do {
            let config = try Config.parse(text)
            #expect((7...30).contains(config.pendingWindowDays))
            #expect((1...3600).contains(config.pollInterval))
            #expect(config.aliasPrefix.hasPrefix("alias/") && !config.aliasPrefix.lowercased().hasPrefix("alias/aws"))
            #expect(config.maxDeletionsPerCycle >= 1 && config.orphanAlarmThreshold >= 1)
            for account in config.accounts {
                #expect(account.id.utf8.count == 12 && account.id.utf8.allSatisfy { (0x30...0x39).contains($0) })
            }
        } catch {
            #expect((1...lineCount).contains(error.line ?? 1), "a line of the text: \(error)")
            #expect(
                error.description.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value != 0x7F },
                "one printable line: \(error.description.inputQuoted)")
            #expect(error.description.utf8.count < 4_000)
        }
    }

    @Test("the contract's example with one edit per line parses to sane values or one line naming the place")
    func mutatedExample() async {
        let lines = ConfigTests.productExample.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        await propertyCheck(
            count: 2_000, input: Gen.int(in: 0...(lines.count - 1)), Gen.int(in: 0...5), Gen.int(in: 0...120),
            Gen<Character?>.element(of: HostileText.awkward + ["[", "]", "{", "}", "#", ",", "1", "-"]).map { $0! }
        ) { lineIndex, operation, position, character in
            var edited = lines
            edited[lineIndex] = HostileText.mutate(
                lines[lineIndex], operation: operation, position: position, character: character)
            expectParsesSafelyOrExplains(edited.joined(separator: "\n"))
        }
    }

    @Test("random text, and the example cut at any point, never crash the loader")
    func randomAndTruncated() async {
        await propertyCheck(count: 1_000, input: HostileText.strings(maximumLength: 200)) { text in
            expectParsesSafelyOrExplains(text)
        }
        let example = Array(ConfigTests.productExample.unicodeScalars)
        await propertyCheck(count: 500, input: Gen.int(in: 0...example.count)) { cut in
            var text = ""
            text.unicodeScalars.append(contentsOf: example.prefix(cut))
            expectParsesSafelyOrExplains(text)
        }
    }

    @Test("huge configs (deep nesting, up to 4,000 accounts, a 200 kB string) finish with a config or an error")
    func hugeConfigs() async {
        await propertyCheck(count: 3, input: Gen.int(in: 1_000...4_000)) { count in
            expectParsesSafelyOrExplains(String(repeating: "[", count: count))
            expectParsesSafelyOrExplains(
                "regions = " + String(repeating: "[", count: count) + String(repeating: "]", count: count))
            expectParsesSafelyOrExplains(
                String(repeating: "[[accounts]]\nid = \"111122223333\"\nregions = [\"us-east-1\"]\n", count: count))
            expectParsesSafelyOrExplains("database = \"" + String(repeating: "a", count: count * 50) + "\"")
        }
    }
}
