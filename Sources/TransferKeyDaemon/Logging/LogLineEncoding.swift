import Logging

/// The `key=value` text of a log line: field order, quoting, escaping.
///
/// Whatever goes in, one event comes out as one line: every control character is escaped,
/// so a newline in an AWS error message cannot forge a second log entry.
enum LogLineEncoding {
    /// Keys shown first, in this order, when present: what an operator greps for.
    static let leadingKeys = ["transfer", "account", "region"]

    /// `metadata` flattened (`outer.inner` for nested dictionaries) into `(key, text)` pairs:
    /// `leadingKeys` first, then the rest sorted by key so equal events print equal lines.
    static func orderedFields(_ metadata: Logger.Metadata) -> [(key: String, value: String)] {
        var flat: [String: String] = [:]
        flatten(metadata, prefix: "", into: &flat)
        let leading = leadingKeys.compactMap { key in flat[key].map { (key: key, value: $0) } }
        let rest = flat.filter { !leadingKeys.contains($0.key) }
            .sorted { $0.key < $1.key }
            .map { (key: $0.key, value: $0.value) }
        return leading + rest
    }

    private static func flatten(_ metadata: Logger.Metadata, prefix: String, into flat: inout [String: String]) {
        for (key, value) in metadata {
            let name = prefix + key
            switch value {
            case .dictionary(let nested) where !nested.isEmpty:
                flatten(nested, prefix: name + ".", into: &flat)
            default:
                flat[name] = value.description
            }
        }
    }

    /// `key` reduced to `[A-Za-z0-9_.-]`, so the `=` that follows it is the separator.
    static func sanitizeKey(_ key: String) -> String {
        guard !key.isEmpty else { return "_" }
        return String(String.UnicodeScalarView(key.unicodeScalars.map { isKeyCharacter($0) ? $0 : "_" }))
    }

    private static func isKeyCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", "_", ".", "-": true
        default: false
        }
    }

    /// `value` as is when it is one plain word, otherwise double-quoted with `\"`, `\\` and
    /// control characters escaped.
    static func quoteValue(_ value: String) -> String {
        let needsQuotes =
            value.isEmpty
            || value.unicodeScalars.contains { scalar in
                scalar == "\"" || scalar == "=" || scalar == "\\" || scalar.properties.isWhitespace
                    || needsEscape(scalar)
            }
        guard needsQuotes else { return value }
        var quoted = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": quoted += "\\\""
            case "\\": quoted += "\\\\"
            default: quoted += escape(scalar)
            }
        }
        return quoted + "\""
    }

    /// `message` with control characters escaped (`\n`, `\t`, `\u{1B}` …) and nothing else changed.
    static func escapeMessage(_ message: String) -> String {
        guard message.unicodeScalars.contains(where: needsEscape) else { return message }
        return message.unicodeScalars.map(escape).joined()
    }

    private static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        // Line and paragraph separators end a line in some viewers; the rest can drive a terminal.
        case .control, .lineSeparator, .paragraphSeparator: true
        default: false
        }
    }

    private static func escape(_ scalar: Unicode.Scalar) -> String {
        guard needsEscape(scalar) else { return String(scalar) }
        switch scalar {
        case "\n": return "\\n"
        case "\r": return "\\r"
        case "\t": return "\\t"
        default: return "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
        }
    }
}
