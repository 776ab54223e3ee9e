import Foundation

/// Typed KMS calls (JSON 1.1 protocol) for one account and region.
///
/// Obtain one from ``AWSClient/kms(account:region:extraHeaders:)``. Every method paces, signs, retries and
/// throws ``AWSError`` with the KMS error code (`NotFoundException`, `KMSInvalidStateException`, …).
public struct KMSClient: Sendable {
    /// The most pages one listing follows: a server that keeps answering `Truncated` with new markers
    /// (a bug, or a hostile endpoint) ends in an error instead of an endless loop. 10,000 pages of
    /// 100 aliases is far beyond any real account's aliases per region.
    public static let maximumPages = 10_000

    /// The region every call goes to.
    public let region: String
    /// The account id used for pacing and in errors (`default` when calls use the base credentials).
    public let accountID: String
    let executor: AWSRequestExecutor
    let credentials: any CredentialProvider
    let extraHeaders: [String: String]

    /// Creates a client; ``AWSClient/kms(account:region:extraHeaders:)`` is the usual way.
    public init(
        executor: AWSRequestExecutor, region: String, accountID: String, credentials: any CredentialProvider,
        extraHeaders: [String: String] = [:]
    ) {
        self.executor = executor
        self.region = region
        self.accountID = accountID
        self.credentials = credentials
        self.extraHeaders = extraHeaders
    }

    /// A copy whose calls retry per `policy` instead of the client's (``RetryPolicy/never``: one attempt).
    public func retrying(_ policy: RetryPolicy) -> KMSClient {
        KMSClient(
            executor: executor.retrying(policy), region: region, accountID: accountID, credentials: credentials,
            extraHeaders: extraHeaders)
    }

    // MARK: - Operations

    /// Creates a customer-managed key and returns its metadata.
    public func createKey(
        description: String? = nil, keyUsage: String = "ENCRYPT_DECRYPT", policy: String? = nil,
        tags: [KMSTag] = [], isMultiRegion: Bool = false
    ) async throws -> KMSKeyMetadata {
        var input: [String: Any] = ["KeyUsage": keyUsage]
        if let description { input["Description"] = description }
        if let policy { input["Policy"] = policy }
        if !tags.isEmpty { input["Tags"] = tags.map { ["TagKey": $0.key, "TagValue": $0.value] } }
        if isMultiRegion { input["MultiRegion"] = true }
        return try await call("CreateKey", input, as: KeyMetadataOutput.self).keyMetadata
    }

    /// Points a new alias (`alias/…`) at a key.
    @discardableResult
    public func createAlias(aliasName: String, targetKeyID: String) async throws -> KMSReceipt {
        let response = try await send("CreateAlias", ["AliasName": aliasName, "TargetKeyId": targetKeyID])
        return KMSReceipt(requestID: response.header("x-amzn-RequestId"))
    }

    /// Describes a key (id, ARN or alias).
    public func describeKey(keyID: String) async throws -> KMSKeyMetadata {
        try await call("DescribeKey", ["KeyId": keyID], as: KeyMetadataOutput.self).keyMetadata
    }

    /// Every alias in the region, or of one key, following `NextMarker` to the end (`Limit` ≤ 100 per page).
    public func listAliases(keyID: String? = nil, pageSize: Int = 100) async throws -> [KMSAlias] {
        var input: [String: Any] = ["Limit": min(max(pageSize, 1), 100)]
        if let keyID { input["KeyId"] = keyID }
        return try await allPages("ListAliases", input, as: ListAliasesOutput.self) { $0.aliases ?? [] }
    }

    /// One page of the region's aliases (`Limit` clamped to 1–100), for a permission check that must stay cheap.
    public func firstAliasesPage(limit: Int = 10) async throws -> [KMSAlias] {
        try await call("ListAliases", ["Limit": min(max(limit, 1), 100)], as: ListAliasesOutput.self).aliases ?? []
    }

