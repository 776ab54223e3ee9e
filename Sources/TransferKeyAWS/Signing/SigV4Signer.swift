import Crypto
import Foundation
import Synchronization

/// AWS Signature Version 4 header signing, as a pure value: the same request, credentials and date always give
/// the same `Authorization` header.
///
/// The date is a parameter so tests can reproduce the published conformance suite exactly; nothing here reads
/// a clock, the environment or the network.
public struct SigV4Signer: Sendable {
    /// The credentials that sign; the secret never leaves this value except as an HMAC key.
    public var credentials: Credentials
    /// The region of the credential scope, e.g. `eu-west-1`.
    public var region: String
    /// The signing name of the service, e.g. `kms`, `ec2`, `sts`.
    public var service: String
    /// Whether `.`/`..` segments and repeated slashes are removed from the path before signing
    /// (every service but S3).
    public var normalizesPath: Bool
    /// Whether an `x-amz-content-sha256` header is added and signed (S3 needs it; others accept it).
    public var addsContentSHA256Header: Bool
    /// Whether the session token is part of the signature; when `false` it is still sent, but added after
    /// signing (a few services want that).
    public var signsSessionToken: Bool

    /// Creates a signer for one service in one region.
    public init(
        credentials: Credentials, region: String, service: String, normalizesPath: Bool = true,
        addsContentSHA256Header: Bool = false, signsSessionToken: Bool = true
    ) {
        self.credentials = credentials
        self.region = region
        self.service = service
        self.normalizesPath = normalizesPath
        self.addsContentSHA256Header = addsContentSHA256Header
        self.signsSessionToken = signsSessionToken
    }

    /// Signs `request` at `date` and returns every intermediate result plus the headers to send.
    public func sign(_ request: SigV4Request, date: Date) -> SigV4Signature {
        let (amzDate, shortDate) = Self.timestamps(date)
        let payloadHash = Self.hex(SHA256.hash(data: request.body))

        var headers = request.headers.filter { $0.name.lowercased() != "authorization" }
        var added: [(name: String, value: String)] = []
        if !headers.contains(where: { $0.name.lowercased() == "x-amz-date" }) {
            added.append(("X-Amz-Date", amzDate))
        }
        if let token = credentials.sessionToken, signsSessionToken {
            added.append(("X-Amz-Security-Token", token))
        }
        if addsContentSHA256Header {
            added.append(("x-amz-content-sha256", payloadHash))
        }
        headers.append(contentsOf: added)

        let (canonicalHeaders, signedHeaders) = Self.canonicalHeaders(headers)
        let canonicalRequest = [
            request.method.uppercased(),
            Self.canonicalPath(request.path, normalizes: normalizesPath),
            Self.canonicalQuery(request.query),
            canonicalHeaders,
            signedHeaders,
            payloadHash,
        ].joined(separator: "\n")

        let scope = "\(shortDate)/\(region)/\(service)/aws4_request"
        let stringToSign = [
            "AWS4-HMAC-SHA256", amzDate, scope, Self.hex(SHA256.hash(data: Array(canonicalRequest.utf8))),
        ].joined(separator: "\n")

        let key = signingKey(shortDate: shortDate)
        let signature = Self.hex(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: key))
        let authorization =
            "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), "
            + "SignedHeaders=\(signedHeaders), Signature=\(signature)"

