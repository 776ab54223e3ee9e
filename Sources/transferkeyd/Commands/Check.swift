import ArgumentParser
import Foundation
import Logging
import TransferKeyAWS
import TransferKeyCore
import TransferKeyDaemon

/// `transferkeyd check`: config, database, and per account × region credentials and permissions.
struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Validate the config and database, and per account × region that credentials work and the needed AWS calls are allowed.",
        discussion: """
            Rows: the config; the database (schema, writable by this user, not group/world-writable, \
            audit chain); then per account × region: the credential source that answered (looked up in this \
            order: environment, web identity, shared-file profile, container, instance metadata), GetCallerIdentity (the \
            caller must be in the account, unless role_arn is set), AssumeRole of role_arn (with the \
            external id), kms:ListAliases (one page), ec2:DescribeSnapshots (DryRun=true), \
            kms:ListGrants, kms:GetKeyLastUsage and kms:RetireGrant, and cloudtrail:LookupEvents (each asked \
            about a key that does not exist); and, with ownership_mark_key, the mark key (a GenerateMac/VerifyMac round trip). \
            Each ✗ comes with its fix. Nothing is changed: the only mutating call, RetireGrant, names a key that exists nowhere; no database write.

            Run it as the daemon's user and with the daemon's environment, or it checks other credentials.

            Exit codes: 0 every check passed; 1 a check failed (the fix is printed under it); 2 the \
            config is invalid; 3 AWS or the database could not be reached at all (no answer from an \
            endpoint after retries, or a database file that cannot be opened).
            """)

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Print one JSON document: {ok, exit_code, config, database, checks: [{scope, name, outcome, …}]}.")
    var json = false

    func run() async throws {
        let loaded = try global.loadConfig()
        let config = loaded.config
        let pairs = config.accounts.reduce(0) { $0 + $1.regions.count }
        var rows = [
            PrerequisiteCheck(
                scope: "config", name: "file", outcome: .passed,
                detail:
                    "\(loaded.path): valid, \(plural(config.accounts.count, "account")), \(plural(pairs, "account × region pair"))"
            )
        ]
        // An unedited example config is valid but watches nothing: say so, or it looks healthy.
        if config.accounts.isEmpty {
            rows.append(Self.noAccountsRow(configPath: loaded.path))
        }
        rows += DatabaseChecks(loaded: loaded).run()
        if let replication = config.replication { rows.append(Self.replicaRow(replication, loaded: loaded)) }
        if let lease = config.lease { rows.append(await Self.leaseRow(lease, config: config)) }

        var logger = Logger(label: "transferkeyd.check")
        logger.logLevel = .error
        let checker = AccessChecker(config: config, environment: ProcessInfo.processInfo.environment, logger: logger)
        rows += await checker.run()
        await checker.shutdown()

        let exitCode: Int32 =
            rows.contains { $0.outcome == .unreachable } ? 3 : rows.contains(where: \.isProblem) ? 1 : 0
        if json {
            Console.out(
                JSONValue.object([
                    "ok": .bool(exitCode == 0), "exit_code": .int(Int64(exitCode)), "config": .string(loaded.path),
                    "database": .string(loaded.databasePath), "checks": .array(rows.map(\.json)),
                ]).prettyText)
        } else {
            Console.out(Self.text(rows))
        }
        if exitCode != 0 { throw ExitCode(exitCode) }
    }

    /// The ✗ for a config without `[[accounts]]`: no orphan scan, no per-account check, nothing to watch.
    static func noAccountsRow(configPath: String) -> PrerequisiteCheck {
        PrerequisiteCheck(
            scope: "config", name: "accounts", outcome: .failed,
            detail: "no [[accounts]] configured: no account × region is scanned for orphans or checked here",
            fix:
                "add an [[accounts]] table (id, regions, role_arn) to \(configPath) for each account the platform imports from; see `man 8 transferkeyd`, CONFIGURATION"
        )
    }

    /// The rows grouped by scope, a ✓/✗/– per row, and the fix under each ✗.
    static func text(_ rows: [PrerequisiteCheck]) -> String {
        let width = (rows.map(\.name.count).max() ?? 0) + 2
        var lines: [String] = []
        var scope: String?
        for row in rows {
            if row.scope != scope {
                scope = row.scope
                lines.append(row.scope)
            }
            let mark =
                switch row.outcome {
                case .passed: "✓"
                case .failed, .unreachable: "✗"
                case .skipped: "–"
                case .warning: "!"
                }
            let detail = row.outcome == .unreachable ? "unreachable: \(row.detail)" : row.detail
            lines.append("  \(mark) \(row.name.padding(toLength: width, withPad: " ", startingAt: 0))\(detail)")
            if let fix = row.fix, row.outcome != .passed { lines.append("      fix: \(fix)") }
        }
        let counts = [
            (PrerequisiteCheck.Outcome.failed, "failed"), (.unreachable, "unreachable"), (.skipped, "not checked"),
            (.warning, "warning"),
        ].compactMap { outcome, word -> String? in
            let count = rows.filter { $0.outcome == outcome }.count
            return count == 0 ? nil : outcome == .warning ? plural(count, word) : "\(count) \(word)"
        }
        lines.append(
            counts.isEmpty
                ? (rows.count == 1 ? "the 1 check passed" : "all \(rows.count) checks passed")
                : "\(rows.filter { $0.outcome == .passed }.count) of \(plural(rows.count, "check")) passed; "
                    + counts.joined(separator: ", "))
        return lines.joined(separator: "\n")
    }
}

