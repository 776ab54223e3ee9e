import Foundation
import Testing
import TransferKeyTestSupport

@testable import TransferKeyAWS

/// Every operation against moto behind the fault layer. Each test works in its own random account (moto's
/// `x-moto-account-id`), so tests never see each other's keys, rules or requests.
@Suite("AWS client against the emulator", .serialized)
struct EmulatorIntegrationTests {
    static let keys = Credentials(accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG")

    static func randomAccount() -> String {
        String(UInt64.random(in: 100_000_000_000...999_999_999_999))
    }

    /// A client for the emulator with fast backoff, no pacing, and requests sent as `account`.
    static func client(
        _ emulator: Emulator, account: String, maxAttempts: Int = 8, requestTimeout: Duration = .seconds(30)
    ) -> AWSClient {
        AWSClient(
            environment: ["AWS_ENDPOINT_URL": emulator.endpoint], credentials: StaticCredentialProvider(keys),
            retryPolicy: RetryPolicy(
                maxAttempts: maxAttempts, baseDelay: .milliseconds(5), throttledBaseDelay: .milliseconds(10),
                maxDelay: .milliseconds(100)),
            quotas: .unlimited, requestTimeout: requestTimeout, extraHeaders: ["x-moto-account-id": account],
            randomSeed: 11)
    }

    func calls(_ emulator: Emulator, account: String, _ key: String) async throws -> Int {
        try await emulator.requestLog().filter { $0.account == account && $0.key == key }.count
    }

    @Test("the KMS life cycle: create, alias, tag, describe, list, schedule, cancel, delete alias")
    func kmsLifeCycle() async throws {
        let emulator = try await Emulator.shared()
        let account = Self.randomAccount()
        try await using(Self.client(emulator, account: account)) { aws in
            let kms = aws.kms(region: "eu-west-1")

            let key = try await kms.createKey(
                description: "transfer imp-1", policy: nil, tags: [KMSTag(key: "transferkeyd", value: "imp-1")])
            #expect(key.keyManager == "CUSTOMER")
            #expect(key.arn?.contains(":\(account):") == true)
            try await kms.createAlias(aliasName: "alias/CadoResponse-KMS-Alias-imp-1", targetKeyID: key.keyID)
            try await kms.tagResource(keyID: key.keyID, tags: [KMSTag(key: "extra", value: "1")])

            let described = try await kms.describeKey(keyID: "alias/CadoResponse-KMS-Alias-imp-1")
            #expect(described.keyID == key.keyID)
            #expect(described.keyState == "Enabled")
            let aliases = try await kms.listAliases(keyID: key.keyID)
            #expect(aliases.map(\.aliasName) == ["alias/CadoResponse-KMS-Alias-imp-1"])
            #expect(aliases.first?.targetKeyID == key.keyID)
            #expect(aliases.first?.creationDate != nil)
            let tags = try await kms.listResourceTags(keyID: key.keyID)
            #expect(Set(tags) == [KMSTag(key: "transferkeyd", value: "imp-1"), KMSTag(key: "extra", value: "1")])

            let scheduled = try await kms.scheduleKeyDeletion(keyID: key.keyID, pendingWindowDays: 7)
            #expect(scheduled.keyID.contains(key.keyID))
            #expect(scheduled.deletionDate != nil)
            #expect(try await kms.describeKey(keyID: key.keyID).keyState == "PendingDeletion")
            try await kms.cancelKeyDeletion(keyID: key.keyID)
            #expect(try await kms.describeKey(keyID: key.keyID).keyState == "Disabled")

            try await kms.deleteAlias(aliasName: "alias/CadoResponse-KMS-Alias-imp-1")
            let again = await #expect(throws: AWSError.self) {
                try await kms.deleteAlias(aliasName: "alias/CadoResponse-KMS-Alias-imp-1")
            }
            #expect(again?.code == "NotFoundException")
            #expect(again?.category == .notFound)
            let missing = await #expect(throws: AWSError.self) {
                try await kms.describeKey(keyID: "11111111-2222-3333-4444-555555555555")
            }
            #expect(missing?.code == "NotFoundException")
        }
    }

    @Test("a multi-Region primary is replicated and its replica listed in the primary's configuration")
    func replicateKey() async throws {
        let emulator = try await Emulator.shared()
        let account = Self.randomAccount()
        try await using(Self.client(emulator, account: account)) { aws in
            let primary = try await aws.kms(region: "us-east-1").createKey(description: "mrk", isMultiRegion: true)
            #expect(primary.keyID.hasPrefix("mrk-"))
            let replica = try await aws.kms(region: "us-east-1").replicateKey(
                keyID: primary.keyID, replicaRegion: "eu-west-1")
            #expect(replica.arn?.contains("eu-west-1") == true)
            let described = try await aws.kms(region: "us-east-1").describeKey(keyID: primary.keyID)
            #expect(described.multiRegionConfiguration?.replicaKeys.map(\.region) == ["eu-west-1"])
            #expect(try await aws.kms(region: "eu-west-1").describeKey(keyID: primary.keyID).keyID == primary.keyID)
        }
    }

    @Test("keys in a second region are separate", arguments: ["eu-west-1", "ap-southeast-2"])
    func secondRegion(region: String) async throws {
        let emulator = try await Emulator.shared()
        let account = Self.randomAccount()
        try await using(Self.client(emulator, account: account)) { aws in
            let key = try await aws.kms(region: region).createKey(description: "regional")
            #expect(key.arn?.contains(":\(region):") == true)
            try await aws.kms(region: region).createAlias(
                aliasName: "alias/CadoResponse-KMS-Alias-r", targetKeyID: key.keyID)
            let home = try await aws.kms(region: "us-east-1").listAliases()
            #expect(!home.contains { $0.aliasName == "alias/CadoResponse-KMS-Alias-r" })
            let there = try await aws.kms(region: region).listAliases()
            #expect(there.contains { $0.aliasName == "alias/CadoResponse-KMS-Alias-r" })
            // The timed-out first request is logged only once the emulator finishes sleeping on it
            // (1.5 s, much longer on a loaded machine: wait up to 30 s).
            var listed = 0
            for _ in 0..<300 {
                listed = try await calls(emulator, account: account, "kms.ListAliases")
                if listed >= 2 { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(listed == 2)
        }
    }

    @Test("ListAliases pages through 250 aliases at every layer page size", arguments: [2, 7, 100])
    func listAliasesPaging(pageSize: Int) async throws {
        let emulator = try await Emulator.shared()
        let account = Self.randomAccount()
        try await using(Self.client(emulator, account: account)) { aws in
            let kms = aws.kms(region: "eu-west-1")
            let key = try await kms.createKey(description: "many aliases")
            try await withThrowingTaskGroup(of: Void.self) { group in
                for chunk in stride(from: 0, to: 250, by: 25) {
                    group.addTask {
                        for index in chunk..<(chunk + 25) {
                            try await kms.createAlias(
                                aliasName: "alias/CadoResponse-KMS-Alias-\(index)", targetKeyID: key.keyID)
                        }
                    }
                }
                try await group.waitForAll()
            }
            try await emulator.setPaging(operation: "ListAliases", pageSize: pageSize)
            let aliases: [KMSAlias]
            do {
                aliases = try await kms.listAliases(keyID: key.keyID)
                try await emulator.setPaging(operation: "ListAliases", pageSize: 0)
            } catch {
                try await emulator.setPaging(operation: "ListAliases", pageSize: 0)
                throw error
            }
            #expect(aliases.count == 250)
            #expect(Set(aliases.map(\.aliasName)).count == 250)
            let expectedPages = (250 + pageSize - 1) / pageSize
            #expect(try await calls(emulator, account: account, "kms.ListAliases") == expectedPages)
        }
    }

    @Test(
        "injected throttling, 5xx, an HTML proxy page and a reset are retried until the call succeeds",
        arguments: [
            Emulator.FaultRule.error("ThrottlingException", on: "DescribeKey", count: 3),
            .error("KMSInternalException", status: 500, on: "DescribeKey", count: 3),
            .htmlPage(status: 502, on: "DescribeKey", count: 2),
            .connectionReset(on: "DescribeKey", count: 2),
        ])
    func retriesInjectedFaults(rule: Emulator.FaultRule) async throws {
        let emulator = try await Emulator.shared()
        let account = Self.randomAccount()
        try await using(Self.client(emulator, account: account)) { aws in
            let kms = aws.kms(region: "eu-west-1")
            let key = try await kms.createKey(description: "faulty")
            try await emulator.addRule(rule.matching(account: account))
            #expect(try await kms.describeKey(keyID: key.keyID).keyID == key.keyID)
            #expect(try await calls(emulator, account: account, "kms.DescribeKey") == (rule.count ?? 0) + 1)
        }
    }

    @Test("beyond max attempts the injected error surfaces with its code")
    func givesUpAfterMaxAttempts() async throws {
        let emulator = try await Emulator.shared()
        let account = Self.randomAccount()
        try await using(Self.client(emulator, account: account, maxAttempts: 4)) { aws in
            let kms = aws.kms(region: "eu-west-1")
            let key = try await kms.createKey(description: "doomed")
            try await emulator.addRule(
                Emulator.FaultRule.error("ThrottlingException", on: "ScheduleKeyDeletion", count: 4).matching(
                    account: account))
            let error = await #expect(throws: AWSError.self) {
                try await kms.scheduleKeyDeletion(keyID: key.keyID, pendingWindowDays: 7)
            }
            #expect(error?.code == "ThrottlingException")
            #expect(error?.category == .throttled)
            #expect(error?.attempts == 4)
            #expect(
                error?.description.contains("KMS ScheduleKeyDeletion in eu-west-1 failed: ThrottlingException") == true)
            #expect(try await calls(emulator, account: account, "kms.ScheduleKeyDeletion") == 4)
            #expect(try await kms.describeKey(keyID: key.keyID).keyState == "Enabled")
        }
    }

    @Test("latency beyond the request deadline times out and the retry succeeds")
    func latency() async throws {
        let emulator = try await Emulator.shared()
        let account = Self.randomAccount()
        // The delayed answer comes 30 s after a 1 s deadline. With a gap of seconds only, a machine busy with the
        // whole suite can stall the event loop past both, handle the late answer and the deadline in one turn, and
        // let the late answer win (CI saw it once with 2 s against 5 s).
        try await using(Self.client(emulator, account: account, requestTimeout: .seconds(1))) { aws in
            let kms = aws.kms(region: "eu-west-1")
            _ = try await kms.createKey(description: "slow")
            let rule = try await emulator.addRule(
                Emulator.FaultRule.latency(milliseconds: 30_000, on: "ListAliases", count: 1).matching(account: account)
            )
            let started = ContinuousClock.now
            _ = try await kms.listAliases()
            #expect(ContinuousClock.now - started >= .seconds(1))
            // The delayed attempt is still held by the emulator (it logs a request once it answers); the answer the
            // client got came from a later attempt that no rule touched.
            let answered = try await emulator.requestLog().filter {
                $0.account == account && $0.key == "kms.ListAliases"
            }
            #expect(answered.contains { $0.status == 200 && $0.fault == nil }, "\(answered)")
            #expect(
                !answered.contains { $0.fault == rule }, "the delayed attempt cannot have answered yet: \(answered)")
            #expect(try await emulator.inFlightCounts()["kms.ListAliases", default: 0] >= 1)
        }
    }

    @Test("request_timeout bounds the whole exchange: headers then a stalled body time out at the deadline")
    func stalledBody() async throws {
        let emulator = try await Emulator.shared()
        let account = Self.randomAccount()
        try await using(Self.client(emulator, account: account, maxAttempts: 1, requestTimeout: .seconds(1))) { aws in
            let kms = aws.kms(region: "eu-west-1")
            let key = try await kms.createKey(description: "stalled")
            _ = try await emulator.addRule(
                Emulator.FaultRule.stallBody(milliseconds: 30_000, on: "DescribeKey", count: 1).matching(
                    account: account))
            let started = ContinuousClock.now
            let error = await #expect(throws: AWSError.self) { try await kms.describeKey(keyID: key.keyID) }
            let elapsed = ContinuousClock.now - started
            #expect(error?.code == "RequestTimeout", "\(String(describing: error))")
            #expect(elapsed < .seconds(10), "bounded by request_timeout, not by the 30 s stall: \(elapsed)")
            #expect(try await kms.describeKey(keyID: key.keyID).keyID == key.keyID)
        }
    }

    @Test("a 200 that cannot be decoded is InvalidResponse, transient: asked again, never believed")
    func garbledAnswer() async throws {
        let emulator = try await Emulator.shared()
        let account = Self.randomAccount()
        try await using(Self.client(emulator, account: account, maxAttempts: 1)) { aws in
            let kms = aws.kms(region: "eu-west-1")
            let key = try await kms.createKey(description: "garbled")
            for body in ["html", "json", "truncated"] {
                _ = try await emulator.addRule(
                    Emulator.FaultRule.garbled(body, on: "DescribeKey", count: 1).matching(account: account))
                let error = await #expect(throws: AWSError.self) { try await kms.describeKey(keyID: key.keyID) }
                #expect(error?.code == "InvalidResponse", "\(body): \(String(describing: error))")
                #expect(error?.category == .transient)
            }
        }
    }

    @Test("client-side pacing keeps a burst under the emulator's per-operation rate limit: nothing is throttled")
    func pacingAvoidsThrottling() async throws {
        let emulator = try await Emulator.shared()
        let account = Self.randomAccount()
        var quotas = RequestQuotas()
        quotas.perSecond["DescribeKey"] = 15
        let client = AWSClient(
            environment: ["AWS_ENDPOINT_URL": emulator.endpoint], credentials: StaticCredentialProvider(Self.keys),
            retryPolicy: RetryPolicy(maxAttempts: 1), quotas: quotas, extraHeaders: ["x-moto-account-id": account],
            randomSeed: 4)
        try await using(client) { aws in
            let kms = aws.kms(account: AWSAccount(id: account), region: "eu-west-1")
            let key = try await kms.createKey(description: "paced")
            try await emulator.addRule(
                Emulator.FaultRule.throttle("DescribeKey", ratePerSecond: 20).matching(account: account))
            let started = ContinuousClock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<8 {
                    group.addTask { for _ in 0..<5 { _ = try await kms.describeKey(keyID: key.keyID) } }
                }
                try await group.waitForAll()
            }
            #expect(ContinuousClock.now - started >= .seconds(1))
            let log = try await emulator.requestLog().filter { $0.account == account && $0.key == "kms.DescribeKey" }
            #expect(log.count == 40)
            #expect(log.allSatisfy { $0.fault == nil })
        }
    }

    @Test("a second account is reached through AssumeRole; the role's credentials land in its account")
    func secondAccountViaAssumeRole() async throws {
        let emulator = try await Emulator.shared()
        let base = Self.randomAccount()
        let target = Self.randomAccount()
        let client = AWSClient(
            environment: ["AWS_ENDPOINT_URL": emulator.endpoint], credentials: StaticCredentialProvider(Self.keys),
            quotas: .unlimited, randomSeed: 5)
        try await using(client) { aws in
            let account = AWSAccount(
                id: target, roleARN: "arn:aws:iam::\(target):role/CadoResponseRole", externalID: "ext-1")
            let identity = try await aws.sts(account: account, region: "us-east-1").getCallerIdentity()
            #expect(identity.account == target)
            #expect(identity.arn.contains("assumed-role/CadoResponseRole/transferkeyd-\(target)-"))
            let key = try await aws.kms(account: account, region: "eu-west-1").createKey(description: "cross-account")
            #expect(key.arn?.contains(":\(target):") == true)
            _ = try await aws.kms(account: account, region: "us-east-1").listAliases()
            #expect(
                try await emulator.requestLog().filter { $0.key == "sts.AssumeRole" && $0.account != target }.count >= 1
            )
            let baseIdentity = try await aws.sts(region: "us-east-1", extraHeaders: ["x-moto-account-id": base])
                .getCallerIdentity()
            #expect(baseIdentity.account == base)
        }
    }

    @Test("web identity credentials come from the emulator's AssumeRoleWithWebIdentity, sent unsigned")
    func webIdentity() async throws {
        let emulator = try await Emulator.shared()
        let target = Self.randomAccount()
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        try "header.payload.signature".write(toFile: folder.path("token"), atomically: true, encoding: .utf8)
        let environment = [
            "AWS_ENDPOINT_URL": emulator.endpoint, "AWS_WEB_IDENTITY_TOKEN_FILE": folder.path("token"),
            "AWS_ROLE_ARN": "arn:aws:iam::\(target):role/WebRole", "AWS_EC2_METADATA_DISABLED": "true",
            "HOME": folder.url.path(),
        ]
        try await using(AWSClient(environment: environment, quotas: .unlimited, randomSeed: 2)) { aws in
            #expect(try await aws.credentialSource() == "web identity arn:aws:iam::\(target):role/WebRole")
            let identity = try await aws.sts(region: "us-east-1").getCallerIdentity()
            #expect(identity.account == target)
            #expect(identity.arn.contains("WebRole"))
        }
    }

    @Test("DescribeSnapshots with one missing id among 300 reports it, learns the rest, in three calls")
    func describeSnapshotsWithMissingID() async throws {
        let emulator = try await Emulator.shared()
        let account = Self.randomAccount()
        try await using(Self.client(emulator, account: account)) { aws in
            let transport = aws.executor.transport
            let region = "eu-west-1"
            @Sendable func ec2(_ parameters: [(String, String)]) async throws -> AWSHTTPResponse {
                try await RawAWS.query(
                    endpoint: emulator.endpoint, service: "ec2", region: region, credentials: Self.keys,
                    parameters: [("Version", "2016-11-15")] + parameters, headers: [("x-moto-account-id", account)],
                    transport: transport)
            }
            let volume = try await ec2([("Action", "CreateVolume"), ("AvailabilityZone", "eu-west-1a"), ("Size", "1")])
            let volumeID = try #require(RawAWS.value("volumeId", in: volume))
            let created = try await withThrowingTaskGroup(of: [String].self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        var ids: [String] = []
                        for _ in 0..<38 {
                            let snapshot = try await ec2([("Action", "CreateSnapshot"), ("VolumeId", volumeID)])
                            ids.append(try #require(RawAWS.value("snapshotId", in: snapshot)))
                        }
                        return ids
                    }
                }
                return try await group.reduce(into: [String]()) { $0 += $1 }
            }
            let real = Array(created.prefix(299))
            #expect(real.count == 299)
            let ghost = "snap-0123456789abcdef0"
            var ids = real
            ids.insert(ghost, at: 123)
            try await emulator.setSnapshotStates([real[0]: "pending", real[1]: "error"])

            let states = try await aws.ec2(region: region).describeSnapshots(ids: ids)

            #expect(states.missing == [ghost])
            #expect(states.found.count == 299)
            #expect(states.found[real[0]]?.state == "pending")
            #expect(states.found[real[1]]?.state == "error")
            #expect(states.found[real[2]]?.state == "completed")
            // AWS names the missing id in its message (one retry: 3 calls); moto leaves the message empty, so the
            // client falls back to halving the failing batch: 1 + 2 calls per level down to the missing id.
            let probe = try await ec2([("Action", "DescribeSnapshots"), ("SnapshotId.1", ghost)])
            let namesMissing = RawAWS.value("Message", in: probe)?.contains(ghost) == true
            func halvingCalls(_ count: Int, _ index: Int) -> Int {
                guard count > 1 else { return 1 }
                let middle = count / 2
                return 2 + (index < middle ? halvingCalls(middle, index) : halvingCalls(count - middle, index - middle))
            }
            let expected = namesMissing ? 3 : halvingCalls(200, 123) + 1
            #expect(try await calls(emulator, account: account, "ec2.DescribeSnapshots") == expected + 1)
            #expect(try await aws.ec2(region: region).canDescribeSnapshots())
        }
    }
}