        if let token = credentials.sessionToken, !signsSessionToken {
            added.append(("X-Amz-Security-Token", token))
        }
        added.append(("Authorization", authorization))
        return SigV4Signature(
            canonicalRequest: canonicalRequest, stringToSign: stringToSign, signature: signature,
            authorization: authorization, headersToAdd: added)
    }

    /// The derived key `HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request")`, derived once
    /// per credential scope and day (``SigningKeyCache``), as the AWS SDKs do.
    func signingKey(shortDate: String) -> SymmetricKey {
        let scope = SigningKeyCache.Scope(
            accessKeyID: credentials.accessKeyID, secret: credentials.secretAccessKey, shortDate: shortDate,
            region: region, service: service)
        if let key = SigningKeyCache.shared.key(for: scope) { return key }
        let key = deriveSigningKey(shortDate: shortDate)
        SigningKeyCache.shared.store(key, for: scope)
        return key
    }

    /// The derivation itself: five HMACs, each setting up a key (a third of a signature's cost).
    func deriveSigningKey(shortDate: String) -> SymmetricKey {
        func hmac(_ key: SymmetricKey, _ text: String) -> SymmetricKey {
            SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array(text.utf8), using: key)))
        }
        let secret = SymmetricKey(data: Array("AWS4\(credentials.secretAccessKey)".utf8))
        return hmac(hmac(hmac(hmac(secret, shortDate), region), service), "aws4_request")
    }

    // MARK: - Canonical parts

    /// `20150830T123600Z` and `20150830` for `date`, in UTC, without Foundation's formatters (hot path).
    static func timestamps(_ date: Date) -> (amzDate: String, shortDate: String) {
        let seconds = Int(date.timeIntervalSince1970.rounded(.down))
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        // Howard Hinnant's civil-from-days.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        func pad(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        let short = pad(year, 4) + pad(month, 2) + pad(day, 2)
        let time = pad(secondOfDay / 3600, 2) + pad(secondOfDay % 3600 / 60, 2) + pad(secondOfDay % 60, 2)
        return (short + "T" + time + "Z", short)
    }

    /// Lower-cased, sorted header names with trimmed, space-collapsed values; duplicates joined by commas.
    static func canonicalHeaders(_ headers: [(name: String, value: String)]) -> (block: String, signed: String) {
        var merged: [String: [String]] = [:]
        for (name, value) in headers {
            merged[name.lowercased(), default: []].append(canonicalHeaderValue(value))
        }
        // Header names are ASCII tokens, so String order is byte order.
        let names = merged.keys.sorted()
        let block = names.map { "\($0):\(merged[$0]!.joined(separator: ","))\n" }.joined()
        return (block, names.joined(separator: ";"))
    }

    /// Folded lines joined by one space, outer whitespace trimmed, inner runs of spaces collapsed.
    static func canonicalHeaderValue(_ value: String) -> String {
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D }
        let utf8 = value.utf8
        // Fast path (nearly every header, and long session tokens): nothing to trim or collapse.
        var clean = !(utf8.first.map(isSpace) ?? false) && !(utf8.last.map(isSpace) ?? false)
        if clean {
            var previousWasSpace = false
            for byte in utf8 {
                let space = isSpace(byte)
                if space && (byte != 0x20 || previousWasSpace) {
                    clean = false
                    break
                }
                previousWasSpace = space
            }
        }
        if clean { return value }
        var result: [UInt8] = []
        result.reserveCapacity(utf8.count)
        var pendingSpace = false
        for byte in utf8 {
            if isSpace(byte) {
                pendingSpace = !result.isEmpty
            } else {
                if pendingSpace { result.append(0x20) }
                pendingSpace = false
                result.append(byte)
            }
        }
        return String(decoding: result, as: UTF8.self)
    }

    /// The path, optionally normalised, with every byte but unreserved characters and `/` percent-encoded.
    ///
    /// The request-line path is encoded once more, as AWS does for every service but S3.
    static func canonicalPath(_ path: String, normalizes: Bool) -> String {
        var path = path.isEmpty ? "/" : path
        if normalizes { path = normalizedPath(path) }
        return percentEncode(path, keepingSlash: true)
    }

    /// Removes `.` and `..` segments and empty segments, keeping the leading and any trailing slash.
    static func normalizedPath(_ path: String) -> String {
        var segments: [Substring] = []
        for segment in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch segment {
            case ".": continue
            case "..": if !segments.isEmpty { segments.removeLast() }
            default: segments.append(segment)
            }
        }
        var result = "/" + segments.joined(separator: "/")
        let last = path.split(separator: "/", omittingEmptySubsequences: false).last
        if path.hasSuffix("/") || last == "." || last == ".." {
            if !result.hasSuffix("/") { result += "/" }
        }
        return result
    }

    /// Parameters decoded, re-encoded strictly, and sorted by name then value.
    static func canonicalQuery(_ query: String) -> String {
        guard !query.isEmpty else { return "" }
        var pairs: [(String, String)] = []
        for item in query.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = percentEncode(percentDecode(parts[0]), keepingSlash: false)
            let value = parts.count > 1 ? percentEncode(percentDecode(parts[1]), keepingSlash: false) : ""
            pairs.append((name, value))
        }
        // Encoded names and values are ASCII, so String order is byte order.
        pairs.sort { lhs, rhs in lhs.0 == rhs.0 ? lhs.1 < rhs.1 : lhs.0 < rhs.0 }
        return pairs.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    /// RFC 3986 encoding: everything but `A–Z a–z 0–9 - . _ ~` (and `/` when asked) becomes `%XX`.
    public static func percentEncode<S: StringProtocol>(_ text: S, keepingSlash: Bool) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            if isUnreserved(byte) || (keepingSlash && byte == UInt8(ascii: "/")) {
                bytes.append(byte)
            } else {
                bytes.append(UInt8(ascii: "%"))
                bytes.append(hexDigitsUpper[Int(byte >> 4)])
                bytes.append(hexDigitsUpper[Int(byte & 0x0F)])
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func percentDecode<S: StringProtocol>(_ text: S) -> String {
        let input = Array(text.utf8)
        var output: [UInt8] = []
        output.reserveCapacity(input.count)
        var index = 0
        while index < input.count {
            if input[index] == UInt8(ascii: "%"), index + 2 < input.count,
                let high = hexValue(input[index + 1]), let low = hexValue(input[index + 2])
            {
                output.append(high << 4 | low)
                index += 3
            } else {
                output.append(input[index])
                index += 1
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
            UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    private static let hexDigitsUpper = Array("0123456789ABCDEF".utf8)
    private static let hexDigitsLower = Array("0123456789abcdef".utf8)

    /// Lower-case hex of a digest or MAC.
    static func hex<D: Sequence>(_ bytes: D) -> String where D.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in bytes {
            out.append(hexDigitsLower[Int(byte >> 4)])
            out.append(hexDigitsLower[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func hex(_ digest: SHA256.Digest) -> String { hex(Array(digest)) }

    static func hex(_ code: HashedAuthenticationCode<SHA256>) -> String { hex(Array(code)) }
}

/// The SigV4 signing keys derived lately, by credential scope (access key and secret, day, region, service): a key
/// is the same for every request of that scope, so deriving it once a day, not once a request, spares four HMAC key
/// set-ups per call (aws-sdk-go-v2 and the Rust SDK keep such a cache too). Small and bounded: a daemon signs for
/// its accounts × regions × a few services; past `capacity` it starts again.
final class SigningKeyCache: Sendable {
    struct Scope: Hashable {
        var accessKeyID: String
        var secret: String
        var shortDate: String
        var region: String
        var service: String
    }

    static let shared = SigningKeyCache()
    static let capacity = 1_024

    private let keys = Mutex<[Scope: SymmetricKey]>([:])

    func key(for scope: Scope) -> SymmetricKey? { keys.withLock { $0[scope] } }

    func store(_ key: SymmetricKey, for scope: Scope) {
        keys.withLock { keys in
            if keys.count >= Self.capacity { keys.removeAll(keepingCapacity: true) }
            keys[scope] = key
        }
    }
}