    /// Schedules a key for deletion after `pendingWindowDays` (AWS accepts 7–30).
    public func scheduleKeyDeletion(keyID: String, pendingWindowDays: Int) async throws -> ScheduleKeyDeletionResult {
        let (result, response) = try await callReturningResponse(
            "ScheduleKeyDeletion", ["KeyId": keyID, "PendingWindowInDays": pendingWindowDays],
            as: ScheduleKeyDeletionResult.self)
        var answer = result
        answer.requestID = response.header("x-amzn-RequestId")
        return answer
    }

    /// Cancels a scheduled deletion; the key is left `Disabled`. Returns AWS's request id.
    @discardableResult
    public func cancelKeyDeletion(keyID: String) async throws -> KMSReceipt {
        let (_, response) = try await callReturningResponse(
            "CancelKeyDeletion", ["KeyId": keyID], as: KeyIDOutput.self)
        return KMSReceipt(requestID: response.header("x-amzn-RequestId"))
    }

    /// Disables a key (`DisableKey`): cryptographic calls with it are refused (`DisabledException`) until it is
    /// enabled again. Returns AWS's request id.
    @discardableResult
    public func disableKey(keyID: String) async throws -> KMSReceipt {
        let response = try await send("DisableKey", ["KeyId": keyID])
        return KMSReceipt(requestID: response.header("x-amzn-RequestId"))
    }

    /// Enables a disabled key (`EnableKey`). Returns AWS's request id.
    @discardableResult
    public func enableKey(keyID: String) async throws -> KMSReceipt {
        let response = try await send("EnableKey", ["KeyId": keyID])
        return KMSReceipt(requestID: response.header("x-amzn-RequestId"))
    }

    /// Retires one grant of a key (`RetireGrant` by key ARN and grant id): the account in which the grant was
    /// made may retire it, as may its retiring principal. Returns AWS's request id.
    @discardableResult
    public func retireGrant(keyID: String, grantID: String) async throws -> KMSReceipt {
        let response = try await send("RetireGrant", ["KeyId": keyID, "GrantId": grantID])
        return KMSReceipt(requestID: response.header("x-amzn-RequestId"))
    }

    /// Deletes an alias (not its key). Returns AWS's request id.
    @discardableResult
    public func deleteAlias(aliasName: String) async throws -> KMSReceipt {
        let response = try await send("DeleteAlias", ["AliasName": aliasName])
        return KMSReceipt(requestID: response.header("x-amzn-RequestId"))
    }

    /// Every key id in the region, following `NextMarker` to the end (`Limit` ≤ 1000 per page).
    public func listKeys(pageSize: Int = 1000) async throws -> [String] {
        try await allPages("ListKeys", ["Limit": min(max(pageSize, 1), 1000)], as: ListKeysOutput.self) {
            ($0.keys ?? []).map(\.keyID)
        }
    }

    /// Every tag of a key, following `NextMarker` to the end.
    public func listResourceTags(keyID: String) async throws -> [KMSTag] {
        try await allPages("ListResourceTags", ["KeyId": keyID, "Limit": 50], as: ListResourceTagsOutput.self) {
            $0.tags ?? []
        }
    }

    /// The last successful cryptographic use of a key that KMS recorded (`GetKeyLastUsage`).
    public func getKeyLastUsage(keyID: String) async throws -> KMSKeyLastUsage {
        try await call("GetKeyLastUsage", ["KeyId": keyID], as: KMSKeyLastUsage.self)
    }

    /// Every live grant of a key, following `NextMarker` to the end (`Limit` ≤ 100 per page).
    public func listGrants(keyID: String) async throws -> [KMSGrant] {
        try await allPages("ListGrants", ["KeyId": keyID, "Limit": 100], as: ListGrantsOutput.self) { $0.grants ?? [] }
    }

