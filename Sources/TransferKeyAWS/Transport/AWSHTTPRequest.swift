/// One HTTP request as the transport sends it: an absolute URL, headers in order, and the body.
public struct AWSHTTPRequest: Sendable {
    /// The HTTP method.
    public var method: String
    /// The absolute URL, e.g. `https://kms.eu-west-1.amazonaws.com/`.
    public var url: String
    /// Headers in order; duplicates allowed.
    public var headers: [(name: String, value: String)]
    /// The body bytes.
    public var body: [UInt8]

    /// Creates a request.
    public init(method: String, url: String, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }

    /// The first value of header `name` (case-insensitive).
    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// The headers with `Authorization`, `X-Amz-Security-Token` and other secrets replaced by `<redacted>`,
    /// for debug logging.
    public var redactedHeaders: [(name: String, value: String)] {
        headers.map { header in
            switch header.name.lowercased() {
            case "authorization", "x-amz-security-token", "x-aws-ec2-metadata-token":
                return (header.name, "<redacted>")
            default:
                return header
            }
        }
    }
}
