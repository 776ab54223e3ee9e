import Foundation
import Testing

@testable import TransferKeyAWS

/// One case of the published SigV4 conformance suite (`Fixtures/aws-sigv4-suite/v4/<name>`).
struct SigV4SuiteCase: CustomTestStringConvertible, Sendable {
    let name: String
    let folder: URL

    var testDescription: String { name }

    static let root: URL = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
        .appending(path: "aws-sigv4-suite/v4", directoryHint: .isDirectory)

    static let all: [SigV4SuiteCase] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.path())) ?? []
        return names.sorted().compactMap { name in
            let folder = root.appending(path: name, directoryHint: .isDirectory)
            guard FileManager.default.fileExists(atPath: folder.appending(path: "context.json").path()) else {
                return nil
            }
            return SigV4SuiteCase(name: name, folder: folder)
        }
    }()

    func text(_ file: String) throws -> String {
        try String(contentsOf: folder.appending(path: file), encoding: .utf8)
    }

    struct Context: Decodable {
        struct Keys: Decodable {
            let access_key_id: String
            let secret_access_key: String
            let token: String?
        }
        let credentials: Keys
        let region: String
        let service: String
        let timestamp: String
        let normalize: Bool
        let sign_body: Bool
        let omit_session_token: Bool?
    }

    func context() throws -> Context {
        try JSONDecoder().decode(Context.self, from: Data(try text("context.json").utf8))
    }

    /// Parses `request.txt`: request line, headers (with folded continuation lines), blank line, body.
    func request() throws -> SigV4Request {
        let raw = try text("request.txt")
        let headEnd = raw.range(of: "\n\n")
        let head = headEnd.map { String(raw[..<$0.lowerBound]) } ?? raw
        let body = headEnd.map { String(raw[$0.upperBound...]) } ?? ""
        var lines = head.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        let requestLine = lines.removeFirst()
        let afterMethod = requestLine.firstIndex(of: " ")!
        let method = String(requestLine[..<afterMethod])
        let target = String(
            requestLine[requestLine.index(after: afterMethod)..<requestLine.range(of: " HTTP/")!.lowerBound])
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        var headers: [(name: String, value: String)] = []
        for line in lines {
            if line.first == " " || line.first == "\t", let last = headers.popLast() {
                headers.append((last.name, last.value + "\n" + line))
            } else if let colon = line.firstIndex(of: ":") {
                headers.append((String(line[..<colon]), String(line[line.index(after: colon)...])))
            }
        }
        return SigV4Request(
            method: method, path: String(parts[0]), query: parts.count > 1 ? String(parts[1]) : "",
            headers: headers, body: Array(body.utf8))
    }
}

@Suite("SigV4 conformance suite")
struct SigV4SuiteTests {
    @Test("the suite holds every published case")
    func suiteIsComplete() {
        #expect(SigV4SuiteCase.all.count == 38)
    }

    @Test(
        "canonical request, string to sign and Authorization header match the suite exactly",
        arguments: SigV4SuiteCase.all)
    func matchesSuite(_ suiteCase: SigV4SuiteCase) throws {
        let context = try suiteCase.context()
        let signer = SigV4Signer(
            credentials: Credentials(
                accessKeyID: context.credentials.access_key_id,
                secretAccessKey: context.credentials.secret_access_key,
                sessionToken: context.credentials.token),
            region: context.region, service: context.service, normalizesPath: context.normalize,
            addsContentSHA256Header: context.sign_body, signsSessionToken: !(context.omit_session_token ?? false))
        let date = try Date(context.timestamp, strategy: .iso8601)

        let signature = signer.sign(try suiteCase.request(), date: date)

        #expect(signature.canonicalRequest == (try suiteCase.text("header-canonical-request.txt")))
        #expect(signature.stringToSign == (try suiteCase.text("header-string-to-sign.txt")))
        #expect(signature.signature == (try suiteCase.text("header-signature.txt")))
        let expectedAuthorization = try suiteCase.text("header-signed-request.txt")
            .split(separator: "\n").first { $0.hasPrefix("Authorization:") }
            .map { String($0.dropFirst("Authorization:".count)) }
        #expect(signature.authorization == expectedAuthorization)
        #expect(signature.headersToAdd.last?.name == "Authorization")
    }

    @Test("a signature's description hides the signature and a credential's hides secret and token")
    func redaction() {
        let credentials = Credentials(
            accessKeyID: "AKIDEXAMPLE", secretAccessKey: "SECRET-VALUE", sessionToken: "TOKEN-VALUE")
        let signature = SigV4Signer(credentials: credentials, region: "us-east-1", service: "kms")
            .sign(SigV4Request(method: "POST", headers: [("Host", "kms.us-east-1.amazonaws.com")]), date: Date())
        #expect(!"\(credentials)".contains("SECRET-VALUE"))
        #expect(!"\(credentials)".contains("TOKEN-VALUE"))
        #expect(!String(reflecting: credentials).contains("SECRET-VALUE"))
        #expect(!"\(signature)".contains(signature.signature))
        #expect("\(credentials)".contains("AKIDEXAMPLE"))
    }

    @Test(
        "timestamps are formatted in UTC without formatters",
        arguments: [
            (0.0, "19700101T000000Z"), (1_440_938_160, "20150830T123600Z"), (951_782_400, "20000229T000000Z"),
            (4_102_444_799, "20991231T235959Z"),
        ])
    func timestamps(seconds: Double, expected: String) {
        #expect(SigV4Signer.timestamps(Date(timeIntervalSince1970: seconds)).amzDate == expected)
    }
}