extension PrerequisiteCheck {
    /// One row of `check --json`.
    var json: JSONValue {
        [
            "scope": .string(scope), "account_id": .string(accountID), "region": .string(region),
            "name": .string(name), "outcome": .string(outcome.rawValue), "ok": .bool(!isProblem),
            "detail": .string(detail), "fix": .string(fix),
        ]
    }
}

extension Check {
    /// `[replication]`: the replica holds the ledger, and its newest file is at most `max_lag` behind the ledger's
    /// last event (both times from this host's clock: Litestream runs beside the daemon).
    static func replicaRow(_ settings: Config.Replication, loaded: LoadedConfig) -> PrerequisiteCheck {
        func row(_ outcome: PrerequisiteCheck.Outcome, _ detail: String, fix: String? = nil) -> PrerequisiteCheck {
            PrerequisiteCheck(scope: "replication", name: "replica", outcome: outcome, detail: detail, fix: fix)
        }
        let replica = Replica(settings: settings, loaded: loaded)
        let listing: Replica.Listing
        do {
            listing = try replica.list()
        } catch {
            return row(.unreachable, "\(error)", fix: "check \(replica.configPath) and the bucket's credentials")
        }
        let lastWrite =
            (try? loaded.openExistingStore().lastEventDate()) ?? nil
        let replicate = "run `\(settings.litestream) replicate -config \(replica.configPath)` (the sidecar unit)"
        guard let newest = listing.newest, listing.files > 0 else {
            return lastWrite == nil
                ? row(.passed, "no ledger yet, and the replica is empty")
                : row(.failed, "the replica holds nothing of the ledger", fix: replicate)
        }
        let lag = max(0, (lastWrite ?? newest).timeIntervalSince(newest))
        let detail =
            "\(plural(listing.files, "file")), newest \(Timestamp.string(newest)); lag \(Int(lag.rounded())) s behind the last event"
        guard lag <= settings.maxLag else {
            return row(.failed, detail + " (max_lag \(Int(settings.maxLag)) s)", fix: replicate)
        }
        return row(.passed, detail)
    }
}

extension Check {
    /// `[lease]`: the table answers, and who holds the lease now.
    static func leaseRow(_ settings: Config.Lease, config: Config) async -> PrerequisiteCheck {
        func row(_ outcome: PrerequisiteCheck.Outcome, _ detail: String, fix: String? = nil) -> PrerequisiteCheck {
            PrerequisiteCheck(
                scope: "lease", region: settings.region, name: "writer lease", outcome: outcome, detail: detail,
                fix: fix)
        }
        var logger = Logger(label: "transferkeyd.check")
        logger.logLevel = .error
        let client = AWSClient(
            environment: ProcessInfo.processInfo.environment, configEndpointURL: config.aws.endpointURL,
            retryPolicy: RetryPolicy(maxAttempts: config.aws.maxAttempts),
            requestTimeout: .milliseconds(Int64(config.aws.requestTimeout * 1000)), logger: logger)
        let table = DynamoDBLeaseTable(
            client: client.dynamoDB(region: settings.region), table: settings.table, name: settings.name)
        let read: Result<LeaseRecord?, any Error>
        do {
            read = .success(try await table.read())
        } catch {
            read = .failure(error)
        }
        try? await client.shutdown()
        let where_ = "table \(settings.table), item \(settings.name)"
        do {
            guard let holder = try read.get() else {
                return row(.passed, "\(where_): free (no daemon holds it)")
            }
            return row(.passed, "\(where_): held by \(holder), duration \(Int(holder.duration)) s")
        } catch let error as AWSError where error.code == "ResourceNotFoundException" {
            return row(
                .failed, "\(where_): no such table in \(settings.region)",
                fix:
                    "aws dynamodb create-table --region \(settings.region) --table-name \(settings.table) --attribute-definitions AttributeName=lease,AttributeType=S --key-schema AttributeName=lease,KeyType=HASH --billing-mode PAY_PER_REQUEST"
            )
        } catch let error as AWSError where error.category == .auth {
            return row(
                .failed, "\(where_): \(error.code)",
                fix:
                    "allow dynamodb:GetItem, dynamodb:PutItem and dynamodb:DeleteItem on the table (`transferkeyd policy`)"
            )
        } catch {
            return row(
                .unreachable, "\(where_): \(error)", fix: "check the network path to DynamoDB in \(settings.region)")
        }
    }
}
