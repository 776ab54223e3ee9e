import ArgumentParser
import Foundation
import Logging
import Synchronization
import TransferKeyCore
import TransferKeyDaemon
import TransferKeyStore

/// `transferkeyd reconcile`: one scan-and-act pass, then exit.
struct Reconcile: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run one scan-and-act pass, then exit (for cron users and operators).",
        discussion: """
            Scans every configured account × region for orphaned prefixed aliases, polls snapshot \
            completion, and performs all due cleanup once, under the same safety rules as the daemon. \
            Exit 0, or 1 if a transfer is refused or stuck afterwards. On a terminal a progress line \
            shows each account × region as it is scanned; in a pipe or a log it prints one line per \
            account × region instead (`scanned ACCOUNT/REGION: N aliases, M orphan(s)`). With --dry-run it reads \
            everything, records what it would do (would_* events), makes no mutating AWS call, and prints \
            the plan: each key it would schedule for deletion, each alias it would delete, each refusal \
            with its reason. --dry-run --json prints only that plan, as one JSON document.

            Ctrl-C (SIGINT) stops the pass: the AWS call in flight is abandoned, exit 130; the next \
            pass or the daemon re-checks what it did not finish.
            """)

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Read everything, record what would be done, change nothing in AWS; print the plan.")
    var dryRun = false

    @Flag(
        help:
            "Print one JSON document (and nothing else on stdout): with --dry-run the plan; else {scan, polled, changes, rescued, attention}."
    )
    var json = false

    /// SIGINT (Ctrl-C on a terminal): the pass is cancelled — the AWS call in flight is abandoned, nothing new
    /// starts — and the command exits 130. What the pass did not finish is re-checked by the next pass or the
    /// daemon (a call abandoned after its intent was recorded is settled from AWS's state).
    func run() async throws {
        let interrupted = InterruptFlag()
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        let command = self
        let pass = Task { try await command.pass() }
        source.setEventHandler {
            interrupted.set()
            pass.cancel()
        }
        source.resume()
        defer {
            source.cancel()
            signal(SIGINT, SIG_DFL)
        }
        let failure = CLIFailure(
            exitCode: 130,
            message: "transferkeyd: interrupted (SIGINT): the pass stopped; the call in flight was abandoned, and what "
                + "it did not finish is re-checked by the next pass or the daemon")
        do {
            try await pass.value
        } catch {
            if interrupted.isSet { throw failure }
            throw error
        }
        if interrupted.isSet { throw failure }
    }

    private func pass() async throws {
        DaemonLogHandler.bootstrap()
        var logger = Logger(label: "transferkeyd.reconcile")
        logger.logLevel = .warning
        let loaded = try global.loadConfig()
        let store = try loaded.openStore()
        // The plan is what this pass records from here on.
        let firstSeq = try store.lastEventSeq()
        let runtime = DaemonRuntime(
            config: loaded.config, store: store, environment: ProcessInfo.processInfo.environment, logger: logger,
            dryRun: dryRun, actor: "reconcile:" + cliActor().dropFirst(4))
        // The connection pool is closed before the command returns or throws (a detached Task would race exit()).
        try await runtime.closingAfter {
            let pairs = loaded.config.accounts.reduce(0) { $0 + $1.regions.count }
            // With --json only the document goes to stdout.
            let say: (String) -> Void = json ? { _ in } : { Console.out($0) }
            // On a terminal a line updated in place; in a pipe or a log one line per account × region.
            let progress = json ? ProgressLine(isTerminal: false, isSilent: true) : ProgressLine()
            if progress.isTerminal {
                progress.show("scanning \(pairs) account × region pair(s) for orphans…")
            } else {
                say("scanning \(pairs) account × region pair(s) for orphans…")
            }
            let scan = await runtime.scanner.scan { step in
                let place = "\(step.accountID)/\(step.region)"
                let found =
                    step.error.map { "FAILED: \($0)" }
                    ?? "\(step.aliasesSeen) aliases, \(step.orphans) orphan(s)"
                progress.step(
                    inPlace: "scanning [\(step.done)/\(step.total)] \(place): \(found)",
                    line: "scanned \(place): \(found)")
            }
            progress.clear()
            var scans = TextTable("ACCOUNT", "REGION", "ALIASES", "OURS", "ADOPTED", "RESULT")
            for region in scan.regions {
                scans.add(
                    region.accountID, region.region, String(region.aliasesSeen), String(region.ownedAliases),
                    String(region.adopted.count), region.error.map { "FAILED: \($0)" } ?? "ok")
            }
            if !scan.regions.isEmpty { say(scans.rendered) }
            if scan.isAlarmTripped {
                say(
                    "orphan alarm: \(scan.newOrphans) new orphans; orphan cleanup paused until `transferkeyd approve-orphans`"
                )
            }

            progress.show("polling snapshot completion…")
            let poll = await runtime.poller.poll()
            progress.clear()
            say(
                "polled \(poll.snapshotsChecked) snapshot(s) in \(poll.callsMade) call(s); \(poll.endedTransfers.count) import(s) ended"
                    + (poll.failures.isEmpty ? "" : "; \(poll.failures.count) group(s) failed"))

            let before = try store.transfers()
            progress.show("working on due transfers…")
            // The same jobs as the daemon's services, once each: settle dead `create`s, then the due work.
            _ = await runtime.creator.settleStalled()
            await runtime.workLoop(notifier: SilentNotifier()).runDueWork(now: runtime.clock())
            progress.show("looking for use of keys pending deletion…")
            let rescued = await runtime.watch.watch(everyKey: true)
            progress.clear()
            if !rescued.isEmpty {
                say(
                    "deletion cancelled, the key still in use: \(rescued.joined(separator: ", ")) (see `transferkeyd show`)"
                )
            }
            let after = try store.transfers()
            let previous = Dictionary(uniqueKeysWithValues: before.map { ($0.importID, $0.state) })
            var changes = TextTable("IMPORT", "ACCOUNT", "REGION", "FROM", "TO", "NOTE")
            var changed = 0
            for record in after where previous[record.importID] != record.state {
                changed += 1
                changes.add(
                    record.importID, record.accountID, record.region, previous[record.importID]?.rawValue ?? "-",
                    record.state.rawValue, record.lastError ?? "")
            }
            say(changed == 0 ? "no transfer changed state" : changes.rendered)

            if dryRun {
                let plan = try DryRunPlan(
                    events: store.events(after: firstSeq, kinds: DryRunPlan.eventKinds), transfers: after)
                if json {
                    Console.out(plan.json(scan: scan).prettyText)
                } else {
                    Console.out(plan.rendered)
                }
            }

            let attention = after.filter { $0.state == .stuck || $0.state == .refused }
            if json, !dryRun {
                let changed = after.filter { previous[$0.importID] != $0.state }.map { record -> JSONValue in
                    [
                        "import_id": .string(record.importID), "account_id": .string(record.accountID),
                        "region": .string(record.region), "from": .string(previous[record.importID]?.rawValue),
                        "to": .string(record.state.rawValue), "note": .string(record.lastError),
                    ]
                }
                Console.out(
                    JSONValue.object([
                        "scan": .array(
                            scan.regions.map { region in
                                [
                                    "account_id": .string(region.accountID), "region": .string(region.region),
                                    "aliases": .int(Int64(region.aliasesSeen)),
                                    "owned": .int(Int64(region.ownedAliases)),
                                    "adopted": .int(Int64(region.adopted.count)), "error": .string(region.error),
                                ]
                            }),
                        "orphan_alarm": .bool(scan.isAlarmTripped),
                        "polled": [
                            "snapshots": .int(Int64(poll.snapshotsChecked)), "calls": .int(Int64(poll.callsMade)),
                            "imports_ended": .int(Int64(poll.endedTransfers.count)),
                        ],
                        "changes": .array(changed), "rescued": .array(rescued.map { .string($0) }),
                        "attention": .array(
                            attention.map {
                                ["import_id": .string($0.importID), "state": .string($0.state.rawValue)]
                            }),
                    ]).prettyText)
            }
            if !attention.isEmpty {
                say(
                    "\(attention.count) transfer(s) need an operator: "
                        + attention.map { "\($0.importID) (\($0.state.rawValue))" }.joined(separator: ", "))
                throw ExitCode(1)
            }
        }
    }
}

/// Set by the SIGINT handler, read when the pass ends.
private final class InterruptFlag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}
