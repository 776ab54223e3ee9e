import Foundation
import Logging
import TransferKeyAWS
import TransferKeyCore

/// `transferkeyd check` on the AWS side: per configured account × region, which credential source
/// answered, who the caller is, whether the role can be assumed, and whether `kms:ListAliases` and
/// `ec2:DescribeSnapshots` are allowed. Only read calls: `GetCallerIdentity`, `AssumeRole`, one
/// `ListAliases` page and `DescribeSnapshots` with `DryRun=true`.
public struct AccessChecker: Sendable {
    let client: AWSClient
    let accounts: [Config.Account]
    let markKey: String?

    /// Checks the config's accounts with the credentials and endpoints of `environment`.
    ///
    /// Retries are capped at two attempts and a request at 10 s: a check should answer quickly,
    /// and an endpoint that does not answer twice is reported as unreachable.
    public init(config: Config, environment: [String: String], logger: Logger) {
        client = AWSClient(
            environment: environment, configEndpointURL: config.aws.endpointURL,
            retryPolicy: RetryPolicy(maxAttempts: min(config.aws.maxAttempts, 2)), requestTimeout: .seconds(10),
            logger: logger)
        accounts = config.accounts
        markKey = config.ownershipMarkKey
    }

    /// Every row, account by account and region by region, in config order.
    public func run() async -> [PrerequisiteCheck] {
        let base: Result<String, any Error>
        do {
            base = .success(try await client.credentialSource())
        } catch {
            base = .failure(error)
        }
        var rows: [PrerequisiteCheck] = []
        for account in accounts {
            for region in account.regions {
                rows += await check(account: account, region: region, base: base)
            }
            if account.platformPrincipals.isEmpty { rows.append(Self.noPlatformPrincipals(account)) }
        }
        if let markKey, case .success = base { rows += await checkMarkKey(markKey) }
        return rows
    }

    /// A warning for an account without `platform_principals`: CloudTrail's `CreateKey` event cannot be held against
    /// anyone, so a young discovered key made by whoever holds `kms:CreateKey` is adopted on its dates alone.
    static func noPlatformPrincipals(_ account: Config.Account) -> PrerequisiteCheck {
        PrerequisiteCheck(
            scope: "account \(account.id)", accountID: account.id, name: "platform_principals", outcome: .warning,
            detail: "not set: who made a discovered key (CloudTrail's CreateKey event) is not checked (made_by_other)",
            fix:
                "set platform_principals = [\"arn:aws:iam::\(account.id):role/…\"] (the roles that create transfer "
                + "keys) in the [[accounts]] entry of \(account.id)")
    }

    /// `ownership_mark_key`: an enabled `HMAC_256` / `GENERATE_VERIFY_MAC` key, and a mark made and verified with it
    /// (`DescribeKey`, `GenerateMac`, `VerifyMac` of a probe message that names no key: nothing is changed).
    func checkMarkKey(_ markKey: String) async -> [PrerequisiteCheck] {
        guard case .arn(_, _, let region, let accountID, _)? = try? Validator.keyReference(markKey, field: "key") else {
            return []
        }
        func row(_ name: String, _ outcome: PrerequisiteCheck.Outcome, _ detail: String, fix: String? = nil)
            -> PrerequisiteCheck
        {
            PrerequisiteCheck(
                scope: "ownership_mark_key", accountID: accountID, region: region, name: name, outcome: outcome,
                detail: detail, fix: fix)
        }
        let configured = accounts.first { $0.id == accountID }
        let kms = client.kms(
            account: AWSAccount(id: accountID, roleARN: configured?.roleARN, externalID: configured?.externalID),
            region: region)
        let policyFix =
            "allow kms:DescribeKey, kms:GenerateMac and kms:VerifyMac on \(markKey) for the daemon's role (see "
            + "`transferkeyd policy`), and grant kms:GenerateMac in the key's policy to that role alone"
        do {
            let key = try await kms.describeKey(keyID: markKey)
            guard key.keySpec == "HMAC_256", key.keyUsage == "GENERATE_VERIFY_MAC",
                AWSCloudRegion.keyState(key) == .enabled
            else {
                return [
                    row(
                        "mark key", .failed,
                        "\(markKey) is \(key.keySpec ?? "?")/\(key.keyUsage ?? "?"), \(key.keyState ?? "?")",
                        fix: "create an HMAC_256 key with KeyUsage GENERATE_VERIFY_MAC and name its ARN")
                ]
            }
            let probe = Array("transferkeyd-check-v1\n\(markKey)".utf8)
            let mac = try await kms.generateMac(keyID: markKey, message: probe)
            guard try await kms.verifyMac(keyID: markKey, message: probe, mac: mac) else {
                return [
                    row("mark key", .failed, "VerifyMac refused a MAC GenerateMac just made", fix: "see the key in KMS")
                ]
            }
            return [row("mark key", .passed, "\(markKey): HMAC_256, GenerateMac and VerifyMac allowed")]
        } catch let error as AWSError where error.category == .transient || error.category == .throttled {
            return [row("mark key", .unreachable, "\(error.code): \(error.message)")]
        } catch let error as AWSError {
            return [row("mark key", .failed, "\(error.code): \(error.message)", fix: policyFix)]
        } catch {
            return [row("mark key", .failed, "\(error)", fix: policyFix)]
        }
    }

