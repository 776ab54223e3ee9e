import Foundation

/// The result of signing one request: the intermediate texts (for tests and debugging) and the headers to add.
///
/// Its `description` omits the signature and the session token.
public struct SigV4Signature: Sendable, CustomStringConvertible, CustomReflectable {
    /// The canonical request that was hashed.
    public var canonicalRequest: String
    /// The string that was signed.
    public var stringToSign: String
    /// The hex signature.
    public var signature: String
    /// The complete `Authorization` header value.
    public var authorization: String
    /// Headers to add to the request, in order: `X-Amz-Date`, `X-Amz-Security-Token`, `x-amz-content-sha256`
    /// (each when applicable) and `Authorization`.
    public var headersToAdd: [(name: String, value: String)]

    /// A redacted summary naming the signed headers only.
    public var description: String {
        let signed = authorization.split(separator: " ").first { $0.hasPrefix("SignedHeaders=") } ?? ""
        return "SigV4Signature(\(signed.trimmingCharacters(in: [","])), Signature=<redacted>)"
    }

    /// What `dump()` and reflection show: the summary only (the header values include the signature and the
    /// session token).
    public var customMirror: Mirror {
        Mirror(self, children: ["summary": description], displayStyle: .struct)
    }
}
