import Foundation
import Testing
import TransferKeyTestSupport

@testable import TransferKeyAWS

@Suite("JSON request bodies")
struct JSONBodyTests {
    @Test("the bytes of a KMS input: keys sorted, strings escaped, numbers and booleans as JSON writes them")
    func exactBytes() throws {
        let input: [String: Any] = [
            "KeyId": "alias/CadoResponse-KMS-Alias-1", "Limit": 100, "MultiRegion": true, "Enabled": false,
            "StartTime": 1_700_000_000.25, "Whole": 1_700_000_000.0,
            "Tags": [["TagKey": "quote\"back\\slash", "TagValue": "line\nfeed\ttab\u{01}é"]],
        ]
        let text = String(decoding: try JSONBody.encode(input), as: UTF8.self)
        #expect(
            text == #"{"Enabled":false,"KeyId":"alias/CadoResponse-KMS-Alias-1","Limit":100,"MultiRegion":true,"#
                + #""StartTime":1700000000.25,"Tags":[{"TagKey":"quote\"back\\slash","TagValue":"line\nfeed\ttab\u0001é"}],"#
                + #""Whole":1700000000.0}"#)
    }

    @Test("a value JSON cannot hold is an error that names its type, not a body")
    func unsupported() {
        #expect(throws: JSONBody.UnsupportedValue.self) { try JSONBody.encode(["When": Date()]) }
        #expect(throws: JSONBody.UnsupportedValue.self) { try JSONBody.encode(["N": Double.nan]) }
    }

    /// Whether `parsed` (what JSONSerialization read) holds `input`'s values; the input's own types decide.
    static func same(_ parsed: Any, _ input: Any) -> Bool {
        switch input {
        case let text as String: return parsed as? String == text
        case let flag as Bool: return parsed as? Bool == flag
        case let number as Int: return parsed as? Int == number
        case let list as [Any]:
            guard let other = parsed as? [Any], other.count == list.count else { return false }
            return zip(other, list).allSatisfy { same($0, $1) }
        case let map as [String: Any]:
            guard let other = parsed as? [String: Any], Set(other.keys) == Set(map.keys) else { return false }
            return map.allSatisfy { key, value in same(other[key]!, value) }
        default: return false
        }
    }

    @Test("random inputs read back by Foundation's JSON parser as the same values")
    func roundTrip() throws {
        var generator = SeededGenerator(seed: 24)
        func text() -> String {
            let alphabet = Array("aZ09/-_ \"\\\n\t\u{00}\u{1F}é€😀")
            return String(
                (0..<Int.random(in: 0...12, using: &generator)).map { _ in
                    alphabet.randomElement(using: &generator)!
                })
        }
        for _ in 0..<500 {
            var input: [String: Any] = [:]
            for _ in 0..<Int.random(in: 0...5, using: &generator) {
                switch Int.random(in: 0...4, using: &generator) {
                case 0: input[text()] = text()
                case 1: input[text()] = Int.random(in: -1_000_000...1_000_000, using: &generator)
                case 2: input[text()] = Bool.random(using: &generator)
                case 3: input[text()] = [text(), text()]
                default: input[text()] = ["A": text(), "B": Int.random(in: 0...9, using: &generator)]
                }
            }
            let bytes = try JSONBody.encode(input)
            let parsed = try JSONSerialization.jsonObject(with: Data(bytes))
            #expect(Self.same(parsed, input), "\(String(decoding: bytes, as: UTF8.self))")
        }
    }
}
