/// An HTTP request as the SigV4 signer sees it: method, path and query exactly as on the request line,
/// headers in order (duplicates allowed), and the body bytes.
public struct SigV4Request: Sendable, Equatable {
    /// The HTTP method, e.g. `POST`.
    public var method: String
    /// The path as written on the request line, e.g. `/` (not yet percent-decoded).
    public var path: String
    /// The query string as written on the request line, without the `?`; empty when there is none.
    public var query: String
    /// The headers in the order they will be sent; names keep their case, duplicates are allowed.
    public var headers: [(name: String, value: String)]
    /// The request body.
    public var body: [UInt8]

    /// Creates a request.
    public init(
        method: String, path: String = "/", query: String = "", headers: [(name: String, value: String)] = [],
        body: [UInt8] = []
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
    }

    /// Equality by method, path, query, headers (in order) and body.
    public static func == (lhs: SigV4Request, rhs: SigV4Request) -> Bool {
        lhs.method == rhs.method && lhs.path == rhs.path && lhs.query == rhs.query && lhs.body == rhs.body
            && lhs.headers.map(\.name) == rhs.headers.map(\.name)
            && lhs.headers.map(\.value) == rhs.headers.map(\.value)
    }
}