    /// Calls `operation` page after page, following `NextMarker` while `Truncated`, and collects `items` of
    /// each page. A marker seen twice, or more than `maximumPages` pages, ends in a `PagingLoop` error.
    private func allPages<Page: MarkerPaged, Item>(
        _ operation: String, _ input: [String: Any], as type: Page.Type, items: (Page) -> [Item]
    ) async throws -> [Item] {
        var collected: [Item] = []
        var marker: String?
        var seenMarkers: Set<String> = []
        repeat {
            var pageInput = input
            if let marker { pageInput["Marker"] = marker }
            let page = try await call(operation, pageInput, as: Page.self)
            collected.append(contentsOf: items(page))
            marker = page.truncated == true ? page.nextMarker : nil
            if let marker, !seenMarkers.insert(marker).inserted || seenMarkers.count >= Self.maximumPages {
                throw AWSError(
                    code: "PagingLoop",
                    message:
                        "\(operation) returned the marker \(marker) twice, or more than \(Self.maximumPages) pages; stopped paging",
                    service: "kms", operation: operation, region: region)
            }
        } while marker != nil
        return collected
    }

    /// Adds or overwrites tags on a key.
    public func tagResource(keyID: String, tags: [KMSTag]) async throws {
        _ = try await send(
            "TagResource", ["KeyId": keyID, "Tags": tags.map { ["TagKey": $0.key, "TagValue": $0.value] }])
    }

    /// The HMAC (`HMAC_SHA_256`) of `message` under the HMAC key `keyID`, base64-encoded as KMS answers it.
    public func generateMac(keyID: String, message: [UInt8]) async throws -> String {
        let input: [String: Any] = [
            "KeyId": keyID, "MacAlgorithm": "HMAC_SHA_256", "Message": Data(message).base64EncodedString(),
        ]
        return try await call("GenerateMac", input, as: GenerateMacOutput.self).mac
    }

    /// Whether `mac` (base64) is the HMAC of `message` under `keyID`. KMS answers an invalid MAC with
    /// `KMSInvalidMacException`, which is `false` here; every other error is thrown.
    public func verifyMac(keyID: String, message: [UInt8], mac: String) async throws -> Bool {
        let input: [String: Any] = [
            "KeyId": keyID, "MacAlgorithm": "HMAC_SHA_256", "Message": Data(message).base64EncodedString(),
            "Mac": mac,
        ]
        do {
            return try await call("VerifyMac", input, as: VerifyMacOutput.self).macValid == true
        } catch let error as AWSError where error.code == "KMSInvalidMacException" {
            return false
        }
    }

    /// Replicates a multi-Region primary into `replicaRegion`; returns the replica's metadata.
    public func replicateKey(keyID: String, replicaRegion: String, policy: String? = nil) async throws
        -> KMSKeyMetadata
    {
        var input: [String: Any] = ["KeyId": keyID, "ReplicaRegion": replicaRegion]
        if let policy { input["Policy"] = policy }
        return try await call("ReplicateKey", input, as: ReplicateKeyOutput.self).replicaKeyMetadata
    }

    // MARK: - Protocol

    /// Sends a JSON 1.1 request and decodes the body, whatever `Content-Type` it came with (moto says text/html).
    func call<Output: Decodable>(_ operation: String, _ input: [String: Any], as type: Output.Type) async throws
        -> Output
    {
        try await callReturningResponse(operation, input, as: type).output
    }

    /// `call`, also returning the raw answer (its request id and date).
    func callReturningResponse<Output: Decodable>(
        _ operation: String, _ input: [String: Any], as type: Output.Type
    ) async throws -> (output: Output, response: AWSHTTPResponse) {
        let response = try await send(operation, input)
        do {
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .secondsSince1970
            let output = try decoder.decode(
                Output.self, from: Data(response.body.isEmpty ? Array("{}".utf8) : response.body))
            return (output, response)
        } catch {
            throw AWSError(
                code: "InvalidResponse", message: "could not decode the \(operation) response: \(error)",
                httpStatus: response.status, requestID: response.header("x-amzn-RequestId"), service: "kms",
                operation: operation, region: region)
        }
    }

    func send(_ operation: String, _ input: [String: Any]) async throws -> AWSHTTPResponse {
        let body = try JSONBody.encode(input)
        return try await executor.send(
            service: .kms, operation: operation, region: region, account: accountID, credentials: credentials,
            headers: [
                ("Content-Type", "application/x-amz-json-1.1"), ("X-Amz-Target", "TrentService.\(operation)"),
            ],
            body: body, extraHeaders: extraHeaders)
    }
}
