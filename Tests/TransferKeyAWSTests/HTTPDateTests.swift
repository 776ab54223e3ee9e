import Foundation
import Testing

@testable import TransferKeyAWS

@Suite("HTTP Date header: IMF-fixdate parsed from bytes, as Foundation's formatter reads it")
struct HTTPDateTests {
    static func formatter() -> DateFormatter {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter
    }

    @Test("RFC 9110's example, a leap day, the first second of 1970 and of 2100")
    func knownDates() {
        #expect(HTTPDate.parse("Sun, 06 Nov 1994 08:49:37 GMT") == Date(timeIntervalSince1970: 784_111_777))
        #expect(HTTPDate.parse("Thu, 01 Jan 1970 00:00:00 GMT") == Date(timeIntervalSince1970: 0))
        #expect(HTTPDate.parse("Thu, 29 Feb 2024 23:59:59 GMT") == Date(timeIntervalSince1970: 1_709_251_199))
        #expect(HTTPDate.parse("Fri, 01 Jan 2100 00:00:00 GMT") == Date(timeIntervalSince1970: 4_102_444_800))
        #expect(HTTPDate.parse("  Mon, 07 Dec 2026 06:00:40 GMT ") == Date(timeIntervalSince1970: 1_796_623_240))
    }

    @Test("agrees with Foundation's DateFormatter on 2,000 random seconds between 1970 and 2200")
    func agreesWithFoundation() {
        let formatter = Self.formatter()
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let date = Date(timeIntervalSince1970: Double(Int.random(in: 0..<7_258_118_400, using: &generator)))
            let text = formatter.string(from: date)
            #expect(HTTPDate.parse(text) == date, "\(text)")
        }
    }

    @Test(
        "anything but an IMF-fixdate in GMT is nil",
        arguments: [
            "", "Sun, 06 Nov 1994 08:49:37 UTC", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994",
            "Sun, 06 Nov 1994 08:49:37 GMT+1", "Sun, 6 Nov 1994 08:49:37 GMT", "Sun, 06 Xyz 1994 08:49:37 GMT",
            "Sun, 32 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 24:49:37 GMT", "Sun, 06 Nov 1994 08:60:37 GMT",
            "Sun, 06 Nov 19a4 08:49:37 GMT", "Sun, 06 Nov 1994 08-49-37 GMT", "Sun, 00 Nov 1994 08:49:37 GMT",
        ])
    func rejects(text: String) {
        #expect(HTTPDate.parse(text) == nil)
        #expect(AWSHTTPResponse.parseHTTPDate(text) == nil)
    }

    @Test("header lookups ignore ASCII case and nothing else")
    func headerCase() {
        let response = AWSHTTPResponse(
            status: 200, headers: [("x-amzn-RequestId", "r-1"), ("DATE", "Sun, 06 Nov 1994 08:49:37 GMT")], text: "")
        #expect(response.header("X-AMZN-REQUESTID") == "r-1")
        #expect(response.header("date") == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(response.header("x-amzn-requestid ") == nil)
        #expect(response.serverDate == Date(timeIntervalSince1970: 784_111_777))
    }
}
