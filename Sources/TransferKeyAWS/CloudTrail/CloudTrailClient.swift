import Foundation

/// CloudTrail's event history (`LookupEvents`, JSON 1.1 protocol) for one account and region: who called what on a
/// key, and whether it failed. AWS's quota is 2 requests per second per account and region; the pacer keeps to it.
public struct CloudTrailClient: Sendable {
    /// The most pages one lookup follows (50 events a page).
    public static let maximumPages = 100

    public let region: String
    public let accountID: String
    let executor: AWSRequestExecutor
    let credentials: any CredentialProvider

    /// Creates a client; ``AWSClient/cloudTrail(account:region:)`` is the usual way.
    public init(executor: AWSRequestExecutor, region: String, accountID: String, credentials: any CredentialProvider) {
        self.executor = executor
        self.region = region
        self.accountID = accountID
        self.credentials = credentials
    }

    /// Every event naming `resourceName` (a key ARN) since `startTime`, newest first, following `NextToken`.
    public func lookupEvents(resourceName: String, since startTime: Date) async throws -> [CloudTrailEvent] {
        var events: [CloudTrailEvent] = []
        var token: String?
        var pages = 0
        repeat {
            var input: [String: Any] = [
                "LookupAttributes": [["AttributeKey": "ResourceName", "AttributeValue": resourceName]],
                "StartTime": startTime.timeIntervalSince1970, "MaxResults": 50,
            ]
            if let token { input["NextToken"] = token }
            let page = try await call("LookupEvents", input, as: LookupEventsOutput.self)
            events += page.events ?? []
            token = page.nextToken
            pages += 1
            if token != nil, pages >= Self.maximumPages {
                throw AWSError(
                    code: "PagingLoop", message: "LookupEvents answered more than \(Self.maximumPages) pages; stopped",
                    service: "cloudtrail", operation: "LookupEvents", region: region)
            }
        } while token != nil
        return events
    }

    private func call<Output: Decodable>(_ operation: String, _ input: [String: Any], as type: Output.Type)
        async throws -> Output
    {
        let body = try JSONBody.encode(input)
        let response = try await executor.send(
            service: .cloudtrail, operation: operation, region: region, account: accountID, credentials: credentials,
            headers: [
                ("Content-Type", "application/x-amz-json-1.1"),
                ("X-Amz-Target", "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.\(operation)"),
            ],
            body: body, extraHeaders: [:])
        do {
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .secondsSince1970
            return try decoder.decode(Output.self, from: Data(response.body.isEmpty ? Array("{}".utf8) : response.body))
        } catch {
            throw AWSError(
                code: "InvalidResponse", message: "could not decode the \(operation) response: \(error)",
                httpStatus: response.status, requestID: response.header("x-amzn-RequestId"), service: "cloudtrail",
                operation: operation, region: region)
        }
    }
}

/// One CloudTrail event: its name and time, and from the event record itself, who made the call and how it failed.
public struct CloudTrailEvent: Decodable, Sendable, Equatable {
    public var eventID: String
    public var eventName: String
    public var eventTime: Date?
    public var username: String?
    /// The event record (JSON text), with `userIdentity`, `errorCode`, `errorMessage`.
    public var record: String?

    enum CodingKeys: String, CodingKey {
        case eventID = "EventId"
        case eventName = "EventName"
        case eventTime = "EventTime"
        case username = "Username"
        case record = "CloudTrailEvent"
    }

    private var recordFields: [String: Any] {
        guard let record, let object = try? JSONSerialization.jsonObject(with: Data(record.utf8)) else { return [:] }
        return object as? [String: Any] ?? [:]
    }

    /// `errorCode` of the call, when it failed.
    public var errorCode: String? { recordFields["errorCode"] as? String }
    /// `errorMessage` of the call, when it failed.
    public var errorMessage: String? { recordFields["errorMessage"] as? String }
    /// The caller's ARN (`userIdentity.arn`), else the user name.
    public var principal: String? {
        ((recordFields["userIdentity"] as? [String: Any])?["arn"] as? String) ?? username
    }
}

struct LookupEventsOutput: Decodable {
    var events: [CloudTrailEvent]?
    var nextToken: String?
    enum CodingKeys: String, CodingKey {
        case events = "Events"
        case nextToken = "NextToken"
    }
}
