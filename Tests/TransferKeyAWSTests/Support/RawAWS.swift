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
        let request = AWSHTTPRequest(method: "POST", url: endpoint + "/", headers: requestHeaders, body: body)
        // Set-up calls have no retry loop of their own: ride out the dev server dropping a busy connection.
        for _ in 0..<4 {
            do {
                return try await transport.send(request, timeout: .seconds(30))
            } catch is AWSTransportError {
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        return try await transport.send(request, timeout: .seconds(30))
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
