import Foundation

/// The HTTP `Date` header's one format (RFC 9110 IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`), parsed from its
/// bytes: every answer carries one, and a Foundation `DateFormatter` or `Calendar` per answer costs more than the
/// rest of the answer's handling (ICU's formatter set-up; issue #24's profile). Written here because the format is
/// fixed-width and the one thing needed is seconds since 1970.
public enum HTTPDate {
    private static let months: [[UInt8]] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ].map { Array($0.utf8) }

    /// The date of an IMF-fixdate, or nil for anything else (surrounding spaces are allowed).
    public static func parse(_ text: String) -> Date? {
        var text = text
        return text.withUTF8 { whole -> Date? in
            var start = 0
            var end = whole.count
            while start < end, whole[start] == 0x20 { start += 1 }
            while end > start, whole[end - 1] == 0x20 { end -= 1 }
            // "Sun, 06 Nov 1994 08:49:37 GMT": 29 bytes.
            guard end - start == 29 else { return nil }
            let b = UnsafeBufferPointer(rebasing: whole[start..<end])
            func digits(_ from: Int, _ count: Int) -> Int? {
                var value = 0
                for index in from..<(from + count) {
                    let byte = b[index]
                    guard byte >= 0x30, byte <= 0x39 else { return nil }
                    value = value * 10 + Int(byte - 0x30)
                }
                return value
            }
            guard b[3] == 0x2C, b[4] == 0x20, b[7] == 0x20, b[11] == 0x20, b[16] == 0x20, b[19] == 0x3A,
                b[22] == 0x3A, b[25] == 0x20, b[26] == 0x47, b[27] == 0x4D, b[28] == 0x54,
                let day = digits(5, 2), let year = digits(12, 4), let hour = digits(17, 2),
                let minute = digits(20, 2), let second = digits(23, 2),
                let month = months.firstIndex(where: { $0[0] == b[8] && $0[1] == b[9] && $0[2] == b[10] }),
                (1...31).contains(day), hour < 24, minute < 60, second <= 60
            else { return nil }
            return Date(
                timeIntervalSince1970: Double(
                    daysSince1970(year: year, month: month + 1, day: day) * 86_400 + hour * 3600 + minute * 60 + second)
            )
        }
    }

    /// Days from 1970-01-01 to the given proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
    static func daysSince1970(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
