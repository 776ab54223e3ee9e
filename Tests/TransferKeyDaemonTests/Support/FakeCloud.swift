import Foundation
import TransferKeyCore
import TransferKeyDaemon

/// An in-process stand-in for KMS and EC2 across accounts and regions, recording every call.
/// (The emulator tests exercise the real AWS client; this one makes engine tests fast and exact.)
actor FakeAWS {
    struct Place: Hashable {
        var account: String
        var region: String
    }

    var keys: [Place: [String: CloudKey]] = [:]
    var aliases: [Place: [CloudAlias]] = [:]
    var snapshots: [Place: [String: String]] = [:]
    var tags: [Place: [String: [String: String]]] = [:]
    /// Key policies given to `CreateKey`, by key id.
    var policies: [String: String] = [:]
    /// Every call as "Operation account/region argument".
    private(set) var calls: [String] = []
    private var ignoreDeleteAlias = false
    /// A replica (region, its aliases) that appears while the primary's ScheduleKeyDeletion is in flight.
    private var replicaDuringSchedule: (region: String, aliases: [String])?
    /// Errors to throw, per operation, first in first out.
    var failures: [String: [CloudError]] = [:]
    /// Errors to throw for one operation in one account × region only ("Operation account/region").
    var placeFailures: [String: [CloudError]] = [:]
    var now = Date(timeIntervalSince1970: 1_795_000_000)
    /// An alias somebody adds while `ScheduleKeyDeletion` is in flight (it lands before the call returns).
    var aliasAddedDuringSchedule: CloudAlias?

    /// Set: each `DescribeKey` (every transfer's first call) waits until this many are in flight at once (or 30 s
    /// passed), once; `mostDescribing` is the most that were in flight at once.
    private var describeBarrier: Int?
    private var describing = 0
    private(set) var mostDescribing = 0

    func addDuringSchedule(_ alias: CloudAlias) { aliasAddedDuringSchedule = alias }

    func holdDescribes(until count: Int) { describeBarrier = count }

    /// Set: each listing of all aliases (a scan's) waits until this many are in flight (or 30 s passed), once.
    private var listBarrier: Int?
    private var listing = 0
    private(set) var mostListing = 0

    func holdListings(until count: Int) { listBarrier = count }

    /// A scan's `ListAliases` begins: whether it must wait for the barrier.
    func listingBegins() -> Bool {
        listing += 1
        mostListing = max(mostListing, listing)
        if let barrier = listBarrier, listing >= barrier { listBarrier = nil }
        return listBarrier != nil
    }

    var isHoldingListings: Bool { listBarrier != nil }

    func listingEnds() { listing -= 1 }

    /// A `DescribeKey` begins: whether it must wait for the barrier.
    func describeBegins() -> Bool {
        describing += 1
        mostDescribing = max(mostDescribing, describing)
        if let barrier = describeBarrier, describing >= barrier { describeBarrier = nil }
        return describeBarrier != nil
    }

    var isHoldingDescribes: Bool { describeBarrier != nil }

    func describeEnds() { describing -= 1 }

    func addKey(
        _ key: CloudKey, account: String = "111122223333", region: String = "eu-west-1", aliases names: [String]
    ) {
        let place = Place(account: account, region: region)
        keys[place, default: [:]][key.keyID] = key
        // Real AWS dates every alias; these were made long before any test's "now".
        for name in names {
            aliases[place, default: []].append(
                CloudAlias(aliasName: name, targetKeyID: key.keyID, creationDate: now.addingTimeInterval(-30 * 86400)))
        }
    }

    func fail(_ operation: String, with error: CloudError, times: Int = 1) {
        failures[operation, default: []] += Array(repeating: error, count: times)
    }

    /// Fails `operation` in one account × region only, `times` times.
    func fail(_ operation: String, account: String, region: String, with error: CloudError, times: Int = 1) {
        placeFailures["\(operation) \(account)/\(region)", default: []] += Array(repeating: error, count: times)
    }

    /// Adds one alias with the `CreationDate` ListAliases reports for it.
    func addAlias(
        _ name: String, target keyID: String?, created: Date?, updated: Date? = nil, account: String = "111122223333",
        region: String = "eu-west-1"
    ) {
        aliases[Place(account: account, region: region), default: []].append(
            CloudAlias(aliasName: name, targetKeyID: keyID, creationDate: created, lastUpdatedDate: updated))
    }

    func key(_ keyID: String, account: String = "111122223333", region: String = "eu-west-1") -> CloudKey? {
        keys[Place(account: account, region: region)]?[keyID]
    }

    func aliasNames(account: String = "111122223333", region: String = "eu-west-1") -> [String] {
        (aliases[Place(account: account, region: region)] ?? []).map(\.aliasName).sorted()
    }

    func calls(_ operation: String) -> [String] { calls.filter { $0.hasPrefix(operation + " ") } }

    func setSnapshot(_ id: String, state: String, account: String = "111122223333", region: String = "eu-west-1") {
        snapshots[Place(account: account, region: region), default: [:]][id] = state
    }

    private func record(_ operation: String, _ place: Place, _ argument: String) throws {
        calls.append("\(operation) \(place.account)/\(place.region) \(argument)")
        let here = "\(operation) \(place.account)/\(place.region)"
        if var queue = placeFailures[here], !queue.isEmpty {
            let error = queue.removeFirst()
            placeFailures[here] = queue
            throw error
        }
        if var queue = failures[operation], !queue.isEmpty {
            let error = queue.removeFirst()
            failures[operation] = queue
            throw error
        }
    }

    private static func notFound(_ operation: String) -> CloudError {
        CloudError(kind: .notFound, code: "NotFoundException", message: "not found", operation: operation)
    }

    func describeKey(_ keyID: String, _ place: Place) throws -> CloudKey {
        try record("DescribeKey", place, keyID)
        guard let key = keys[place]?[keyID] else { throw Self.notFound("DescribeKey") }
        return key
    }

    func listAliases(_ keyID: String?, _ place: Place) throws -> [CloudAlias] {
        try record("ListAliases", place, keyID ?? "*")
        return (aliases[place] ?? []).filter { keyID == nil || $0.targetKeyID == keyID }
    }

    func schedule(_ keyID: String, days: Int, _ place: Place) throws -> CloudReceipt {
        try record("ScheduleKeyDeletion", place, keyID)
        guard var key = keys[place]?[keyID] else { throw Self.notFound("ScheduleKeyDeletion") }
        guard key.keyState != "PendingDeletion", key.keyState != "PendingReplicaDeletion" else {
            throw CloudError(kind: .invalidState, code: "KMSInvalidStateException", operation: "ScheduleKeyDeletion")
        }
        if let replica = replicaDuringSchedule, key.multiRegionKeyType == "PRIMARY" {
            replicaDuringSchedule = nil
            key.replicaRegions.append(replica.region)
            addKey(
                CloudKey(keyID: keyID, multiRegionKeyType: "REPLICA", primaryRegion: place.region),
                account: place.account, region: replica.region, aliases: replica.aliases)
        }
        key.keyState = key.replicaRegions.isEmpty ? "PendingDeletion" : "PendingReplicaDeletion"
        key.deletionDate = now.addingTimeInterval(Double(days) * 86400)
        keys[place]?[keyID] = key
        if let added = aliasAddedDuringSchedule {
            aliases[place, default: []].append(added)
            aliasAddedDuringSchedule = nil
        }
        return CloudReceipt(requestID: "req-\(calls.count)", deletionDate: key.deletionDate, keyState: key.keyState)
    }

    /// While the primary's ScheduleKeyDeletion is in flight, somebody replicates the key to `region`.
    func addReplicaDuringSchedule(region: String, aliases: [String]) { replicaDuringSchedule = (region, aliases) }

    /// The next DeleteAlias answers 200 without deleting (a garbled answer to a call AWS never performed).
    func ignoreNextDeleteAlias() { ignoreDeleteAlias = true }

    func deleteAlias(_ name: String, _ place: Place) throws -> CloudReceipt {
        try record("DeleteAlias", place, name)
        guard let index = aliases[place]?.firstIndex(where: { $0.aliasName == name }) else {
            throw Self.notFound("DeleteAlias")
        }
        if ignoreDeleteAlias {
            ignoreDeleteAlias = false
            return CloudReceipt(requestID: "req-\(calls.count)")
        }
        aliases[place]?.remove(at: index)
        return CloudReceipt(requestID: "req-\(calls.count)")
    }

    func cancel(_ keyID: String, _ place: Place) throws -> CloudReceipt {
        try record("CancelKeyDeletion", place, keyID)
        guard var key = keys[place]?[keyID] else { throw Self.notFound("CancelKeyDeletion") }
        key.keyState = "Disabled"
        key.deletionDate = nil
        keys[place]?[keyID] = key
        return CloudReceipt(requestID: "req-\(calls.count)")
    }

    func createKey(description: String, policy: String, tags newTags: [String: String], _ place: Place) throws
        -> CloudKey
    {
        try record("CreateKey", place, description)
        let keyID = UUID().uuidString.lowercased()
        let key = CloudKey(
            keyID: keyID, arn: "arn:aws:kms:\(place.region):\(arnAccount ?? place.account):key/\(keyID)",
            creationDate: now)
        keys[place, default: [:]][keyID] = key
        tags[place, default: [:]][keyID] = newTags
        policies[keyID] = policy
        return key
    }

    func createAlias(_ name: String, target keyID: String, _ place: Place) throws -> CloudReceipt {
        try record("CreateAlias", place, name)
        guard keys[place]?[keyID] != nil else { throw Self.notFound("CreateAlias") }
        guard !(aliases[place] ?? []).contains(where: { $0.aliasName == name }) else {
            throw CloudError(kind: .permanent, code: "AlreadyExistsException", operation: "CreateAlias")
        }
        aliases[place, default: []].append(CloudAlias(aliasName: name, targetKeyID: keyID, creationDate: now))
        return CloudReceipt(requestID: "req-\(calls.count)")
    }

    func listKeyIDs(_ place: Place) throws -> [String] {
        try record("ListKeys", place, "*")
        return (keys[place] ?? [:]).keys.sorted()
    }

    func keyTags(_ keyID: String, _ place: Place) throws -> [String: String] {
        try record("ListResourceTags", place, keyID)
        guard keys[place]?[keyID] != nil else { throw Self.notFound("ListResourceTags") }
        return tags[place]?[keyID] ?? [:]
    }

    /// The account the ARNs of new keys name (base credentials of another account); nil: the place's.
    private(set) var arnAccount: String?

    func makeKeys(inAccount account: String?) { arnAccount = account }

    /// What AWS records about a key's use (GetKeyLastUsage, ListGrants); nothing by default.
    private(set) var usage: [String: KeyUsage] = [:]

    func setUsage(_ value: KeyUsage, key keyID: String) { usage[keyID] = value }
    func usageOf(_ keyID: String) -> KeyUsage? { usage[keyID] }

    /// CloudTrail's events by key ARN, newest first.
    private(set) var trail: [String: [KeyCallEvent]] = [:]

    func addEvent(_ event: KeyCallEvent, keyARN: String) { trail[keyARN, default: []].insert(event, at: 0) }

    func keyEvents(_ keyARN: String, since: Date, _ place: Place) throws -> [KeyCallEvent] {
        try record("LookupEvents", place, keyARN)
        return (trail[keyARN] ?? []).filter { ($0.at ?? .distantPast) >= since }
    }

    func keyUsage(_ keyID: String, _ place: Place) throws -> KeyUsage {
        try record("ListGrants", place, keyID)
        try record("GetKeyLastUsage", place, keyID)
        guard keys[place]?[keyID] != nil else { throw Self.notFound("GetKeyLastUsage") }
        return usage[keyID] ?? KeyUsage()
    }

    func setEnabled(_ keyID: String, _ enabled: Bool, _ place: Place) throws -> CloudReceipt {
        try record(enabled ? "EnableKey" : "DisableKey", place, keyID)
        guard var key = keys[place]?[keyID] else { throw Self.notFound(enabled ? "EnableKey" : "DisableKey") }
        key.keyState = enabled ? "Enabled" : "Disabled"
        keys[place]?[keyID] = key
        return CloudReceipt(requestID: "req-\(calls.count)")
    }

    func retireGrant(_ keyID: String, grantID: String, _ place: Place) throws -> CloudReceipt {
        try record("RetireGrant", place, "\(keyID) \(grantID)")
        guard keys[place]?[keyID] != nil else { throw Self.notFound("RetireGrant") }
        usage[keyID]?.grants.removeAll { $0.grantID == grantID }
        return CloudReceipt(requestID: "req-\(calls.count)")
    }

    func tagKey(_ keyID: String, _ newTags: [String: String], _ place: Place) throws {
        try record("TagResource", place, keyID)
        guard keys[place]?[keyID] != nil else { throw Self.notFound("TagResource") }
        tags[place, default: [:]][keyID, default: [:]].merge(newTags) { $1 }
    }

    /// An HMAC under a secret of this fake: what KMS's GenerateMac gives for the HMAC key `keyID`.
    func generateMac(keyID: String, message: String, _ place: Place) throws -> String {
        try record("GenerateMac", place, keyID)
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in (keyID + "\u{0}fake-secret\u{0}" + message).utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return String(hash, radix: 16)
    }

    /// Sets a key's tags directly (a key made by someone else).
    func setTags(
        _ newTags: [String: String], key keyID: String, account: String = "111122223333",
        region: String = "eu-west-1"
    ) {
        tags[Place(account: account, region: region), default: [:]][keyID] = newTags
    }

    func describeSnapshots(_ ids: [String], _ place: Place) throws -> CloudSnapshots {
        try record("DescribeSnapshots", place, "\(ids.count)")
        var result = CloudSnapshots()
        for id in ids {
            if let state = snapshots[place]?[id] { result.states[id] = state } else { result.missing.insert(id) }
        }
        return result
    }
}

