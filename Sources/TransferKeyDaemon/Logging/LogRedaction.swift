/// Keeps credentials, session tokens and signatures out of log lines (no secret in any log: README, "Credentials").
///
/// Two nets: a metadata key that names a secret has its whole value replaced, and any text
/// (message, value, error) is scrubbed of the shapes secrets take when they slip into a
/// string — an `Authorization` header, `Signature=…`, `X-Amz-Security-Token: …`,
/// `"SecretAccessKey": "…"`, `AWS_SECRET_ACCESS_KEY=…`. A bare secret with no name beside it
/// cannot be recognised; the AWS module must never put one in a message.
enum LogRedaction {
    /// What replaces a secret.
    static let placeholder = "<redacted>"

    /// Lower-case fragments that make a key name a secret's name.
    static let secretKeyMarkers = [
        "secret", "token", "password", "passwd", "authorization", "signature", "credential",
    ]

    /// Whether a metadata key names a secret, so its value must not be shown.
    static func isSecretKey(_ key: String) -> Bool {
        let lowered = key.lowercased()
        return secretKeyMarkers.contains { has(lowered, $0) }
    }

    /// Whether `text` holds `fragment`, byte for byte: a plain search over the UTF-8 bytes, written here because
    /// both library searches are slow for this. Foundation's `String.contains(_:)` (which this module sees) goes
    /// through `CFStringFind`, and the standard library's generic `firstRange(of:)` was slower still: nine searches
    /// for every field of every line were most of a log line's cost (`perf record`, `make bench` section 3s).
    static func has(_ text: String, _ fragment: String) -> Bool {
        let needle = Array(fragment.utf8)
        guard let first = needle.first else { return true }
        func search(_ haystack: UnsafeBufferPointer<UInt8>) -> Bool {
            guard haystack.count >= needle.count else { return false }
            var start = 0
            while start <= haystack.count - needle.count {
                if haystack[start] == first {
                    var matched = 1
                    while matched < needle.count, haystack[start + matched] == needle[matched] { matched += 1 }
                    if matched == needle.count { return true }
                }
                start += 1
            }
            return false
        }
        return text.utf8.withContiguousStorageIfAvailable(search)
            ?? Array(text.utf8).withUnsafeBufferPointer(search)
    }

    /// `text` with every recognisable secret replaced by `placeholder`.
    static func scrub(_ text: String) -> String {
        // Most lines mention none of these words; skip the regular expressions for them.
        let lowered = text.lowercased()
        guard
            secretKeyMarkers.contains(where: { has(lowered, $0) }) || has(lowered, "akia") || has(lowered, "asia")
        else { return text }

        var result = text
        // An Authorization header's value is credential scope, signed headers and signature:
        // nothing an operator needs, so everything after the name goes, up to the line's end.
        result.replace(authorizationHeader) { match -> String in
            "\(match.output.name)\(match.output.separator)\(placeholder)"
        }
        result.replace(namedSecret) { match -> String in
            let output = match.output
            if let quoted = output.quoted {
                return "\(output.name)\(output.separator)\"\(quoted.isEmpty ? "" : placeholder)\""
            }
            return "\(output.name)\(output.separator)\(placeholder)"
        }
        // Access key ids are identifiers, not secrets (AWS shows them in CloudTrail), but the whole
        // id is never needed: like `aws configure list`, keep only what tells keys apart.
        result.replace(accessKeyID) { match -> String in "\(match.output.kind)…\(match.output.tail)" }
        return result
    }

    // Built on each use: `Regex` is not `Sendable` (it compiles lazily into shared state), and
    // only lines that mention a marker get this far.

    // `Authorization: …` / `authorization=…` / `"Authorization": "…"` — the value runs to the end of the line.
    private static var authorizationHeader: Regex<(Substring, name: Substring, separator: Substring)> {
        #/(?<name>\b(?i:authorization)"?)(?<separator>\s*[:=]\s*)[^\r\n]+/#
    }

    // A secret-naming word, `=` or `:`, and its value (quoted or up to a delimiter). The word must
    // end at the marker (or `…Key`/`…Id`/`s`) so that error codes such as `SignatureDoesNotMatch`
    // or `ExpiredTokenException: …` stay readable.
    private static var namedSecret:
        Regex<(Substring, name: Substring, separator: Substring, quoted: Substring?, bare: Substring?)>
    {
        #/(?<name>(?i)[A-Za-z0-9_.\-]*?(?:secret|token|password|passwd|signature|credential)s?(?:[_\-]?access)?(?:[_\-]?(?:key|id))?"?)(?<separator>\s*[:=]\s*)(?:"(?<quoted>[^"]*)"|(?<bare>[^\s"&,;(){}\[\]]+))/#
    }

    private static var accessKeyID: Regex<(Substring, kind: Substring, tail: Substring)> {
        #/\b(?<kind>AKIA|ASIA)[A-Z0-9]{12}(?<tail>[A-Z0-9]{4})\b/#
    }
}
