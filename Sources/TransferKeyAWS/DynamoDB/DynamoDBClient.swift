import Foundation

/// The few DynamoDB calls (JSON 1.0 protocol) the writer lease needs: a consistent read of one item and conditional
/// writes of it. Items are flat maps of string attributes; that is all the lease stores.
///
/// A conditional write that fails its condition throws ``AWSError`` with code `ConditionalCheckFailedException`.
/// Transient failures are retried like every other call, so a write that was performed but whose answer was lost may
/// be retried and then fail its own condition: callers read the item again to learn what happened.
public struct DynamoDBClient: Sendable {
    /// The region every call goes to.
    public let region: String
    /// The account id used for pacing and in errors.
    public let accountID: String
    let executor: AWSRequestExecutor
    let credentials: any CredentialProvider

    /// Creates a client; ``AWSClient/dynamoDB(region:)`` is the usual way.
    public init(executor: AWSRequestExecutor, region: String, accountID: String, credentials: any CredentialProvider) {
        self.executor = executor
        self.region = region
        self.accountID = accountID
        self.credentials = credentials
    }

    /// One item's string attributes, or nil when there is none (`ConsistentRead`: the latest write is seen).
    public func getItem(table: String, key: [String: String]) async throws -> [String: String]? {
        let output = try await call(
            "GetItem", ["TableName": table, "Key": Self.attributes(key), "ConsistentRead": true], as: GetItemOutput.self
        )
        return output.item?.compactMapValues(\.s)
    }

    /// Writes the whole item if `condition` holds (a DynamoDB condition expression over `:name` values).
    public func putItem(
        table: String, item: [String: String], condition: String, values: [String: String] = [:]
    ) async throws {
        var input: [String: Any] = [
            "TableName": table, "Item": Self.attributes(item), "ConditionExpression": condition,
        ]
        if !values.isEmpty { input["ExpressionAttributeValues"] = Self.attributes(values) }
        _ = try await call("PutItem", input, as: EmptyOutput.self)
    }

    /// Deletes the item if `condition` holds.
    public func deleteItem(
        table: String, key: [String: String], condition: String, values: [String: String] = [:]
    ) async throws {
        var input: [String: Any] = ["TableName": table, "Key": Self.attributes(key), "ConditionExpression": condition]
        if !values.isEmpty { input["ExpressionAttributeValues"] = Self.attributes(values) }
        _ = try await call("DeleteItem", input, as: EmptyOutput.self)
    }

    static func attributes(_ values: [String: String]) -> [String: Any] {
        values.mapValues { ["S": $0] }
    }

    private struct AttributeValue: Decodable {
        var s: String?
        enum CodingKeys: String, CodingKey { case s = "S" }
    }

    private struct GetItemOutput: Decodable {
        var item: [String: AttributeValue]?
        enum CodingKeys: String, CodingKey { case item = "Item" }
    }

    private struct EmptyOutput: Decodable {}

    private func call<Output: Decodable>(_ operation: String, _ input: [String: Any], as type: Output.Type)
        async throws -> Output
    {
        let body = try JSONBody.encode(input)
        let response = try await executor.send(
            service: .dynamodb, operation: operation, region: region, account: accountID, credentials: credentials,
            headers: [
                ("Content-Type", "application/x-amz-json-1.0"),
                ("X-Amz-Target", "DynamoDB_20120810.\(operation)"),
            ],
            body: body, extraHeaders: [:])
        do {
            return try JSONDecoder().decode(
                Output.self, from: Data(response.body.isEmpty ? Array("{}".utf8) : response.body))
        } catch {
            throw AWSError(
                code: "InvalidResponse", message: "could not decode the \(operation) response: \(error)",
                httpStatus: response.status, requestID: response.header("x-amzn-RequestId"), service: "dynamodb",
                operation: operation, region: region)
        }
    }
}
