/// A strict parser for the small TOML subset the config file needs.
///
/// Supported: `#` comments (also after values), bare and quoted keys, basic strings with escapes, literal strings,
/// decimal integers (sign, `_` separators), booleans, arrays (multi-line, trailing comma), `[table]` and
/// `[[array of tables]]` headers with a single key. Everything else TOML has — floats, dates and times, inline
/// tables, multi-line strings, dotted keys, hexadecimal/octal/binary integers, nested arrays — is refused with
/// `unsupported TOML: …`, so a config never means something the daemon silently read differently.
/// Every error names the 1-based line, and the key path when it is known.
struct TOMLParser {
    private let scalars: [Unicode.Scalar]
    private var position = 0
    private var line = 1

    private init(_ text: String) {
        var scalars = Array(text.unicodeScalars)
        // A byte order mark from a Windows editor is not content.
        if scalars.first == "\u{FEFF}" { scalars.removeFirst() }
        self.scalars = scalars
    }

    /// Parses `text` into its root table.
    static func parse(_ text: String) throws(InputError) -> TOMLTable {
        var parser = TOMLParser(text)
        return try parser.parseDocument()
    }

    // MARK: - Document and headers

    /// Where `key = value` lines go: the root, the last `[table]`, or the last element of an `[[array]]`.
    private enum Target {
        case root
        case table(index: Int)
        case tableArrayElement(index: Int)
    }

    private mutating func parseDocument() throws(InputError) -> TOMLTable {
        var root = TOMLTable(line: 1)
        var target = Target.root
        var pathPrefix = ""
        while peek() != nil {
            skipWhitespace()
            if isAtLineEnd {
                try finishLine(field: "config")
                continue
            }
            if peek() == "[" {
                let header = try parseHeader()
                target = try open(header, in: &root)
                switch target {
                case .root: pathPrefix = ""
                case .table: pathPrefix = Self.fieldName(header.key) + "."
                case .tableArrayElement(let index):
                    guard case .tableArray(let tables) = root.entries[index].item else { break }
                    pathPrefix = Self.fieldName(header.key) + "[\(tables.count)]."
                }
                try finishLine(field: pathPrefix.isEmpty ? "config" : String(pathPrefix.dropLast()))
                continue
            }
            let keyLine = line
            let key = try parseKey(fieldPrefix: pathPrefix)
            let field = pathPrefix + Self.fieldName(key)
            skipWhitespace()
            if peek() == "." {
                throw InputError(
                    field: field, "unsupported TOML: dotted keys (use a [table] header instead)", line: keyLine)
            }
            guard peek() == "=" else {
                throw InputError(field: field, "expected = after the key, got \(describeNext())", line: line)
            }
            position += 1
            skipWhitespace()
            let value = try parseValue(field: field)
            try insert(.value(value), key: key, line: keyLine, field: field, into: &root, target: target)
            try finishLine(field: field)
        }
        return root
    }

    private struct Header {
        var key: String
        var isArray: Bool
        var line: Int
    }

    private mutating func parseHeader() throws(InputError) -> Header {
        let headerLine = line
        position += 1
        let isArray = peek() == "["
        if isArray { position += 1 }
        skipWhitespace()
        let key = try parseKey(fieldPrefix: "")
        skipWhitespace()
        if peek() == "." {
            throw InputError(
                field: Self.fieldName(key), "unsupported TOML: dotted table names", line: headerLine)
        }
        let closing = isArray ? "]]" : "]"
        for _ in 0..<closing.count {
            guard peek() == "]" else {
                throw InputError(
                    field: Self.fieldName(key), "expected \(closing) to close the table header, got \(describeNext())",
                    line: headerLine)
            }
            position += 1
        }
        return Header(key: key, isArray: isArray, line: headerLine)
    }

