import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
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
        let services = runtime.services(notifier: SystemdNotifier(logger: logger), metricsPath: loaded.metricsPath)
        var configuration = ServiceGroupConfiguration(
            services: services.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        // The AWS call in flight gets this long to finish before it is cancelled (and re-checked at the next start).
        configuration.maximumGracefulShutdownDuration = .seconds(8)
        let group = ServiceGroup(configuration: configuration)
        do {
            try await group.run()
        } catch {
            await runtime.shutdown()
            throw CLIFailure.from(error)
        }
        await runtime.shutdown()
    }
}
