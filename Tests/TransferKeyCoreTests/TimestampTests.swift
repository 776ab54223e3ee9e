import Foundation
import Testing

@testable import TransferKeyCore

@Suite("Timestamp")
struct TimestampTests {
    @Test("formats UTC with milliseconds and parses back")
    func roundTrip() throws {
        let date = Date(timeIntervalSince1970: 1_795_907_896.123)
        let text = Timestamp.string(date)
        #expect(text == "2026-11-28T23:18:16.123Z")
        let parsed = try #require(Timestamp.date(text))
        #expect(abs(parsed.timeIntervalSince1970 - date.timeIntervalSince1970) < 0.0005)
    }

    @Test(
        "rejects text that is not the stored format",
        arguments: [
            "", "2026-11-28", "2026-11-28 23:18:16Z", "2026-13-28T23:18:16Z", "2026-11-28T23:18:16.Z",
            "2026-11-28T23:18:16.123",
        ])
    func rejects(text: String) {
        #expect(Timestamp.date(text) == nil)
    }
}
