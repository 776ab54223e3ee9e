import Foundation
import TransferKeyAWS

/// Who holds the writer lease, as its item says.
public struct LeaseRecord: Sendable, Equatable, CustomStringConvertible {
    /// The holder's host name.
    public var host: String
    /// The holder's process id on that host.
    public var pid: Int
    /// A random value the holder replaces at every renewal: a version that stops changing means a dead holder.
    public var version: String
    /// How long the holder promised to keep away once it stops renewing (its `[lease] duration`).
    public var duration: TimeInterval
    /// When the holder took the lease, by its own clock (informational: never compared with another host's clock).
    public var since: String

    public init(host: String, pid: Int, version: String, duration: TimeInterval, since: String) {
        self.host = host
        self.pid = pid
        self.version = version
        self.duration = duration
        self.since = since
    }

    public var description: String { "pid \(pid) on \(host) (holding since \(since))" }
}

/// Where the lease lives: one item, read consistently and changed only by conditional writes.
public protocol LeaseTable: Sendable {
    /// The item, or nil when nobody holds the lease.
    func read() async throws -> LeaseRecord?
    /// Writes `record` if the item's version is `expected` (nil: if there is no item); false when it is not.
    func write(_ record: LeaseRecord, ifVersion expected: String?) async throws -> Bool
    /// Deletes the item if its version is `version` (a clean stop hands the lease on at once).
    func release(version: String) async throws
}

/// The lease in a DynamoDB table whose partition key is `lease` (a string): one item per lease name.
public struct DynamoDBLeaseTable: LeaseTable {
    let client: DynamoDBClient
    let table: String
    let name: String

    public init(client: DynamoDBClient, table: String, name: String) {
        self.client = client
        self.table = table
        self.name = name
    }

    public func read() async throws -> LeaseRecord? {
        guard let item = try await client.getItem(table: table, key: ["lease": name]) else { return nil }
        guard let host = item["host"], let pid = item["pid"].flatMap({ Int($0) }), let version = item["version"],
            let duration = item["duration_ms"].flatMap({ Double($0) })
        else {
            // An item this daemon did not write: never taken over silently.
            throw AWSError(
                code: "InvalidLeaseItem",
                message:
                    "the lease item \(name) in \(table) lacks host, pid, version or duration_ms: \(item.keys.sorted())",
                service: "dynamodb", operation: "GetItem", region: client.region)
        }
        return LeaseRecord(
            host: host, pid: pid, version: version, duration: duration / 1000, since: item["since"] ?? "")
    }

    public func write(_ record: LeaseRecord, ifVersion expected: String?) async throws -> Bool {
        let item = [
            "lease": name, "host": record.host, "pid": String(record.pid), "version": record.version,
            "duration_ms": String(Int(record.duration * 1000)), "since": record.since,
        ]
        do {
            if let expected {
                try await client.putItem(
                    table: table, item: item, condition: "version = :expected", values: [":expected": expected])
            } else {
                try await client.putItem(table: table, item: item, condition: "attribute_not_exists(lease)")
            }
            return true
        } catch let error as AWSError where error.code == "ConditionalCheckFailedException" {
            return false
        }
    }

    public func release(version: String) async throws {
        do {
            try await client.deleteItem(
                table: table, key: ["lease": name], condition: "version = :mine", values: [":mine": version])
        } catch let error as AWSError where error.code == "ConditionalCheckFailedException" {
            // Already somebody else's (or gone): nothing of ours to release.
        }
    }
}
