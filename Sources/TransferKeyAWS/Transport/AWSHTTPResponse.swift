import Foundation

/// One HTTP response: status, headers and the whole body.
public struct AWSHTTPResponse: Sendable {
    /// The HTTP status code.
    public var status: Int
    /// Headers in order.
    public var headers: [(name: String, value: String)]
    /// The body bytes.
    public var body: [UInt8]

    /// Creates a response.
    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// Creates a response with a UTF-8 body.
    public init(status: Int, headers: [(name: String, value: String)] = [], text: String) {
        self.init(status: status, headers: headers, body: Array(text.utf8))
    }

    /// Whether the status is 2xx.
    public var isSuccess: Bool { (200..<300).contains(status) }

    /// The server's clock from the `Date` header (RFC 1123, e.g. `Tue, 01 Dec 2026 21:03:32 GMT`), or `nil`
    /// when absent or unreadable. AWS answers carry it, errors included.
    public var serverDate: Date? { header("Date").flatMap(Self.parseHTTPDate) }

    /// Parses an RFC 1123 date in GMT (`Sun, 06 Nov 1994 08:49:37 GMT`).
    public static func parseHTTPDate(_ text: String) -> Date? { HTTPDate.parse(text) }

    /// The first value of header `name` (case-insensitive).
    public func header(_ name: String) -> String? {
        // ASCII case folding without a lowercased copy of every header name per lookup.
        headers.first { $0.name.utf8.elementsEqual(name.utf8) { Self.folded($0) == Self.folded($1) } }?.value
    }

    private static func folded(_ byte: UInt8) -> UInt8 { byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte }
}
