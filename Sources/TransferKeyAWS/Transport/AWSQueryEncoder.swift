/// Encodes AWS query-protocol parameters (`Action=…&Version=…&SnapshotId.1=…`) as a form body.
enum AWSQueryEncoder {
    /// `name=value` pairs joined by `&`, each part RFC 3986 encoded, in the given order.
    static func encode(_ parameters: [(String, String)]) -> [UInt8] {
        Array(
            parameters.map {
                SigV4Signer.percentEncode($0.0, keepingSlash: false) + "="
                    + SigV4Signer.percentEncode($0.1, keepingSlash: false)
            }
            .joined(separator: "&").utf8)
    }

    /// The form content type of query-protocol requests.
    static let contentType = "application/x-www-form-urlencoded; charset=utf-8"
}
