extension Validator {
    /// An AWS endpoint override `http(s)://host[:port][/]`: a DNS name, IPv4 address or `[IPv6]` address,
    /// no user info, path, query or fragment (the signer needs to know exactly which host it signs for).
    public static func endpointURL(_ text: String, field: String) throws(InputError) -> String {
        let expected = "must be http(s)://host[:port] with no path, e.g. \"http://127.0.0.1:5000\""
        var rest: Substring
        if text.hasPrefix("https://") {
            rest = text.dropFirst(8)
        } else if text.hasPrefix("http://") {
            rest = text.dropFirst(7)
        } else {
            throw InputError(field: field, "\(expected), got \(text.inputDescription)")
        }
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        let host: Substring
        var port: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else {
                throw InputError(field: field, "\(expected), got \(text.inputQuoted)")
            }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else {
                    throw InputError(field: field, "\(expected), got \(text.inputQuoted)")
                }
                port = after.dropFirst()
            }
            guard !host.isEmpty,
                host.utf8.allSatisfy({
                    $0.isLowercaseHexDigit || (0x41...0x46).contains($0) || $0 == UInt8(ascii: ":")
                        || $0 == UInt8(ascii: ".")
                })
            else {
                throw InputError(field: field, "invalid IPv6 address in \(text.inputQuoted)")
            }
        } else {
            let parts = rest.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            host = parts[0]
            if parts.count == 2 { port = parts[1] }
            let labels = host.split(separator: ".", omittingEmptySubsequences: false)
            guard !host.isEmpty, host.utf8.count <= 253,
                labels.allSatisfy({ label in
                    !label.isEmpty && label.utf8.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                        && label.utf8.allSatisfy { $0.isASCIILetter || $0.isASCIIDigit || $0 == UInt8(ascii: "-") }
                })
            else {
                throw InputError(field: field, "\(expected), got \(text.inputQuoted)")
            }
        }
        if let port {
            guard !port.isEmpty, port.utf8.count <= 5, port.utf8.allSatisfy(\.isASCIIDigit), let number = Int(port),
                (1...65535).contains(number)
            else {
                throw InputError(field: field, "port must be 1–65535, got \(text.inputQuoted)")
            }
        }
        return text
    }
}
