/// The body of an AWS JSON-protocol request (KMS, CloudTrail, DynamoDB): a map of strings, integers, doubles,
/// booleans, and arrays and maps of those, written as JSON with its keys sorted (one input, one byte string).
///
/// Written here rather than with Foundation's `JSONSerialization`, which bridges the map to `NSDictionary` and
/// walks it through `Any` casts: on every request that was 4 % of the daemon's CPU per cleaned key (`perf record`
/// during `make bench` section 3s), for bodies of two or three short fields.
public enum JSONBody {
    /// A value of a type JSON has no place for (a `Date`, a `Data`, …): a programming error, named.
    public struct UnsupportedValue: Error, CustomStringConvertible {
        public var description: String
    }

    /// `input` as UTF-8 JSON.
    public static func encode(_ input: [String: Any]) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(128)
        try write(input, to: &out)
        return out
    }

    private static func write(_ value: Any, to out: inout [UInt8]) throws {
        switch value {
        case let text as String:
            writeString(text, to: &out)
        case let flag as Bool:
            out += flag ? Array("true".utf8) : Array("false".utf8)
        case let number as Int:
            out += Array(String(number).utf8)
        case let number as Double:
            guard number.isFinite else { throw UnsupportedValue(description: "JSON has no \(number)") }
            out += Array(
                (number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : "\(number)").utf8)
        case let map as [String: Any]:
            out.append(UInt8(ascii: "{"))
            for (index, key) in map.keys.sorted().enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                writeString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                try write(map[key]!, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        case let list as [Any]:
            out.append(UInt8(ascii: "["))
            for (index, element) in list.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                try write(element, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        default:
            throw UnsupportedValue(description: "JSON body cannot hold a \(type(of: value))")
        }
    }

    private static let hex = Array("0123456789abcdef".utf8)

    /// A JSON string: `"` and `\` escaped, control characters as `\uXXXX` (or their short forms), the rest as is.
    private static func writeString(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x0A: out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0D: out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case 0x09: out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0..<0x20:
                out += [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")]
                out += [hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
