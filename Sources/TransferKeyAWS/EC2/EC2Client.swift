/// Typed EC2 calls (query protocol, XML responses) for one account and region.
public struct EC2Client: Sendable {
    /// The region every call goes to.
    public let region: String
    /// The account id used for pacing and in errors.
    public let accountID: String
    let executor: AWSRequestExecutor
    let credentials: any CredentialProvider
    let extraHeaders: [String: String]

    /// The EC2 API version spoken.
    public static let apiVersion = "2016-11-15"
    /// The most snapshot ids sent in one `DescribeSnapshots` call.
    public static let batchSize = 200

    /// Creates a client; ``AWSClient/ec2(account:region:extraHeaders:)`` is the usual way.
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

    /// The state of every snapshot in `ids`, and which of them do not exist.
    ///
    /// Sends batches of up to 200 ids (one call per batch in the common case). EC2 fails a whole call with
    /// `InvalidSnapshot.NotFound` when one id is unknown; the ids named in its message are set aside and the
    /// batch is retried, and when the message names none the batch is split in halves, so every other
    /// snapshot's state is still learnt.
    public func describeSnapshots(ids: [String]) async throws -> SnapshotStates {
        var result = SnapshotStates()
        var unique: [String] = []
        var seen: Set<String> = []
        for id in ids where seen.insert(id).inserted { unique.append(id) }
        var start = 0
        while start < unique.count {
            let batch = Array(unique[start..<min(start + Self.batchSize, unique.count)])
            try await describe(batch, into: &result)
            start += Self.batchSize
        }
        result.missing.sort()
        return result
    }

    /// Checks permission for `DescribeSnapshots` with `DryRun=true`: `true` when AWS answers
    /// `DryRunOperation` (allowed), `false` on `UnauthorizedOperation`; other errors are thrown.
    public func canDescribeSnapshots() async throws -> Bool {
        do {
            _ = try await send("DescribeSnapshots", [("DryRun", "true"), ("MaxResults", "5")])
            return true  // An emulator that ignores DryRun answers normally: the call was allowed.
        } catch let error as AWSError where error.code == "DryRunOperation" {
            return true
        } catch let error as AWSError where error.code == "UnauthorizedOperation" {
            return false
        }
    }

    private func describe(_ ids: [String], into result: inout SnapshotStates) async throws {
        var remaining = ids
        while !remaining.isEmpty {
            do {
                for snapshot in try await describeAllPages(remaining) {
                    result.found[snapshot.snapshotID] = snapshot
                }
                return
            } catch let error as AWSError where error.code == "InvalidSnapshot.NotFound" {
                let named = Set(Self.snapshotIDs(in: error.message)).intersection(remaining)
                if !named.isEmpty {
                    result.missing.append(contentsOf: remaining.filter { named.contains($0) })
                    remaining.removeAll { named.contains($0) }
                } else if remaining.count == 1 {
                    result.missing.append(remaining[0])
                    return
                } else {
                    let middle = remaining.count / 2
                    try await describe(Array(remaining[..<middle]), into: &result)
                    try await describe(Array(remaining[middle...]), into: &result)
                    return
                }
            }
        }
    }

    private func describeAllPages(_ ids: [String]) async throws -> [EC2Snapshot] {
        var snapshots: [EC2Snapshot] = []
        var token: String?
        var pages = 0
        repeat {
            var parameters: [(String, String)] = ids.enumerated().map { ("SnapshotId.\($0.offset + 1)", $0.element) }
            if let token { parameters.append(("NextToken", token)) }
            let response = try await send("DescribeSnapshots", parameters)
            guard let root = XMLNode.parse(response.body) else {
                throw AWSError(
                    code: "InvalidResponse", message: "DescribeSnapshots answered with a body that is not XML",
                    httpStatus: response.status, service: "ec2", operation: "DescribeSnapshots", region: region)
            }
            for item in root.child("snapshotSet")?.children("item") ?? [] {
                guard let id = item.value("snapshotId") else { continue }
                snapshots.append(
                    EC2Snapshot(
                        snapshotID: id, state: item.value("status") ?? "unknown", progress: item.value("progress"),
                        ownerID: item.value("ownerId")))
            }
            token = root.value("nextToken").flatMap { $0.isEmpty ? nil : $0 }
            pages += 1
        } while token != nil && pages < 1_000
        return snapshots
    }

    /// Every `snap-…` token in an error message such as `The snapshot 'snap-0123' does not exist.`
    static func snapshotIDs(in message: String) -> [String] {
        var ids: [String] = []
        var rest = Substring(message)
        while let range = rest.range(of: "snap-") {
            let tail = rest[range.upperBound...]
            let suffix = tail.prefix { $0.isLetter || $0.isNumber }
            if !suffix.isEmpty { ids.append("snap-" + suffix) }
            rest = tail.dropFirst(suffix.count)
        }
        return ids
    }

    func send(_ action: String, _ parameters: [(String, String)]) async throws -> AWSHTTPResponse {
        let body = AWSQueryEncoder.encode([("Action", action), ("Version", Self.apiVersion)] + parameters)
        return try await executor.send(
            service: .ec2, operation: action, region: region, account: accountID, credentials: credentials,
            headers: [("Content-Type", AWSQueryEncoder.contentType)], body: body, extraHeaders: extraHeaders)
    }
}
