import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import TransferKeyAWS
import TransferKeyCore
import TransferKeyDaemon
import TransferKeyStore

/// `transferkeyd run`: the daemon, in the foreground (systemd `Type=notify`).
struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the daemon in the foreground (systemd Type=notify).",
        discussion: """
            Migrates the database, re-arms every unfinished transfer, scans every configured \
            account × region for orphaned prefixed aliases, then runs its services side by side: due \
            cleanup work about every second (up to [aws] max_in_flight transfers at once per account × \
            region), snapshot-completion polling every poll_interval, orphan scans every scan_interval; a \
            slow scan delays no cleanup. \
            SIGTERM or SIGINT stops it cleanly (exit 0); a SIGKILL at any moment loses nothing.

            A config without [[accounts]] is accepted with a warning: nothing is scanned for \
            orphans and only transfers recorded with `track` or `create` are cleaned.

            Logs go to stderr, one line per event (with <N> priorities under journald). Set \
            TRANSFERKEYD_LOG_LEVEL=debug for more.
            """)

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        // Before any credential is read: no core dumps, not ptrace-able by the same user.
        let hardeningFailures = ProcessHardening.disableCoreDumps()
        DaemonLogHandler.bootstrap()
        let logger = Logger(label: "transferkeyd")
        for failure in hardeningFailures {
            logger.warning("cannot disable core dumps", metadata: ["error": "\(failure)"])
        }
        let loaded = try global.loadConfig()
        // Not refused: a transfer in an unconfigured account is still cleaned with the base
        // credentials, so a track-only set-up works. But an unedited example config starts a
        // daemon that watches nothing, so it must not look healthy.
        if loaded.config.accounts.isEmpty {
            logger.warning(
                "no [[accounts]] configured in \(loaded.path): no account × region is scanned for orphans; only transfers recorded with `track` or `create` are cleaned, with the base credentials; add an [[accounts]] table and run `transferkeyd check`"
            )
        }
        let notifier = SystemdNotifier(logger: logger)
        // One writer across hosts: the lease is taken before the ledger is even opened (a standby touches nothing).
        let lease = try await takeLease(loaded, notifier: notifier, logger: logger)
        let store = try loaded.openStore(pooled: true)
        // One daemon per database: held until the process ends (the kernel lets go of it on any exit).
        let lock: WriterLock
        do {
            lock = try WriterLock.acquire(databasePath: loaded.databasePath)
        } catch let error as StoreError where error.code == .busy {
            // Another daemon holds this ledger: a problem found (exit 1), not an outage to retry.
            throw CLIFailure.problem("transferkeyd: \(error)")
        }
        defer { withExtendedLifetime(lock) {} }
        let runtime = DaemonRuntime(
            config: loaded.config, store: store, environment: ProcessInfo.processInfo.environment, logger: logger)
        // The lease's keeper first: a group stops its services in reverse, so it is renewed until the others stopped.
        let services =
            (lease.map { [WriterLeaseService(lease: $0.lease)] } ?? [])
            + runtime.services(notifier: notifier, metricsPath: loaded.metricsPath)
        var configuration = ServiceGroupConfiguration(
            services: services.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        // The AWS call in flight gets this long to finish before it is cancelled (and re-checked at the next start).
        configuration.maximumGracefulShutdownDuration = .seconds(8)
        let group = ServiceGroup(configuration: configuration)
        do {
            try await group.run()
        } catch let failure as LeaseFailure {
            await runtime.shutdown()
            try? await lease?.client.shutdown()
            logger.critical("\(failure)")
            throw CLIFailure.problem("transferkeyd: \(failure)")
        } catch {
            await runtime.shutdown()
            await lease?.lease.release()
            try? await lease?.client.shutdown()
            throw CLIFailure.from(error)
        }
        await runtime.shutdown()
        await lease?.lease.release()
        try? await lease?.client.shutdown()
    }

    /// Takes `[lease]`'s writer lease, if one is configured: waits for it as a standby, or refuses (exit 1) while
    /// another daemon holds it. A standby that takes it over restores the ledger from `[replication]` first.
    private func takeLease(_ loaded: LoadedConfig, notifier: SystemdNotifier, logger: Logger) async throws -> (
        lease: WriterLease, client: AWSClient
    )? {
        guard let settings = loaded.config.lease else { return nil }
        let config = loaded.config
        // Short attempts: a renewal must be confirmed within half the lease's duration.
        let client = AWSClient(
            environment: ProcessInfo.processInfo.environment, configEndpointURL: config.aws.endpointURL,
            retryPolicy: RetryPolicy(maxAttempts: config.aws.maxAttempts),
            requestTimeout: .milliseconds(Int64(min(config.aws.requestTimeout, settings.duration / 6) * 1000)),
            logger: logger)
        let lease = WriterLease(
            table: DynamoDBLeaseTable(
                client: client.dynamoDB(region: settings.region), table: settings.table, name: settings.name),
            duration: settings.duration, logger: logger)
        let acquired: WriterLease.Acquired
        do {
            acquired = try await lease.acquire(wait: settings.standby) { holder in
                notifier.status("standby: the writer lease is held by \(holder)")
                logger.info(
                    "standby: the writer lease is held by another daemon; waiting",
                    metadata: ["holder": "\(holder)", "table": "\(settings.table)"])
            }
        } catch let failure as LeaseFailure {
            try? await client.shutdown()
            throw CLIFailure.problem("transferkeyd: \(failure)")
        } catch {
            try? await client.shutdown()
            throw CLIFailure.unavailable(
                "transferkeyd: cannot read the writer lease (table \(settings.table) in \(settings.region)): \(error)")
        }
        logger.notice(
            "holding the writer lease", metadata: ["table": "\(settings.table)", "name": "\(settings.name)"])
        if case .takenOver(let previous) = acquired, let replication = config.replication {
            let replica = Replica(settings: replication, loaded: loaded)
            do {
                let aside = try replica.restoreReplacing()
                logger.notice(
                    "restored the ledger from the replica before taking over from \(previous)",
                    metadata: ["replaced": "\(aside ?? "nothing")"])
            } catch {
                await lease.release()
                try? await client.shutdown()
                throw CLIFailure.unavailable(
                    "transferkeyd: took the writer lease over but cannot restore the ledger from the replica: "
                        + "\(error) (released the lease; restore by hand: \(replica.restoreCommand))")
            }
        }
        return (lease, client)
    }
}
