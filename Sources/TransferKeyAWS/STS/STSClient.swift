import Foundation

/// Typed STS calls (query protocol): `AssumeRole`, `AssumeRoleWithWebIdentity`, `GetCallerIdentity`.
public struct STSClient: Sendable {
    /// The region whose STS endpoint is called.
    public let region: String
    /// The account id used for pacing and in errors.
    public let accountID: String
    let executor: AWSRequestExecutor
    let credentials: (any CredentialProvider)?
    let extraHeaders: [String: String]

    /// The STS API version spoken.
    public static let apiVersion = "2011-06-15"

    /// Creates a client; `credentials` nil is only valid for ``assumeRoleWithWebIdentity(roleARN:sessionName:webIdentityToken:durationSeconds:)``.
    public init(
        executor: AWSRequestExecutor, region: String, accountID: String = "default",
        credentials: (any CredentialProvider)?, extraHeaders: [String: String] = [:]
    ) {
        self.executor = executor
        self.region = region
        self.accountID = accountID
        self.credentials = credentials
        self.extraHeaders = extraHeaders
    }

    /// Assumes `roleARN` and returns temporary credentials in the role's account.
    public func assumeRole(
        roleARN: String, sessionName: String, externalID: String? = nil, durationSeconds: Int? = nil
    ) async throws -> AssumedRole {
        var parameters = [("RoleArn", roleARN), ("RoleSessionName", sessionName)]
        if let externalID { parameters.append(("ExternalId", externalID)) }
        if let durationSeconds { parameters.append(("DurationSeconds", String(durationSeconds))) }
        let root = try await send("AssumeRole", parameters, signed: true)
        return try assumedRole(from: root, operation: "AssumeRole", resultName: "AssumeRoleResult")
    }

    /// Exchanges an OIDC token for role credentials; the request is not signed.
    public func assumeRoleWithWebIdentity(
        roleARN: String, sessionName: String, webIdentityToken: String, durationSeconds: Int? = nil
    ) async throws -> AssumedRole {
        var parameters = [
            ("RoleArn", roleARN), ("RoleSessionName", sessionName), ("WebIdentityToken", webIdentityToken),
        ]
        if let durationSeconds { parameters.append(("DurationSeconds", String(durationSeconds))) }
        let root = try await send("AssumeRoleWithWebIdentity", parameters, signed: false)
        return try assumedRole(
            from: root, operation: "AssumeRoleWithWebIdentity", resultName: "AssumeRoleWithWebIdentityResult")
    }

    /// Who the credentials belong to.
    public func getCallerIdentity() async throws -> CallerIdentity {
        let root = try await send("GetCallerIdentity", [], signed: true)
        guard let result = root.descendant("GetCallerIdentityResult"), let account = result.value("Account") else {
            throw invalidResponse("GetCallerIdentity")
        }
        return CallerIdentity(account: account, arn: result.value("Arn") ?? "", userID: result.value("UserId") ?? "")
    }

    /// A recognisable session name: `transferkeyd-<account>-<epoch seconds>` (≤ 64 characters).
    public static func sessionName(account: String, now: Date = Date()) -> String {
        String("transferkeyd-\(account)-\(Int(now.timeIntervalSince1970))".prefix(64))
    }

    private func assumedRole(from root: XMLNode, operation: String, resultName: String) throws -> AssumedRole {
        guard let result = root.descendant(resultName), let keys = result.child("Credentials"),
            let keyID = keys.value("AccessKeyId"), let secret = keys.value("SecretAccessKey")
        else { throw invalidResponse(operation) }
        let credentials = Credentials(
            accessKeyID: keyID, secretAccessKey: secret, sessionToken: keys.value("SessionToken"),
            expiration: keys.value("Expiration").flatMap(Self.parseDate))
        let user = result.child("AssumedRoleUser")
        return AssumedRole(
            credentials: credentials, assumedRoleARN: user?.value("Arn"), assumedRoleID: user?.value("AssumedRoleId"))
    }

    /// Parses `2026-11-29T01:00:00Z`, with or without fractional seconds.
    static func parseDate(_ text: String) -> Date? {
        if let date = try? Date(text, strategy: .iso8601) { return date }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }

    private func invalidResponse(_ operation: String) -> AWSError {
        AWSError(
            code: "InvalidResponse", message: "\(operation) answered without the expected fields", service: "sts",
            operation: operation, region: region)
    }

    private func send(_ action: String, _ parameters: [(String, String)], signed: Bool) async throws -> XMLNode {
        let body = AWSQueryEncoder.encode([("Action", action), ("Version", Self.apiVersion)] + parameters)
        let response = try await executor.send(
            service: .sts, operation: action, region: region, account: accountID,
            credentials: signed ? credentials : nil, headers: [("Content-Type", AWSQueryEncoder.contentType)],
            body: body, extraHeaders: extraHeaders)
        guard let root = XMLNode.parse(response.body) else { throw invalidResponse(action) }
        return root
    }
}
