import Foundation
import TransferKeyAWS

/// Signed query-protocol calls to services the module has no client for (IAM, EC2 set-up calls), for tests.
enum RawAWS {
    static func query(
        endpoint: String, service: String, region: String = "us-east-1", credentials: Credentials,
        parameters: [(String, String)], headers: [(name: String, value: String)] = [],
        transport: any AWSTransport
    ) async throws -> AWSHTTPResponse {
        let body = Array(
            parameters.map {
                SigV4Signer.percentEncode($0.0, keepingSlash: false) + "="
                    + SigV4Signer.percentEncode($0.1, keepingSlash: false)
            }.joined(separator: "&").utf8)
        let host = String(endpoint.split(separator: "/").last ?? "")
        var requestHeaders: [(name: String, value: String)] =
            [("Host", host), ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")] + headers
        let signature = SigV4Signer(credentials: credentials, region: region, service: service)
            .sign(SigV4Request(method: "POST", headers: requestHeaders, body: body), date: Date())
        requestHeaders += signature.headersToAdd
        return try await transport.send(
            AWSHTTPRequest(method: "POST", url: endpoint + "/", headers: requestHeaders, body: body),
            timeout: .seconds(30))
    }

    /// The text of the first element named `name` in an XML body.
    static func value(_ name: String, in response: AWSHTTPResponse) -> String? {
        let text = String(decoding: response.body, as: UTF8.self)
        guard let start = text.range(of: "<\(name)>"),
            let end = text.range(of: "</\(name)>", range: start.upperBound..<text.endIndex)
        else { return nil }
        return String(text[start.upperBound..<end.lowerBound])
    }
}