    /// Adds the table a header opens to the root and returns where the following keys go.
    private func open(_ header: Header, in root: inout TOMLTable) throws(InputError) -> Target {
        let field = Self.fieldName(header.key)
        let table = TOMLTable(line: header.line)
        guard let index = root.index(of: header.key) else {
            root.entries.append(
                .init(key: header.key, item: header.isArray ? .tableArray([table]) : .table(table), line: header.line))
            return header.isArray
                ? .tableArrayElement(index: root.entries.count - 1) : .table(index: root.entries.count - 1)
        }
        if header.isArray, case .tableArray(var tables) = root.entries[index].item {
            // Drop the root's reference first, so the append does not copy every earlier table (which made
            // parsing quadratic in [[accounts]]).
            root.entries[index].item = .tableArray([])
            tables.append(table)
            root.entries[index].item = .tableArray(tables)
            return .tableArrayElement(index: index)
        }
        let existing = root.entries[index]
        switch (existing.item, header.isArray) {
        case (.tableArray, true):
            return .tableArrayElement(index: index)
        case (.table, false):
            throw InputError(
                field: field, "duplicate table [\(field)], already defined on line \(existing.line)", line: header.line)
        case (.tableArray, false):
            throw InputError(
                field: field, "[\(field)] conflicts with [[\(field)]] defined on line \(existing.line)",
                line: header.line)
        case (.table, true):
            throw InputError(
                field: field, "[[\(field)]] conflicts with [\(field)] defined on line \(existing.line)",
                line: header.line)
        case (.value, _):
            throw InputError(
                field: field, "table \(field) conflicts with the key defined on line \(existing.line)",
                line: header.line)
        }
    }

    private func insert(
        _ item: TOMLTable.Item, key: String, line keyLine: Int, field: String, into root: inout TOMLTable,
        target: Target
    ) throws(InputError) {
        func add(to table: inout TOMLTable) throws(InputError) {
            if let existing = table[key] {
                throw InputError(field: field, "duplicate key, already defined on line \(existing.line)", line: keyLine)
            }
            table.entries.append(.init(key: key, item: item, line: keyLine))
        }
        switch target {
        case .root:
            try add(to: &root)
        case .table(let index):
            guard case .table(var table) = root.entries[index].item else { return }
            root.entries[index].item = .table(TOMLTable(line: table.line))
            defer { root.entries[index].item = .table(table) }
            try add(to: &table)
        case .tableArrayElement(let index):
            guard case .tableArray(var tables) = root.entries[index].item, !tables.isEmpty else { return }
            // As in `open`: a uniquely referenced array is changed in place, not copied.
            root.entries[index].item = .tableArray([])
            defer { root.entries[index].item = .tableArray(tables) }
            try add(to: &tables[tables.count - 1])
        }
    }

    // MARK: - Keys

    private mutating func parseKey(fieldPrefix: String) throws(InputError) -> String {
        let field = fieldPrefix.isEmpty ? "config" : String(fieldPrefix.dropLast())
        switch peek() {
        case "\"":
            if peek(1) == "\"", peek(2) == "\"" {
                throw InputError(field: field, "unsupported TOML: multi-line strings as keys", line: line)
            }
            return try parseBasicString(field: field)
        case "'":
            if peek(1) == "'", peek(2) == "'" {
                throw InputError(field: field, "unsupported TOML: multi-line strings as keys", line: line)
            }
            return try parseLiteralString(field: field)
        default:
            var key = String.UnicodeScalarView()
            while let scalar = peek(), Self.isBareKeyScalar(scalar) {
                key.append(scalar)
                position += 1
            }
            guard !key.isEmpty else {
                throw InputError(field: field, "expected a key, got \(describeNext())", line: line)
            }
            return String(key)
        }
    }

