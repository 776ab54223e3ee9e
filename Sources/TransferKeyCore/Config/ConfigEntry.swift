import Foundation

/// One key of the config file while it is decoded: its value, its line, and the key path errors name.
struct ConfigEntry {
    var item: TOMLTable.Item
    var line: Int
    /// The key path, e.g. `aws.max_attempts` or `accounts[2].regions`.
    var field: String

    init(_ entry: TOMLTable.Entry, field: String) {
        self.item = entry.item
        self.line = entry.line
        self.field = field
    }

    /// Runs a validator on a value of this entry and adds the line to its error.
    static func at<T>(_ line: Int, _ check: () throws(InputError) -> T) throws(InputError) -> T {
        do {
            return try check()
        } catch {
            var error = error
            error.line = line
            throw error
        }
    }

    func wrongType(expected: String) -> InputError {
        let found =
            switch item {
            case .value(let value): value.typeDescription
            case .table: "a [table]"
            case .tableArray: "[[array of tables]]"
            }
        return InputError(field: field, "expected \(expected), got \(found)", line: line)
    }

    func value() throws(InputError) -> TOMLValue {
        guard case .value(let value) = item else { throw wrongType(expected: "a value") }
        return value
    }

    func string() throws(InputError) -> String {
        guard case .value(let value) = item, case .string(let text) = value.kind else {
            throw wrongType(expected: "a string in quotes")
        }
        return text
    }

    /// The string value run through `validate` (a `Validator` function), whose error gets this entry's line.
    func validated<T>(_ validate: (String, String) throws(InputError) -> T) throws(InputError) -> T {
        let text = try string()
        return try Self.at(line) { () throws(InputError) in try validate(text, field) }
    }

    func integer(in range: ClosedRange<Int>, why: String = "") throws(InputError) -> Int {
        guard case .value(let value) = item, case .integer(let number) = value.kind else {
            throw wrongType(expected: "an integer")
        }
        guard range.contains(number) else {
            let bounds =
                range.upperBound == .max ? "at least \(range.lowerBound)" : "\(range.lowerBound)…\(range.upperBound)"
            throw InputError(field: field, "must be \(bounds)\(why), got \(number)", line: line)
        }
        return number
    }

    func boolean() throws(InputError) -> Bool {
        guard case .value(let value) = item, case .boolean(let flag) = value.kind else {
            throw wrongType(expected: "true or false")
        }
        return flag
    }

    /// A duration string within `minimum…maximum` (given as duration text, e.g. "1s" and "1h").
    func duration(from minimum: String, to maximum: String) throws(InputError) -> TimeInterval {
        let text = try string()
        let seconds = try Self.at(line) { () throws(InputError) in try Validator.duration(text, field: field) }
        let low = (try? Validator.duration(minimum, field: field)) ?? 0
        let high = (try? Validator.duration(maximum, field: field)) ?? .infinity
        guard seconds >= low, seconds <= high else {
            throw InputError(
                field: field, "must be between \(minimum) and \(maximum), got \(text.inputQuoted)", line: line)
        }
        return seconds
    }

    /// A file path: non-empty text without control characters or surrounding whitespace.
    func path() throws(InputError) -> String {
        let text = try string()
        guard !text.isEmpty else {
            throw InputError(field: field, "must be a file path, got an empty string", line: line)
        }
        guard !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw InputError(field: field, "must not contain control characters, got \(text.inputQuoted)", line: line)
        }
        guard text.trimmingCharacters(in: .whitespaces) == text else {
            throw InputError(field: field, "has leading or trailing spaces: \(text.inputQuoted)", line: line)
        }
        return text
    }

    /// An array whose elements are all strings, each with its line.
    func stringArray() throws(InputError) -> [(text: String, line: Int)] {
        guard case .value(let value) = item, case .array(let elements) = value.kind else {
            throw wrongType(expected: "an array of strings")
        }
        var result: [(text: String, line: Int)] = []
        for (index, element) in elements.enumerated() {
            guard case .string(let text) = element.kind else {
                throw InputError(
                    field: "\(field)[\(index + 1)]", "expected a string in quotes, got \(element.typeDescription)",
                    line: element.line)
            }
            result.append((text, element.line))
        }
        return result
    }

    /// The error for a key the table does not know, suggesting the closest known key.
    static func unknownKey(_ key: String, field: String, line: Int, in table: String, known: [String]) -> InputError {
        var message = "unknown key \(key.inputQuoted)\(table)"
        if let suggestion = EditDistance.closest(to: key, among: known) {
            message += " (did you mean \"\(suggestion)\"?)"
        } else {
            message += " (known keys: \(known.joined(separator: ", ")))"
        }
        return InputError(field: field, message, line: line)
    }
}
