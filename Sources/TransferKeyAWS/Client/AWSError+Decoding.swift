import Foundation

extension AWSError {
    /// Decodes a non-2xx response of any of the shapes AWS and its emulators use.
    ///
    /// Order: the `X-Amzn-ErrorType` header (anything after `:` dropped), a JSON body's `__type`/`code`
    /// (any `namespace#` prefix dropped), an XML body's `Error/Code` (EC2 `Response/Errors/Error`, STS/IAM
    /// `ErrorResponse/Error`, S3-style `Error`), else `HTTP<status>` with the body's text as the message
    /// (a proxy's HTML page, moto's XML auth error on a JSON service, an empty body).
    public static func decode(
        _ response: AWSHTTPResponse, service: String, operation: String, region: String? = nil
    ) -> AWSError {
        var code: String?
        var message: String?
        var requestID =
            response.header("x-amzn-RequestId") ?? response.header("x-amz-request-id")
            ?? response.header("x-amzn-request-id")

        // `Code:http://internal.amazon.com/…`; a header of only ":" or ":x" (found by fuzzing) has no code.
        if let header = response.header("X-Amzn-ErrorType"),
            let name = header.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first,
            case let trimmed = name.trimmingCharacters(in: .whitespaces), !trimmed.isEmpty
        {
            code = trimmed
        }
        let firstByte = response.body.first { !($0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09) }
        if firstByte == UInt8(ascii: "{"),
            let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
        {
            let type = (object["__type"] ?? object["code"] ?? object["Code"]) as? String
            if let type, code == nil { code = type }
            message = (object["message"] ?? object["Message"] ?? object["errorMessage"]) as? String
        } else if firstByte == UInt8(ascii: "<"), let root = XMLNode.parse(response.body),
            let error = root.descendant("Error")
        {
            if code == nil { code = error.value("Code") }
            message = error.value("Message")
            requestID = requestID ?? root.value("RequestId") ?? root.value("RequestID") ?? error.value("RequestId")
        }
        if let raw = code {
            code = raw.split(separator: "#").last.map(String.init) ?? raw
        }
        if code == nil || code == "" {
            code = "HTTP\(response.status)"
            if message == nil { message = Self.plainText(response.body) }
        }
        return AWSError(
            code: code!, message: message ?? "", httpStatus: response.status, requestID: requestID,
            service: service, operation: operation, region: region)
    }

    /// An error for a call that got no response.
    public static func transport(
        _ error: AWSTransportError, service: String, operation: String, region: String? = nil
    ) -> AWSError {
        AWSError(code: error.code, message: error.message, service: service, operation: operation, region: region)
    }

    /// The body without markup, shortened: enough to recognise a proxy's error page.
    static func plainText(_ body: [UInt8]) -> String {
        var text = ""
        var inTag = false
        for character in String(decoding: body.prefix(4096), as: UTF8.self) {
            if character == "<" {
                inTag = true
            } else if character == ">" {
                inTag = false
                text.append(" ")
            } else if !inTag {
                text.append(character)
            }
        }
        return text.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
    }
}