    private static func isBareKeyScalar(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "A"..."Z", "a"..."z", "0"..."9", "_", "-": true
        default: false
        }
    }

    /// How a key is written in an error's field: as is when bare, quoted otherwise.
    static func fieldName(_ key: String) -> String {
        !key.isEmpty && key.unicodeScalars.allSatisfy(isBareKeyScalar) ? key : key.inputQuoted
    }

    // MARK: - Values

    private mutating func parseValue(field: String) throws(InputError) -> TOMLValue {
        let valueLine = line
        switch peek() {
        case "\"":
            if peek(1) == "\"", peek(2) == "\"" {
                throw InputError(field: field, "unsupported TOML: multi-line strings", line: line)
            }
            return TOMLValue(kind: .string(try parseBasicString(field: field)), line: valueLine)
        case "'":
            if peek(1) == "'", peek(2) == "'" {
                throw InputError(field: field, "unsupported TOML: multi-line strings", line: line)
            }
            return TOMLValue(kind: .string(try parseLiteralString(field: field)), line: valueLine)
        case "[":
            return try parseArray(field: field)
        case "{":
            throw InputError(field: field, "unsupported TOML: inline tables (use a [table] header)", line: line)
        case nil, "\n", "\r", "#":
            throw InputError(field: field, "expected a value after =, got \(describeNext())", line: line)
        default:
            return try parseBareValue(field: field)
        }
    }

    /// Booleans, integers, and the bare words TOML has that this subset refuses.
    private mutating func parseBareValue(field: String) throws(InputError) -> TOMLValue {
        let valueLine = line
        var token = String.UnicodeScalarView()
        while let scalar = peek(), Self.isBareKeyScalar(scalar) || scalar == "+" || scalar == "." || scalar == ":" {
            token.append(scalar)
            position += 1
        }
        let text = String(token)
        func fail(_ message: String) -> InputError { InputError(field: field, message, line: valueLine) }
        guard !text.isEmpty else { throw fail("expected a value, got \(describeNext())") }
        if text == "true" { return TOMLValue(kind: .boolean(true), line: valueLine) }
        if text == "false" { return TOMLValue(kind: .boolean(false), line: valueLine) }

        let unsigned = text.hasPrefix("+") || text.hasPrefix("-") ? String(text.dropFirst()) : text
        let bytes = Array(unsigned.utf8)
        let looksNumeric = bytes.first?.isASCIIDigit == true
        // 1979-05-27, 07:32:00, 1979-05-27T07:32:00Z
        if looksNumeric, text.contains(":") || (bytes.count >= 5 && bytes[4] == UInt8(ascii: "-")) {
            throw fail("unsupported TOML: dates and times, got \(text.inputQuoted)")
        }
        if unsigned == "inf" || unsigned == "nan" { throw fail("unsupported TOML: floats, got \(text.inputQuoted)") }
        if looksNumeric, unsigned.hasPrefix("0x") || unsigned.hasPrefix("0o") || unsigned.hasPrefix("0b") {
            throw fail("unsupported TOML: hexadecimal, octal and binary integers, got \(text.inputQuoted)")
        }
        if looksNumeric,
            bytes.contains(UInt8(ascii: ".")) || bytes.contains(UInt8(ascii: "e")) || bytes.contains(UInt8(ascii: "E")),
            bytes.allSatisfy({ $0.isASCIIDigit || "._eE+-".utf8.contains($0) })
        {
            throw fail("unsupported TOML: floats, got \(text.inputQuoted)")
        }
        if looksNumeric, let number = Self.integer(text) {
            return TOMLValue(kind: .integer(number), line: valueLine)
        }
        if looksNumeric, bytes.allSatisfy({ $0.isASCIIDigit || $0 == UInt8(ascii: "_") }) {
            if bytes.count > 1, bytes[0] == UInt8(ascii: "0") {
                throw fail("invalid integer \(text): leading zeros are not allowed")
            }
            if !bytes.contains(UInt8(ascii: "_")) { throw fail("integer \(text) is out of range") }
            throw fail("invalid integer \(text): each _ must be between two digits")
        }
        if looksNumeric {
            throw fail("invalid value \(text) (text must be in quotes, e.g. \"\(text)\")")
        }
        if text == "True" || text == "False" || text == "TRUE" || text == "FALSE" {
            throw fail("invalid value \(text) (booleans are lowercase: true or false)")
        }
        throw fail(
            "invalid value \(text.inputQuoted) (text must be in quotes; values are \"strings\", integers, true/false or [arrays])"
        )
    }

    /// A TOML decimal integer: optional sign, no leading zeros, `_` only between digits, within `Int`.
    static func integer(_ text: String) -> Int? {
        var bytes = Array(text.utf8)[...]
        var isNegative = false
        if let sign = bytes.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
            isNegative = sign == UInt8(ascii: "-")
            bytes = bytes.dropFirst()
        }
        guard let first = bytes.first, first.isASCIIDigit, bytes.last?.isASCIIDigit == true else { return nil }
        if first == UInt8(ascii: "0"), bytes.count > 1 { return nil }
        var value = 0
        var previousWasDigit = false
        for byte in bytes {
            if byte == UInt8(ascii: "_") {
                guard previousWasDigit else { return nil }
                previousWasDigit = false
                continue
            }
            guard byte.isASCIIDigit else { return nil }
            previousWasDigit = true
            let digit = Int(byte - UInt8(ascii: "0"))
            // Accumulate negatively so that Int.min parses.
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = times10.subtractingReportingOverflow(digit)
            guard !overflow1, !overflow2 else { return nil }
            value = next
        }
        if isNegative { return value }
        return value == Int.min ? nil : -value
    }

    private mutating func parseArray(field: String) throws(InputError) -> TOMLValue {
        let arrayLine = line
        position += 1
        var elements: [TOMLValue] = []
        while true {
            try skipWhitespaceCommentsAndNewlines(field: field)
            guard let scalar = peek() else {
                throw InputError(field: field, "unterminated array (missing ])", line: arrayLine)
            }
            if scalar == "]" {
                position += 1
                return TOMLValue(kind: .array(elements), line: arrayLine)
            }
            let elementField = "\(field)[\(elements.count + 1)]"
            if scalar == "[" {
                throw InputError(field: elementField, "unsupported TOML: nested arrays", line: line)
            }
            elements.append(try parseValue(field: elementField))
            try skipWhitespaceCommentsAndNewlines(field: field)
            switch peek() {
            case ",":
                position += 1
            case "]":
                continue
            case nil:
                throw InputError(field: field, "unterminated array (missing ])", line: arrayLine)
            default:
                throw InputError(field: field, "expected , or ] in the array, got \(describeNext())", line: line)
            }
        }
    }

    // MARK: - Strings

    private mutating func parseBasicString(field: String) throws(InputError) -> String {
        let startLine = line
        position += 1
        var result = String.UnicodeScalarView()
        while true {
            guard let scalar = peek(), scalar != "\n", scalar != "\r" else {
                throw InputError(field: field, "unterminated string (missing closing \")", line: startLine)
            }
            position += 1
            switch scalar {
            case "\"":
                return String(result)
            case "\\":
                result.append(try parseEscape(field: field))
            default:
                try checkNotControl(scalar, field: field, context: "a string (use an escape such as \\n)")
                result.append(scalar)
            }
        }
    }

    private mutating func parseEscape(field: String) throws(InputError) -> Unicode.Scalar {
        guard let scalar = peek() else {
            throw InputError(field: field, "unterminated string (missing closing \")", line: line)
        }
        position += 1
        switch scalar {
        case "\"": return "\""
        case "\\": return "\\"
        case "n": return "\n"
        case "t": return "\t"
        case "r": return "\r"
        case "b": return "\u{08}"
        case "f": return "\u{0C}"
        case "u", "U":
            let count = scalar == "u" ? 4 : 8
            var value: UInt32 = 0
            var digits = ""
            for _ in 0..<count {
                guard let digit = peek(), digit.isASCII, let nibble = UInt32(String(digit), radix: 16) else {
                    throw InputError(
                        field: field, "invalid escape \\\(scalar)\(digits): needs \(count) hex digits", line: line)
                }
                digits.unicodeScalars.append(digit)
                value = value << 4 | nibble
                position += 1
            }
            guard let result = Unicode.Scalar(value) else {
                throw InputError(
                    field: field, "invalid escape \\\(scalar)\(digits): not a Unicode scalar value", line: line)
            }
            return result
        default:
            let shown = String(scalar).inputQuoted.dropFirst().dropLast()
            throw InputError(
                field: field, "invalid escape \\\(shown) (allowed: \\\" \\\\ \\n \\t \\r \\b \\f \\uXXXX \\UXXXXXXXX)",
                line: line)
        }
    }

    private mutating func parseLiteralString(field: String) throws(InputError) -> String {
        let startLine = line
        position += 1
        var result = String.UnicodeScalarView()
        while true {
            guard let scalar = peek(), scalar != "\n", scalar != "\r" else {
                throw InputError(field: field, "unterminated string (missing closing ')", line: startLine)
            }
            position += 1
            if scalar == "'" { return String(result) }
            try checkNotControl(scalar, field: field, context: "a literal string")
            result.append(scalar)
        }
    }

    /// TOML forbids control characters other than tab in strings and comments.
    private func checkNotControl(_ scalar: Unicode.Scalar, field: String, context: String) throws(InputError) {
        if scalar.value < 0x20 && scalar != "\t" || scalar.value == 0x7F {
            let code = String(scalar.value, radix: 16, uppercase: true)
            throw InputError(field: field, "control character U+\(code) in \(context)", line: line)
        }
    }

    // MARK: - Whitespace, comments and line ends

    private func peek(_ offset: Int = 0) -> Unicode.Scalar? {
        position + offset < scalars.count ? scalars[position + offset] : nil
    }

    private mutating func skipWhitespace() {
        while let scalar = peek(), scalar == " " || scalar == "\t" { position += 1 }
    }

    private var isAtLineEnd: Bool {
        switch peek() {
        case nil, "\n", "\r", "#": true
        default: false
        }
    }

    /// Skips whitespace and an optional comment, then consumes the line break (or the end of the text).
    private mutating func finishLine(field: String) throws(InputError) {
        skipWhitespace()
        if peek() == "#" { try skipComment(field: field) }
        switch peek() {
        case nil:
            return
        case "\n":
            position += 1
            line += 1
        case "\r" where peek(1) == "\n":
            position += 2
            line += 1
        case "\r":
            throw InputError(field: field, "carriage return without line feed", line: line)
        default:
            throw InputError(field: field, "expected the end of the line, got \(describeNext())", line: line)
        }
    }

    private mutating func skipComment(field: String) throws(InputError) {
        while let scalar = peek(), scalar != "\n", scalar != "\r" {
            try checkNotControl(scalar, field: field, context: "a comment")
            position += 1
        }
    }

    private mutating func skipWhitespaceCommentsAndNewlines(field: String) throws(InputError) {
        while true {
            skipWhitespace()
            switch peek() {
            case "#":
                try skipComment(field: field)
            case "\n", "\r":
                try finishLine(field: field)
            default:
                return
            }
        }
    }

    /// The next few characters, quoted, or "the end of the line" / "the end of the file".
    private func describeNext() -> String {
        guard let scalar = peek() else { return "the end of the file" }
        if scalar == "\n" || scalar == "\r" { return "the end of the line" }
        var text = String.UnicodeScalarView()
        var offset = 0
        while let next = peek(offset), next != "\n", next != "\r", offset < 20 {
            text.append(next)
            offset += 1
        }
        return String(text).inputQuoted
    }
}
