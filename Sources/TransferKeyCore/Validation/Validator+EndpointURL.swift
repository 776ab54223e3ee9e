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
        if let marker = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) {
            let what = rest[marker] == "/" ? "a path" : "a query or fragment"
            throw InputError(
                field: field,
                "must be http(s)://host[:port] without \(what) (\(String(rest[marker...]).inputQuoted) is not allowed), "
                    + "got \(text.inputQuoted)")
        }
        if rest.contains("@") {
            throw InputError(
                field: field,
                "must not contain user info (user@host): credentials come from the credential chain, got "
                    + text.inputQuoted)
        }
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

    /// Whether an endpoint URL's host is loopback: `localhost`, `127.0.0.0/8` or `[::1]`.
    public static func isLoopbackEndpoint(_ text: String) -> Bool {
        var rest = Substring(text)
        if let scheme = rest.range(of: "://") { rest = rest[scheme.upperBound...] }
        if let end = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) { rest = rest[..<end] }
        if rest.hasPrefix("[") { return rest.hasPrefix("[::1]") }
        let host = rest.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)[0].lowercased()
        if host == "localhost" { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127"
            && octets.allSatisfy {
                !$0.isEmpty && $0.count <= 3 && $0.allSatisfy(\.isASCIIDigitCharacter) && Int($0)! <= 255
            }
    }

    /// An endpoint URL that is valid and, unless `allowInsecure`, uses https or a loopback host (plain http to
    /// anything else would let a forged answer steer which keys are deleted).
    public static func endpointURL(_ text: String, field: String, allowInsecure: Bool) throws(InputError) -> String {
        let url = try endpointURL(text, field: field)
        if !allowInsecure, url.hasPrefix("http://"), !isLoopbackEndpoint(url) {
            throw InputError(
                field: field,
                "plain http is only allowed to a loopback host (127.0.0.1, [::1], localhost); use https, or set "
                    + "[aws] allow_insecure_endpoint = true, got \(text.inputQuoted)")
        }
        return url
    }

    /// Validates `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_KMS` / `_EC2` / `_STS` of `environment` like the
    /// config's `endpoint_url` (the variable is the field name).
    public static func endpointEnvironment(_ environment: [String: String], allowInsecure: Bool) throws(InputError) {
        for name in ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_KMS", "AWS_ENDPOINT_URL_EC2", "AWS_ENDPOINT_URL_STS"] {
            guard let value = environment[name], !value.isEmpty else { continue }
            _ = try endpointURL(value, field: name, allowInsecure: allowInsecure)
        }
    }
}

extension Character {
    fileprivate var isASCIIDigitCharacter: Bool { isASCII && isWholeNumber }
}
