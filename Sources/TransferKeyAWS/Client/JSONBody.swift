import TransferKeyCore

/// The body of an AWS JSON-protocol request (KMS, CloudTrail, DynamoDB): a map of strings, integers, doubles,
/// booleans, and arrays and maps of those, written as `JSONValue.text` writes it (sorted keys: one input, one byte
/// string).
///
/// Not Foundation's `JSONSerialization`, which bridges the map to `NSDictionary` and walks it through `Any` casts:
/// on every request that was 4 % of the daemon's CPU per cleaned key (`perf record` during `make bench` section 3s),
/// for bodies of two or three short fields.
public enum JSONBody {
    /// A value of a type JSON has no place for (a `Date`, a `Data`, …): a programming error, named.
    public struct UnsupportedValue: Error, CustomStringConvertible {
        public var description: String
    }

    /// `input` as UTF-8 JSON.
    public static func encode(_ input: [String: Any]) throws -> [UInt8] {
        Array(try value(input).text.utf8)
    }

    private static func value(_ any: Any) throws -> JSONValue {
        switch any {
        case let text as String: return .string(text)
        case let flag as Bool: return .bool(flag)
        case let number as Int: return .int(Int64(number))
        case let number as Double:
            guard number.isFinite else { throw UnsupportedValue(description: "JSON has no \(number)") }
            return .double(number)
        case let map as [String: Any]: return .object(try map.mapValues(value))
        case let list as [Any]: return .array(try list.map(value))
        default: throw UnsupportedValue(description: "JSON body cannot hold a \(type(of: any))")
        }
    }
}
