import ArgumentParser
import Foundation
import Logging
import TransferKeyAWS
import TransferKeyCore
import TransferKeyDaemon
import TransferKeyStore

/// `transferkeyd create`: makes the transfer key itself, recording the intent before any AWS call.
struct Create: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create a temporary transfer key and its alias, and record it (prints them as JSON).",
        discussion: """
            Records the intent first (state `creating`), then calls CreateKey — a customer-managed key \
            tagged transferkeyd:import-id=ID whose key policy leaves the account in control and lets \
            each --grantee-account only encrypt, decrypt, re-encrypt, generate data keys, describe \
            the key and create grants for AWS services — then CreateAlias \
            (`<alias_prefix>-<import id>`), and marks the transfer `active`. If this command dies \
            half-way the daemon finishes it, or parks the transfer as `stuck` when no key was made; \
            it never deletes anything on its own.

            Example:
              transferkeyd create --import-id imp-42 \\
                --account 111122223333 --region eu-west-1 \\
                --grantee-account 444455556666 \\
                --snapshot snap-0123456789abcdef0
            """)

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("Unique id of the import (1–128 printable characters).", valueName: "id"))
    var importID: String

    @Option(help: ArgumentHelp("AWS account id (12 digits) that will own the key.", valueName: "acct"))
    var account: String

    @Option(help: ArgumentHelp("Region of the key, e.g. eu-west-1.", valueName: "region"))
    var region: String

    @Option(
        name: .customLong("grantee-account"),
        help: ArgumentHelp(
            "An account (12 digits) allowed to use the key (repeatable, at least one).", valueName: "acct"))
    var granteeAccounts: [String]

    @OptionGroup var importEnd: ImportEndOptions

    func run() async throws {
        let loaded = try global.loadConfig()
        let config = loaded.config
        // Every input is checked before the database is opened or AWS is called: bad input changes nothing.
        let (new, grantees) = try { () throws -> (NewTransfer, [String]) in
            let importID = try Validator.importID(importID, field: "--import-id")
            let account = try Validator.accountID(account, field: "--account")
            let region = try Validator.region(region, field: "--region")
            guard !granteeAccounts.isEmpty else {
                throw InputError(field: "--grantee-account", "at least one account must be given")
            }
            let grantees = try granteeAccounts.map { try Validator.accountID($0, field: "--grantee-account") }
            let alias = try Validator.aliasName(
                "\(config.aliasPrefix)-\(importID)", prefix: config.aliasPrefix, field: "--import-id")
            let end = try importEnd.validated(config: config)
            return (
                NewTransfer(
                    importID: importID, accountID: account, region: region, keyID: nil, aliasName: alias,
                    origin: .created, snapshotIDs: end.snapshotIDs, snapshotAccountID: end.snapshotAccountID,
                    snapshotRegion: end.snapshotRegion, deadline: end.deadline),
                grantees
            )
        }()
        guard !config.dryRun else {
            throw CLIFailure.badInput(
                "transferkeyd: invalid config: dry_run = true; create makes a key, which a dry run never does")
        }
        if !config.accounts.isEmpty, config.account(new.accountID) == nil {
            Console.error(
                "warning: account \(new.accountID) is not in the config's [[accounts]]; "
                    + "the key is created with the base credentials")
        }
        let store = try loaded.openStore()
        var logger = Logger(label: "transferkeyd.create")
        logger.logLevel = .warning
        let runtime = DaemonRuntime(
            config: config, store: store, environment: ProcessInfo.processInfo.environment, logger: logger,
            actor: cliActor())
        // On a terminal, say why nothing happens while AWS is retried (an outage, throttling).
        let reporter: (@Sendable (RetryNotice) -> Void)? = isatty(STDERR_FILENO) == 1 ? Self.showRetry : nil
        // The connection pool is closed before the command returns or throws (a detached Task would race exit()).
        try await AWSRequestExecutor.$retryReporter.withValue(reporter) {
            try await runtime.closingAfter {
                // The alias name must be free before a key is made: a key whose alias cannot be created would be
                // invisible to the orphan scan. (A reused import id is refused by `record` below, as before.)
                if (try store.transfer(matching: new.importID)) == nil, let alias = new.aliasName {
                    let holder: CloudAlias?
                    do {
                        holder = try await runtime.cloud.region(accountID: new.accountID, region: new.region)
                            .listAliases(keyID: nil).first { $0.aliasName == alias }
                    } catch let error as CloudError {
                        throw CLIFailure.unavailable(
                            "transferkeyd: ListAliases for import \(new.importID) in \(new.accountID)/\(new.region) "
                                + "failed: \(error); nothing was created")
                    }
                    if let holder {
                        throw CLIFailure.badInput(
                            "transferkeyd: invalid --import-id: alias \(alias) already exists in \(new.accountID)/"
                                + "\(new.region) (targets key \(holder.targetKeyID ?? "none")); pick another import id")
                    }
                }
                // (a) The intent, before any AWS call that changes anything: a crash from here on leaves a row the
                // daemon settles.
                let intent = try store.record(new, now: Date(), actor: cliActor())

                let record: TransferRecord
                do {
                    // (b) CreateKey → key id recorded, (c) CreateAlias, (d) active.
                    record = try await runtime.creator.create(intent, granteeAccounts: grantees)
                } catch let conflict as KeyCreator.CreateConflict {
                    throw CLIFailure.problem("transferkeyd: \(conflict)")
                } catch let error as CloudError {
                    let known = (try? store.transfer(matching: intent.importID))?.keyID
                    throw CLIFailure.unavailable(
                        "transferkeyd: \(error.operation ?? "AWS call") for import \(intent.importID) in "
                            + "\(intent.accountID)/\(intent.region) failed: \(error); the transfer stays creating"
                            + (known.map { " with key \($0)" } ?? " without a key")
                            + " and the daemon settles it")
                } catch {
                    throw CLIFailure.from(error)
                }
                Console.out(
                    JSONValue.object([
                        "import_id": .string(record.importID), "key_id": .string(record.keyID),
                        "key_arn": .string(record.keyARN), "alias_name": .string(record.aliasName),
                        "account_id": .string(record.accountID), "region": .string(record.region),
                        "state": .string(record.state.rawValue),
                    ]).prettyText)
            }
        }
    }

    /// One line on stderr per retry: `retrying ListAliases in us-east-1 after ThrottlingException (attempt 2 of 8, in 0.4 s)…`.
    @Sendable static func showRetry(_ notice: RetryNotice) {
        let seconds = Double(notice.wait.components.seconds) + Double(notice.wait.components.attoseconds) / 1e18
        let wait = String(format: "%.1f", seconds)
        Console.error(
            "retrying \(notice.operation) in \(notice.region) after \(notice.code) "
                + "(attempt \(notice.nextAttempt) of \(notice.maxAttempts), in \(wait) s)…")
    }
}
