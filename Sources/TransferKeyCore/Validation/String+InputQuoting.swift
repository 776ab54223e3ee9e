extension String {
    /// The text in double quotes, safe to print on one log or terminal line.
    ///
    /// Quotes and backslashes are escaped, and every scalar outside printable ASCII is shown as
    /// `\u{…}`, so a Cyrillic look-alike, a non-breaking space or a newline is visible instead of
    /// being printed raw (which could also forge a second line in a log). Long text is cut.
    var inputQuoted: String {
        var result = "\""
        var count = 0
        for scalar in unicodeScalars {
            if count == 300 {
                result += "…"
                break
            }
            count += 1
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\t": result += "\\t"
            case "\r": result += "\\r"
            case " "..."~": result.unicodeScalars.append(scalar)
            default: result += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            }
        }
        return result + "\""
    }

    /// `inputQuoted`, or `nothing` for the empty string: the "got …" part of an error message.
    var inputDescription: String {
        isEmpty ? "nothing (empty)" : inputQuoted
    }
}
