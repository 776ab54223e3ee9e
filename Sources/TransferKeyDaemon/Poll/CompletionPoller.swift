import Foundation
import Logging
import TransferKeyCore
import TransferKeyStore

/// Ends imports whose destination snapshot copies are done: one `DescribeSnapshots` batch per
/// account × region per poll, however many transfers wait there (never one call per transfer,
/// and never a KMS call).
public struct CompletionPoller: Sendable {
    let store: TransferStore
    let cloud: any Cloud
    let logger: Logger
    let clock: @Sendable () -> Date
    let actor: String

    /// Creates a poller; `clock` is injected so tests can fix time.
    public init(
        store: TransferStore, cloud: any Cloud, logger: Logger, clock: @escaping @Sendable () -> Date = { Date() },
        actor: String = "daemon"
    ) {
        self.store = store
        self.cloud = cloud
        self.logger = logger
        self.clock = clock
        self.actor = actor
    }

    /// Asks EC2 about every snapshot still pending for an `active` transfer, stores what changed, and
    /// ends the imports whose snapshots are all settled. A failing group is logged and reported; the
    /// other groups go on, and its snapshots are asked about again next poll.
    public func poll() async -> PollReport {
        var report = PollReport()
        let groups: [SnapshotGroup]
        do {
            groups = try store.pendingSnapshots()
        } catch {
            logger.error("reading pending snapshots failed; nothing polled", metadata: ["error": "\(error)"])
            report.failures.append(.init(accountID: "-", region: "-", code: "Database", message: "\(error)"))
            return report
        }
        report.groupsPolled = groups.count

        // The groups live in different accounts and regions: ask them all at once.
        let answers = await withTaskGroup(of: (Int, Result<CloudSnapshots, CloudError>).self) { tasks in
            for (index, group) in groups.enumerated() {
                let region = cloud.region(accountID: group.accountID, region: group.region)
                tasks.addTask {
                    do {
                        return (index, .success(try await region.describeSnapshots(group.snapshotIDs)))
                    } catch let error as CloudError {
                        return (index, .failure(error))
                    } catch {
                        return (
                            index,
                            .failure(
                                CloudError(
                                    kind: .transient, code: "\(type(of: error))", message: "\(error)",
                                    operation: "DescribeSnapshots"))
                        )
                    }
                }
            }
            var answers: [Int: Result<CloudSnapshots, CloudError>] = [:]
            for await (index, answer) in tasks { answers[index] = answer }
            return answers
        }
        report.callsMade = answers.count

        for (index, group) in groups.enumerated() {
            var log = logger
            log[metadataKey: "account"] = "\(group.accountID)"
            log[metadataKey: "region"] = "\(group.region)"
            switch answers[index] {
            case .success(let answer):
                var states = answer.states
                for id in answer.missing { states[id] = SnapshotState.missing.rawValue }
                // Only what was asked: an id EC2 did not mention keeps its state and is asked again.
                let asked = Set(group.snapshotIDs)
                states = states.filter { asked.contains($0.key) }
                do {
                    report.snapshotsChanged += try store.updateSnapshotStates(states, in: group, now: clock())
                    report.snapshotsChecked += group.snapshotIDs.count
                } catch {
                    log.error("storing snapshot states failed; asked again next poll", metadata: ["error": "\(error)"])
                    report.failures.append(
                        .init(
                            accountID: group.accountID, region: group.region, code: "Database", message: "\(error)"))
                }
            case .failure(let error):
                var metadata: Logger.Metadata = [
                    "aws.code": "\(error.code)", "aws.operation": "DescribeSnapshots",
                    "snapshots": "\(group.snapshotIDs.count)", "transfers": "\(group.importIDs.count)",
                ]
                if let requestID = error.requestID { metadata["aws.request_id"] = "\(requestID)" }
                log.warning(
                    "DescribeSnapshots failed: \(error); these snapshots are asked again next poll, the lease still applies",
                    metadata: metadata)
                report.failures.append(
                    .init(
                        accountID: group.accountID, region: group.region, code: error.code,
                        message: error.description))
            case nil:
                break
            }
        }

        endSettledImports(into: &report)
        warnAboutNeverSeen()
        return report
    }

    /// Snapshots EC2 has not known for 10 minutes of polls and never reported: the import waits for its lease.
    private func warnAboutNeverSeen() {
        guard let unseen = try? store.snapshotsNeverSeen(missingSince: clock().addingTimeInterval(-600)) else { return }
        for entry in unseen {
            logger.warning(
                """
                snapshot \(entry.snapshotID) was never seen in \(entry.place): wrong --snapshot-account or \
                --snapshot-region? The import ends at its lease, not on this
                """,
                metadata: ["transfer": "\(entry.importID)", "snapshot": "\(entry.snapshotID)"])
        }
    }

    /// Ends every `active` transfer whose snapshots are settled, also one whose last poll stored the
    /// final states but which a crash kept from being ended.
    private func endSettledImports(into report: inout PollReport) {
        let transfers: [String: [String: String]]
        do {
            transfers = try store.activeSnapshotStates()
        } catch {
            logger.error("reading snapshot states failed", metadata: ["error": "\(error)"])
            report.failures.append(.init(accountID: "-", region: "-", code: "Database", message: "\(error)"))
            return
        }
        for (importID, snapshots) in transfers.sorted(by: { $0.key < $1.key }) {
            guard let completion = Self.completion(forSnapshotStates: Array(snapshots.values)) else { continue }
            var log = logger
            log[metadataKey: "transfer"] = "\(importID)"
            do {
                let record = try store.apply(
                    .importEnded(completion), to: importID, now: clock(), actor: actor,
                    detail: [
                        "signal": "snapshots",
                        "snapshots": .object(snapshots.mapValues { .string($0) }),
                    ])
                report.endedTransfers[importID] = completion
                log.notice(
                    "import ended: destination snapshots \(completion == .succeeded ? "completed" : completion.rawValue); cleanup is due",
                    metadata: [
                        "account": "\(record.accountID)", "region": "\(record.region)",
                        "completion": "\(completion.rawValue)",
                    ])
            } catch let error as TransferStoreError where error.code == .illegalTransition || error.code == .notFound {
                // `complete` or the lease ended it between our read and this write: nothing left to do.
                log.debug("transfer already moved on", metadata: ["reason": "\(error)"])
            } catch {
                log.error("recording the end of the import failed; retried next poll", metadata: ["error": "\(error)"])
                report.failures.append(.init(accountID: "-", region: "-", code: "Database", message: "\(error)"))
            }
        }
    }

    /// How an import ended, from the last seen states of its snapshots, or nil while it has not.
    ///
    /// Any `error` ends it as failed at once (the key is cleaned up anyway); otherwise it ends when every
    /// snapshot is final: all `missing` means the snapshots are gone, else it succeeded (a copy that
    /// completed and was deleted since counts as done).
    public static func completion(forSnapshotStates states: [String]) -> Completion? {
        guard !states.isEmpty else { return nil }
        let known = states.map(SnapshotState.init(rawValue:))
        if known.contains(.error) { return .failed }
        // A state this binary does not know is not final.
        guard known.allSatisfy({ $0?.isFinal == true }) else { return nil }
        return known.allSatisfy { $0 == .missing } ? .snapshotsGone : .succeeded
    }
}
