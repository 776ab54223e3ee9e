import ArgumentParser
import Foundation
import TransferKeyCore
import TransferKeyStore

/// A JSON value as decoded from an event's detail, for `show`'s text only.
enum DetailValue: Decodable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([DetailValue])
    case object([String: DetailValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([DetailValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: DetailValue].self))
        }
    }

    /// For people: a string bare unless empty or spaced (then quoted as JSON), whole numbers without
    /// a fraction, `[a, b]` lists and `{key=value, …}` objects with sorted keys.
    var readable: String {
        switch self {
        case .null: return "null"
        case .bool(let value): return String(value)
        case .number(let value):
            return value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
        case .string(let value):
            return value.isEmpty || value.contains(" ") ? JSONValue.string(value).text : value
        case .array(let values): return "[" + values.map(\.readable).joined(separator: ", ") + "]"
        case .object(let values):
            return "{" + values.keys.sorted().map { "\($0)=\(values[$0]!.readable)" }.joined(separator: ", ") + "}"
        }
    }
}