struct FakeCloud: Cloud {
    let aws: FakeAWS
    /// AWS's clock as the `Date` headers of its answers would tell it; nil: AWS has not answered yet.
    var awsTime: @Sendable () -> Date? = { Date(timeIntervalSince1970: 1_795_000_000) }

    func region(accountID: String, region: String) -> any CloudRegion {
        FakeRegion(aws: aws, place: FakeAWS.Place(account: accountID, region: region))
    }

    func awsNow() -> Date? { awsTime() }
}

struct FakeRegion: CloudRegion {
    let aws: FakeAWS
    let place: FakeAWS.Place

    func describeKey(_ keyID: String) async throws -> CloudKey {
        if await aws.describeBegins() {
            let giveUp = ContinuousClock.now + .seconds(30)
            while await aws.isHoldingDescribes, ContinuousClock.now < giveUp {
                try? await Task.sleep(for: .milliseconds(5))
            }
        }
        await aws.describeEnds()
        return try await aws.describeKey(keyID, place)
    }
    func listAliases(keyID: String?) async throws -> [CloudAlias] {
        if keyID == nil {
            if await aws.listingBegins() {
                let giveUp = ContinuousClock.now + .seconds(30)
                while await aws.isHoldingListings, ContinuousClock.now < giveUp {
                    try? await Task.sleep(for: .milliseconds(5))
                }
            }
            await aws.listingEnds()
        }
        return try await aws.listAliases(keyID, place)
    }
    func scheduleKeyDeletion(_ keyID: String, pendingWindowDays: Int) async throws -> CloudReceipt {
        try await aws.schedule(keyID, days: pendingWindowDays, place)
    }
    func deleteAlias(_ aliasName: String) async throws -> CloudReceipt { try await aws.deleteAlias(aliasName, place) }
    func cancelKeyDeletion(_ keyID: String) async throws -> CloudReceipt { try await aws.cancel(keyID, place) }
    func describeSnapshots(_ snapshotIDs: [String]) async throws -> CloudSnapshots {
        try await aws.describeSnapshots(snapshotIDs, place)
    }
    func createKey(description: String, policy: String, tags: [String: String]) async throws -> CloudKey {
        try await aws.createKey(description: description, policy: policy, tags: tags, place)
    }
    func createAlias(_ aliasName: String, targetKeyID: String) async throws -> CloudReceipt {
        try await aws.createAlias(aliasName, target: targetKeyID, place)
    }
    func keyTags(_ keyID: String) async throws -> [String: String] { try await aws.keyTags(keyID, place) }
    func listKeyIDs() async throws -> [String] { try await aws.listKeyIDs(place) }
    func tagKey(_ keyID: String, tags: [String: String]) async throws { try await aws.tagKey(keyID, tags, place) }
    func keyUsage(_ keyID: String) async throws -> KeyUsage { try await aws.keyUsage(keyID, place) }
    func retireGrant(keyID: String, grantID: String) async throws -> CloudReceipt {
        try await aws.retireGrant(keyID, grantID: grantID, place)
    }
    func disableKey(_ keyID: String) async throws -> CloudReceipt { try await aws.setEnabled(keyID, false, place) }
    func enableKey(_ keyID: String) async throws -> CloudReceipt { try await aws.setEnabled(keyID, true, place) }
    func keyEvents(keyARN: String, since: Date) async throws -> [KeyCallEvent] {
        try await aws.keyEvents(keyARN, since: since, place)
    }
    func generateMac(keyID: String, message: String) async throws -> String {
        try await aws.generateMac(keyID: keyID, message: message, place)
    }
    func verifyMac(keyID: String, message: String, mac: String) async throws -> Bool {
        try await aws.generateMac(keyID: keyID, message: message, place) == mac
    }
}