    /// Closes the connection pool.
    public func shutdown() async {
        try? await client.shutdown()
    }

    private func check(
        account: Config.Account, region: String, base: Result<String, any Error>
    ) async -> [PrerequisiteCheck] {
        var rows = RowBuilder(accountID: account.id, region: region, hasRole: account.roleARN != nil)

        switch base {
        case .success(let found):
            rows.add("credentials", .passed, found)
        case .failure(let error as CredentialProviderError) where error.source != "credential chain":
            // A source is configured but refused or failed: the chain stopped there on purpose.
            rows.add(
                "credentials", .failed, error.description,
                fix:
                    "fix or remove that credential source (see `man 8 transferkeyd`, ENVIRONMENT); the chain does not fall back "
                    + "to another identity")
        case .failure(let error):
            let reason = (error as? CredentialProviderError)?.message ?? "\(error)"
            rows.add(
                "credentials", .failed,
                "the credential chain (environment, web identity, shared-file profile, "
                    + "container, instance metadata) found none: \(reason)",
                fix: "set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with ~/.aws/credentials, "
                    + "or run with a web identity, container or instance role")
        }
        guard case .success(let source) = base else {
            return rows.skippingRest(because: "no credentials")
        }

        // Who the base credentials are, asked in this region's STS endpoint.
        let sts = STSClient(
            executor: client.executor, region: region, accountID: account.id, credentials: client.baseCredentials)
        let identity: CallerIdentity
        do {
            identity = try await sts.getCallerIdentity()
        } catch {
            rows.addFailure(
                "caller identity", error, service: .sts, endpoints: client.executor.endpoints,
                authFix: "the credentials from \(source) were rejected: renew them or point the chain at valid ones")
            return rows.skippingRest(because: "caller identity failed")
        }
        if account.roleARN == nil && identity.account != account.id {
            rows.add(
                "caller identity", .failed, "\(identity.arn) is in account \(identity.account), not \(account.id)",
                fix: "use credentials of account \(account.id), or set role_arn for it in the config")
            return rows.skippingRest(because: "wrong account")
        }
        rows.add("caller identity", .passed, "\(identity.arn) (account \(identity.account))")

        var principal = identity.arn
        var credentials: any CredentialProvider = client.baseCredentials
        if let roleARN = account.roleARN {
            if let roleAccount = AssumeRoleCredentialProvider.account(of: roleARN), roleAccount != account.id {
                rows.add(
                    "assume role", .failed, "\(roleARN) is in account \(roleAccount), not \(account.id)",
                    fix: "set role_arn of account \(account.id) to a role in that account")
                return rows.skippingRest(because: "role in another account")
            }
            // The same STS endpoint the daemon assumes the role in (the environment's region when it is in this
            // region's partition), so check and run agree.
            let roleSTS = STSClient(
                executor: client.executor, region: client.stsRegion(for: region), accountID: account.id,
                credentials: client.baseCredentials)
            do {
                let assumed = try await roleSTS.assumeRole(
                    roleARN: roleARN, sessionName: STSClient.sessionName(account: account.id),
                    externalID: account.externalID)
                principal = assumed.assumedRoleARN ?? roleARN
                credentials = StaticCredentialProvider(assumed.credentials, source: "role \(roleARN)")
                rows.add(
                    "assume role", .passed, principal + (account.externalID == nil ? "" : " (with external id)"))
            } catch {
                let condition = account.externalID.map { " with the condition sts:ExternalId = \"\($0)\"" } ?? ""
                rows.addFailure(
                    "assume role", error, service: .sts, endpoints: client.executor.endpoints,
                    authFix:
                        "the trust policy of \(roleARN) must allow sts:AssumeRole for \(identity.arn)\(condition), "
                        + "and \(identity.arn) must be allowed sts:AssumeRole on \(roleARN)")
                return rows.skippingRest(because: "role not assumed")
            }
        }

        let kms = KMSClient(
            executor: client.executor, region: region, accountID: account.id, credentials: credentials)
        do {
            let aliases = try await kms.firstAliasesPage(limit: 10)
            rows.add("kms:ListAliases", .passed, "allowed (\(aliases.count) alias(es) on the first page)")
        } catch {
            rows.addFailure(
                "kms:ListAliases", error, service: .kms, endpoints: client.executor.endpoints,
                authFix: "allow kms:ListAliases on * for \(principal) (see `transferkeyd policy`)")
        }

        let ec2 = EC2Client(
            executor: client.executor, region: region, accountID: account.id, credentials: credentials)
        let snapshotsFix = "allow ec2:DescribeSnapshots on * for \(principal) (see `transferkeyd policy`)"
        do {
            if try await ec2.canDescribeSnapshots() {
                rows.add("ec2:DescribeSnapshots", .passed, "allowed (DryRun)")
            } else {
                rows.add(
                    "ec2:DescribeSnapshots", .failed, "UnauthorizedOperation with DryRun=true", fix: snapshotsFix)
            }
        } catch {
            rows.addFailure(
                "ec2:DescribeSnapshots", error, service: .ec2, endpoints: client.executor.endpoints,
                authFix: snapshotsFix)
        }
        await checkUseEvidence(
            &rows, kms: kms, account: account, region: region, credentials: credentials,
            principal: principal)
        return rows.rows
    }