/// The edge against the emulator's skewed clock and its outage (own emulator each: these change the server).
@Suite("AWS edge against the emulator", .serialized)
struct EmulatorEdgeTests {
    @Test("a host clock 10 minutes behind AWS: KMS, EC2 and STS calls are re-signed at AWS's time and succeed")
    func clockSkew() async throws {
        let emulator = try await Emulator.start()
        defer { emulator.stop() }
        try await emulator.setClockOffset(seconds: 600)
        let account = EmulatorIntegrationTests.randomAccount()
        try await using(EmulatorIntegrationTests.client(emulator, account: account, maxAttempts: 1)) { aws in
            #expect(try await aws.kms(region: "eu-west-1").listKeys().isEmpty)
            #expect(abs(aws.awsNow().timeIntervalSinceNow - 600) < 30)
            _ = try await aws.ec2(region: "eu-west-1").canDescribeSnapshots()
            #expect(try await !aws.sts(region: "eu-west-1").getCallerIdentity().account.isEmpty)
        }
        let log = try await emulator.requestLog()
        // One refused and one re-signed request per endpoint host (all three share the emulator's host:
        // the first refusal teaches the offset for all of them).
        #expect(log.filter { $0.status == 400 || $0.status == 403 }.count == 1, "\(log)")
    }

    @Test(
        "blackholed (every answer later than the attempt's deadline): transient after max_attempts, 10 tokens a timeout"
    )
    func blackholeIsTransient() async throws {
        let emulator = try await Emulator.start()
        defer { emulator.stop() }
        // Far later than the deadline: on a starved event loop the deadline and a late answer can be handled in
        // the same turn, and a merely-late answer could win.
        _ = try await emulator.addRule(.latency(milliseconds: 30_000, on: "ListKeys"))
        let account = EmulatorIntegrationTests.randomAccount()
        let client = EmulatorIntegrationTests.client(
            emulator, account: account, maxAttempts: 3, requestTimeout: .seconds(1))
        try await using(client) { aws in
            let error = await #expect(throws: AWSError.self) { try await aws.kms(region: "eu-west-1").listKeys() }
            #expect(error?.code == "RequestTimeout")
            #expect(error?.category == .transient)
            #expect(error?.attempts == 3)
            #expect(aws.executor.retryQuota?.tokens == RetryQuota.defaultCapacity - 2 * RetryQuota.timeoutCost)
        }
    }
}
