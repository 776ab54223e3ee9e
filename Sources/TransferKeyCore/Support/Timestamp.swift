import Foundation

/// UTC ISO-8601 text with milliseconds (`2026-11-28T23:18:16.123Z`), the only time format in SQLite.
public enum Timestamp {
    /// `date` as it reads back from SQLite: whole milliseconds, rounded down as `string(_:)` writes them, so a
    /// record kept in memory equals the row read back.
    public static func stored(_ date: Date) -> Date {
        Date(timeIntervalSince1970: Double(wholeMilliseconds(date)) / 1000)
    }

    /// Whole milliseconds since 1970, rounded down, such that a time read back (`Double(m) / 1000`, which times
    /// 1000 may land just below `m`) gives `m` again: formatting what was parsed never moves a stored time.
    static func wholeMilliseconds(_ date: Date) -> Int64 {
        // Compared as `Date`s: a Date keeps seconds since 2001, so even `timeIntervalSince1970` is rounded once more.
        let down = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        return Date(timeIntervalSince1970: Double(down + 1) / 1000) <= date ? down + 1 : down
    }

    /// Formats `date` as stored in SQLite.
    public static func string(_ date: Date) -> String {
        // Whole milliseconds, rounded down, so formatting then parsing is stable.
        let millis = wholeMilliseconds(date)
        let seconds = millis.quotient(dividingBy: 1000)
        let fraction = millis - seconds * 1000
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        let year = Int(parts.tm_year) + 1900
        guard (0...9999).contains(year) else {
            return String(
                format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", year, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
                Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), Int(fraction))
        }
        // Digits written directly: this runs for every event and row written (`String(format:)` costs more).
        return String(unsafeUninitializedCapacity: 24) { out in
            func put(_ value: Int, _ width: Int, at offset: Int) {
                var value = value
                for index in stride(from: offset + width - 1, through: offset, by: -1) {
                    out[index] = UInt8(48 + value % 10)
                    value /= 10
                }
            }
            put(year, 4, at: 0)
            out[4] = 45
            put(Int(parts.tm_mon) + 1, 2, at: 5)
            out[7] = 45
            put(Int(parts.tm_mday), 2, at: 8)
            out[10] = 84
            put(Int(parts.tm_hour), 2, at: 11)
            out[13] = 58
            put(Int(parts.tm_min), 2, at: 14)
            out[16] = 58
            put(Int(parts.tm_sec), 2, at: 17)
            out[19] = 46
            put(Int(fraction), 3, at: 20)
            out[23] = 90
            return 24
        }
    }

    /// Parses text written by `string(_:)`; also accepts no or any number of fraction digits.
    public static func date(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[range] {
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        guard bytes.count >= 20, bytes[4] == 45, bytes[7] == 45, bytes[10] == 84, bytes[13] == 58,
            bytes[16] == 58, bytes.last == 90,
            let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var digits = 0
        var scale = 1.0
        if bytes.count > 20 {
            // At most 9 digits are read (nanoseconds), so the sum below stays exact in a Double.
            let end = min(bytes.count - 1, 29)
            guard bytes[19] == 46, bytes.count > 21, let value = number(20..<end),
                number(end..<(bytes.count - 1)) != nil
            else { return nil }
            digits = value
            scale = pow(10, Double(end - 20))
        } else if bytes[19] != 90 {
            return nil
        }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        let seconds = timegm(&parts)
        // One rounding (a division of exact integers), so `date(string(d))` equals `stored(d)` to the bit.
        return Date(timeIntervalSince1970: (Double(seconds) * scale + Double(digits)) / scale)
    }
}

extension Int64 {
    fileprivate func quotient(dividingBy divisor: Int64) -> Int64 {
        // Floor division, so dates before 1970 still format correctly.
        let q = self / divisor
        return (self % divisor < 0) ? q - 1 : q
    }
}