    /// The row of the evidence of use and of retiring the import's grants.
    static let useEvidenceRow = "kms:ListGrants, kms:GetKeyLastUsage, kms:RetireGrant"

    /// The evidence of use (`kms:ListGrants`, `kms:GetKeyLastUsage`) and CloudTrail's history
    /// (`cloudtrail:LookupEvents`), asked about a key id that exists nowhere: `NotFoundException` means the call was
    /// allowed. Nothing is changed.
    private func checkUseEvidence(
        _ rows: inout RowBuilder, kms: KMSClient, account: Config.Account, region: String,
        credentials: any CredentialProvider, principal: String
    ) async {
        let probe = KeyReference.arn(
            keyID: "00000000-0000-4000-8000-000000000000", accountID: account.id, region: region)
        let usageFix =
            "allow kms:ListGrants and kms:GetKeyLastUsage on the account's keys, and kms:RetireGrant on its transfer keys, "
            + "for \(principal) (see `transferkeyd policy`)"
        // Each asked on its own: NotFoundException from one must not hide a denial of the other.
        func allowed(_ call: () async throws -> Void) async throws {
            do {
                try await call()
            } catch let error as AWSError where error.category == .notFound {
                return
            }
        }
        do {
            try await allowed { _ = try await kms.listGrants(keyID: probe) }
            try await allowed { _ = try await kms.getKeyLastUsage(keyID: probe) }
            try await allowed {
                _ = try await kms.retireGrant(keyID: probe, grantID: String(repeating: "0", count: 64))
            }
            rows.add(Self.useEvidenceRow, .passed, "allowed (asked about a key that does not exist)")
        } catch {
            rows.addFailure(
                Self.useEvidenceRow, error, service: .kms, endpoints: client.executor.endpoints,
                authFix: usageFix)
        }
        let trail = CloudTrailClient(
            executor: client.executor, region: region, accountID: account.id, credentials: credentials)
        do {
            _ = try await trail.lookupEvents(resourceName: probe, since: Date().addingTimeInterval(-60))
            rows.add("cloudtrail:LookupEvents", .passed, "allowed")
        } catch {
            rows.addFailure(
                "cloudtrail:LookupEvents", error, service: .cloudtrail, endpoints: client.executor.endpoints,
                authFix: "allow cloudtrail:LookupEvents on * for \(principal) (see `transferkeyd policy`)")
        }
    }
}

/// Collects the rows of one account × region.
private struct RowBuilder {
    let accountID: String
    let region: String
    let hasRole: Bool
    var rows: [PrerequisiteCheck] = []

    /// The checks of one account × region, in order.
    var names: [String] {
        ["credentials", "caller identity"] + (hasRole ? ["assume role"] : [])
            + [
                "kms:ListAliases", "ec2:DescribeSnapshots", AccessChecker.useEvidenceRow,
                "cloudtrail:LookupEvents",
            ]
    }

    mutating func add(_ name: String, _ outcome: PrerequisiteCheck.Outcome, _ detail: String, fix: String? = nil) {
        rows.append(
            PrerequisiteCheck(
                scope: "\(accountID)/\(region)", accountID: accountID, region: region, name: name, outcome: outcome,
                detail: detail, fix: fix))
    }

    /// A failed AWS call: no answer is `unreachable`; a refusal of the credentials or a permission gets `authFix`.
    mutating func addFailure(
        _ name: String, _ error: any Error, service: AWSService, endpoints: AWSEndpointResolver, authFix: String
    ) {
        guard let error = error as? AWSError else {
            add(name, .failed, "\(error)", fix: "see the message; run again with the same environment as the daemon")
            return
        }
        var detail = error.code
        if !error.message.isEmpty { detail += ": \(error.message)" }
        if let requestID = error.requestID { detail += " [request id \(requestID)]" }
        switch error.category {
        case .transient, .throttled:
            let endpoint = endpoints.endpoint(for: service, region: region)
            add(
                name, .unreachable, detail + (error.attempts > 1 ? " after \(error.attempts) attempts" : ""),
                fix: "no answer from \(endpoint): check the network, a proxy, and endpoint_url / AWS_ENDPOINT_URL*")
        case .auth:
            add(name, .failed, detail, fix: authFix)
        default:
            add(name, .failed, detail, fix: error.hint)
        }
    }

    /// The rows so far, then every later check marked skipped.
    func skippingRest(because reason: String) -> [PrerequisiteCheck] {
        let done = Set(rows.map(\.name))
        var all = self
        for name in names where !done.contains(name) {
            all.add(name, .skipped, "not checked: \(reason)")
        }
        return all.rows
    }
}
