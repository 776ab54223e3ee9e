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

    @Test("agrees with the C library's formatting on 2,000 random instants from 1900 to 2200, and round-trips them")
    func agreesWithFormat() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let millis = Int64.random(in: -2_208_988_800_000..<7_258_118_400_000, using: &generator)
            let date = Date(timeIntervalSince1970: Double(millis) / 1000)
            // The milliseconds drawn: a time that is whole milliseconds formats as exactly those (the Double times
            // 1000 may land just below them; rounding that down would move the time a millisecond back).
            let whole = millis
            let seconds = whole >= 0 ? whole / 1000 : (whole - 999) / 1000
            var time = time_t(seconds)
            var parts = tm()
            gmtime_r(&time, &parts)
            let expected = String(
                format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
                Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec),
                Int(whole - seconds * 1000))
            #expect(Timestamp.string(date) == expected, "\(millis)")
            let back = try #require(Timestamp.date(expected))
            #expect(abs(back.timeIntervalSince1970 - date.timeIntervalSince1970) < 0.0011, "\(expected)")
        }
    }

    @Test("reading back what was written gives `stored(_:)` to the bit, for 2,000 random instants with sub-ms parts")
    func storedIsWhatReadsBack() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let date = Date(timeIntervalSince1970: Double.random(in: 0..<7_258_118_400, using: &generator))
            let back = try #require(Timestamp.date(Timestamp.string(date)))
            #expect(back == Timestamp.stored(date), "\(date.timeIntervalSince1970)")
            #expect(Timestamp.string(back) == Timestamp.string(date))
        }
    }
}
