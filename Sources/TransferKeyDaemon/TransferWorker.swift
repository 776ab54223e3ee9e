import Foundation
import Logging
import TransferKeyCore
import TransferKeyStore

/// Counts `ScheduleKeyDeletion` calls within one cycle: the blast-radius cap.
///
/// A reference shared by the cycle's concurrent lanes (one per account × region), so the cap holds
/// for the whole cycle however the lanes interleave; each `take` is atomic.
public final class DeletionBudget: @unchecked Sendable {
    private let lock = NSLock()
    private var left: Int

    /// Calls still allowed in this cycle.
    public var remaining: Int {
        lock.lock()
        defer { lock.unlock() }
        return left
    }

    /// A budget of `limit` calls.
    public init(limit: Int) {
        left = limit
    }

    /// Takes `count` calls from the budget if that many are left.
    func take(_ count: Int) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard left >= count else { return false }
        left -= count
        return true
    }
}

/// What one step did to a transfer.
public enum StepOutcome: Sendable, Equatable {
    /// The transfer moved to this state.
    case advanced(TransferState)
    /// Nothing was changed now (budget spent, orphan cleanup paused, dry run); it is looked at again later.
    case deferred(String)
    /// The step failed and is retried later, or the transfer was parked.
    case failed(String)
    /// The database refused the step's record (disk full, locked beyond the busy timeout, …): nothing of
    /// the step was written, and it is re-checked from AWS once the database takes writes again.
    case storeUnavailable(String)
}

/// Performs the next step of one transfer against AWS and records the outcome: the only code that
/// makes mutating KMS calls, and only after `SafetyRules` approved the key moments before.
public struct TransferWorker: Sendable {
    let store: TransferStore
    let cloud: any Cloud
    let settings: CleanupSettings
    let logger: Logger
    let backoff: Backoff
    let clock: @Sendable () -> Date
    let jitter: @Sendable () -> Double
    let actor: String

    /// Creates a worker; `clock` and `jitter` are injected so tests can drive time and randomness.
    public init(
        store: TransferStore, cloud: any Cloud, settings: CleanupSettings, logger: Logger,
        backoff: Backoff = Backoff(), clock: @escaping @Sendable () -> Date = { Date() },
        jitter: @escaping @Sendable () -> Double = { Double.random(in: 0...1) }, actor: String = "daemon"
    ) {
        self.store = store
        self.cloud = cloud
        self.settings = settings
        self.logger = logger
        self.backoff = backoff
        self.clock = clock
        self.jitter = jitter
        self.actor = actor
    }

    /// Runs steps on `transfer` until it waits for something (AWS's deletion date, a retry time,
    /// the import) or an operator. A key whose import ended is scheduled and loses its alias in one go.
    @discardableResult
    public func work(on transfer: TransferRecord, budget: inout DeletionBudget) async -> [StepOutcome] {
        var outcomes: [StepOutcome] = []
        var current = transfer
        for _ in 0..<4 {
            let outcome = await step(current, budget: &budget)
            outcomes.append(outcome)
            guard case .advanced(let state) = outcome,
                [.cleanupDue, .keyScheduled].contains(state),
                let reloaded = try? store.transfer(matching: current.importID)
            else { break }
            current = reloaded
        }
        return outcomes
    }

    /// Performs exactly one step for the transfer's current state.
    public func step(_ transfer: TransferRecord, budget: inout DeletionBudget) async -> StepOutcome {
        var log = logger
        log[metadataKey: "transfer"] = "\(transfer.importID)"
        log[metadataKey: "account"] = "\(transfer.accountID)"
        log[metadataKey: "region"] = "\(transfer.region)"
        guard let keyID = transfer.keyID else { return .deferred("no key recorded yet") }
        let region = cloud.region(accountID: transfer.accountID, region: transfer.region)
        do {
            switch transfer.state {
            case .active:
                // The work loop only hands over an active transfer once its lease ran out.
                let record = try store.apply(.importEnded(.expired), to: transfer.importID, now: clock(), actor: actor)
                log.notice("lease expired; cleanup is due", metadata: ["deadline": "\(transfer.deadlineAt)"])
                return .advanced(record.state)
            case .cleanupDue:
                return try await scheduleDeletion(transfer, keyID: keyID, region: region, budget: &budget, log: log)
            case .keyScheduled:
                return try await removeAliases(transfer, keyID: keyID, region: region, log: log)
            case .cleaned:
                return try await confirmDeletion(transfer, keyID: keyID, region: region, log: log)
            case .creating, .deleted, .stuck, .refused, .cancelled:
                return .deferred("nothing to do while \(transfer.state.rawValue)")
            }
        } catch let error as CloudError {
            return fail(transfer, error: error, log: log)
        } catch let error as StoreError {
            log.error(
                "the database refused the step's record; the step is re-checked once it takes writes",
                metadata: ["error": "\(error)"])
            return .storeUnavailable(error.description)
        } catch {
            log.error("recording the step failed", metadata: ["error": "\(error)"])
            return .failed("\(error)")
        }
    }

    // MARK: - Steps

    /// Re-check the key (and every replica) against the safety rules, then `ScheduleKeyDeletion`.
    private func scheduleDeletion(
        _ transfer: TransferRecord, keyID: String, region: any CloudRegion, budget: inout DeletionBudget, log: Logger
    ) async throws -> StepOutcome {
        let key: CloudKey
        do {
            key = try await region.describeKey(keyID)
        } catch let error as CloudError where error.kind == .notFound {
            return try settleGone(transfer, log: log)
        }
        let aliases = try await region.listAliases(keyID: keyID).map(\.aliasName)
        let facts = KeyFacts(
            keyID: key.keyID, keyManager: key.keyManager, keyState: key.keyState, deletionDate: key.deletionDate,
            aliasNames: aliases)
        let verdict = SafetyRules.verdict(
            recordedKeyID: keyID, recordedAlias: transfer.aliasName, facts: facts, prefix: settings.aliasPrefix)

        // Set when the primary is already pending deletion: only replicas may still need scheduling.
        var alreadyPending: (date: Date?, found: Bool) = (nil, false)
        switch verdict {
        case .refused(let reason):
            return try refuse(transfer, reason: reason, log: log)
        case .alreadyPendingDeletion(let date, _):
            // Scheduled by an earlier run that died (or whose replica call failed) before recording
            // it, or by someone else. Its replicas are checked below: a primary in
            // PendingReplicaDeletion is only deleted once every replica is.
            alreadyPending = (date, true)
        case .approved:
            break
        }

        // A multi-Region primary waits in PendingReplicaDeletion until every replica is deleted:
        // each replica must pass the same rules in its own region before anything is scheduled.
        var replicas: [(region: String, client: any CloudRegion)] = []
        for replicaRegion in key.replicaRegions where replicaRegion != transfer.region {
            let client = cloud.region(accountID: transfer.accountID, region: replicaRegion)
            let replica: CloudKey
            do {
                replica = try await client.describeKey(keyID)
            } catch let error as CloudError where error.kind == .notFound {
                continue
            }
            let replicaAliases = try await client.listAliases(keyID: keyID).map(\.aliasName)
            let replicaVerdict = SafetyRules.verdict(
                recordedKeyID: keyID, recordedAlias: nil,
                facts: KeyFacts(
                    keyID: replica.keyID, keyManager: replica.keyManager, keyState: replica.keyState,
                    deletionDate: replica.deletionDate, aliasNames: replicaAliases),
                prefix: settings.aliasPrefix)
            if case .refused(let reason) = replicaVerdict {
                return try refuse(transfer, reason: "replica in \(replicaRegion): \(reason)", log: log)
            }
            if case .approved = replicaVerdict { replicas.append((replicaRegion, client)) }
        }

        if alreadyPending.found && replicas.isEmpty {
            let record = try store.apply(
                .keyScheduled(deletionDate: alreadyPending.date), to: transfer.importID, now: clock(), actor: actor,
                detail: ["settled": true, "key_state": .string(key.keyState)])
            log.notice(
                "key already pending deletion; recorded",
                metadata: ["deletion_date": "\(alreadyPending.date.map(Timestamp.string) ?? "-")"])
            return .advanced(record.state)
        }
        let calls = (alreadyPending.found ? 0 : 1) + replicas.count
        if settings.isDryRun {
            try store.note(
                "would_schedule_key_deletion", for: transfer.importID,
                detail: [
                    "key_id": .string(keyID), "pending_window_days": .int(Int64(settings.pendingWindowDays)),
                    "replica_regions": .array(replicas.map { .string($0.region) }),
                    "aliases": .array(aliases.map { .string($0) }),
                ], postponeUntil: clock().addingTimeInterval(settings.recheckInterval), now: clock(), actor: actor)
            log.notice("dry run: would schedule the key for deletion")
            return .deferred("dry run")
        }
        guard budget.take(calls) else {
            log.info("deletion budget for this cycle spent; the key waits for the next cycle")
            return .deferred("max_deletions_per_cycle reached")
        }

        // Each call is recorded as soon as AWS answered, so a failure later in the step loses no record.
        var primaryDeletionDate = alreadyPending.date
        var primaryRequestID: String?
        if !alreadyPending.found {
            let primary = try await schedule(keyID, in: region, regionName: transfer.region)
            Failpoint.hit(Failpoint.afterScheduleKeyDeletion)
            try recordCall(primary.record, for: transfer)
            primaryDeletionDate = primary.deletionDate
            primaryRequestID = primary.requestID
        }
        for replica in replicas {
            Failpoint.hit(Failpoint.midReplica)
            try recordCall(
                try await schedule(keyID, in: replica.client, regionName: replica.region).record, for: transfer)
        }
        let record = try store.apply(
            .keyScheduled(deletionDate: primaryDeletionDate), to: transfer.importID, now: clock(), actor: actor,
            detail: [
                "replica_regions": .array(replicas.map { .string($0.region) }), "settled": .bool(alreadyPending.found),
            ])
        Failpoint.hit(Failpoint.afterKeyScheduled)
        log.notice(
            "key scheduled for deletion",
            metadata: [
                "deletion_date": "\(record.keyDeletionDate ?? "-")", "replicas": "\(replicas.count)",
                "aws.request_id": "\(primaryRequestID ?? "-")",
            ])
        return .advanced(record.state)
    }

    /// `ScheduleKeyDeletion` in one region; "already pending" counts as done.
    private func schedule(
        _ keyID: String, in region: any CloudRegion, regionName: String
    ) async throws -> (deletionDate: Date?, requestID: String?, record: JSONValue) {
        do {
            let receipt = try await region.scheduleKeyDeletion(keyID, pendingWindowDays: settings.pendingWindowDays)
            return (
                receipt.deletionDate, receipt.requestID,
                [
                    "operation": "ScheduleKeyDeletion", "key_id": .string(keyID), "region": .string(regionName),
                    "pending_window_days": .int(Int64(settings.pendingWindowDays)),
                    "request_id": .string(receipt.requestID),
                    "deletion_date": .string(receipt.deletionDate.map(Timestamp.string)), "outcome": "ok",
                ]
            )
        } catch let error as CloudError where error.kind == .invalidState {
            // KMSInvalidStateException is "already done" only if the key really is pending deletion.
            let key = try await region.describeKey(keyID)
            guard key.keyState == "PendingDeletion" || key.keyState == "PendingReplicaDeletion" else { throw error }
            return (
                key.deletionDate, error.requestID,
                [
                    "operation": "ScheduleKeyDeletion", "key_id": .string(keyID), "region": .string(regionName),
                    "request_id": .string(error.requestID), "outcome": "already_pending",
                ]
            )
        }
    }

    /// `DeleteAlias` for every alias under the prefix that targets the key, here and in replica regions.
    private func removeAliases(
        _ transfer: TransferRecord, keyID: String, region: any CloudRegion, log: Logger
    ) async throws -> StepOutcome {
        var regions: [(name: String, client: any CloudRegion)] = [(transfer.region, region)]
        do {
            let key = try await region.describeKey(keyID)
            for replica in key.replicaRegions where replica != transfer.region {
                regions.append((replica, cloud.region(accountID: transfer.accountID, region: replica)))
            }
        } catch let error as CloudError where error.kind == .notFound {
            // The key is already gone; its aliases went with it.
            return try settleGone(transfer, log: log)
        }
        var deleted = 0
        var wouldDelete: [JSONValue] = []
        for (name, client) in regions {
            let owned = try await client.listAliases(keyID: keyID).map(\.aliasName)
                .filter { SafetyRules.isOwnedAlias($0, prefix: settings.aliasPrefix) }
            for alias in owned.sorted() {
                if settings.isDryRun {
                    wouldDelete.append(.string(alias))
                    continue
                }
                let call: JSONValue
                do {
                    let receipt = try await client.deleteAlias(alias)
                    Failpoint.hit(Failpoint.afterDeleteAlias)
                    call = [
                        "operation": "DeleteAlias", "alias_name": .string(alias), "region": .string(name),
                        "request_id": .string(receipt.requestID), "outcome": "ok",
                    ]
                } catch let error as CloudError where error.kind == .notFound {
                    call = [
                        "operation": "DeleteAlias", "alias_name": .string(alias), "region": .string(name),
                        "request_id": .string(error.requestID), "outcome": "already_gone",
                    ]
                }
                try recordCall(call, for: transfer)
                deleted += 1
            }
        }
        if settings.isDryRun {
            try store.note(
                "would_delete_alias", for: transfer.importID, detail: ["aliases": .array(wouldDelete)],
                postponeUntil: clock().addingTimeInterval(settings.recheckInterval), now: clock(), actor: actor)
            return .deferred("dry run")
        }
        let record = try store.apply(
            .aliasesRemoved, to: transfer.importID, now: clock(), actor: actor,
            detail: ["aliases_deleted": .int(Int64(deleted))])
        Failpoint.hit(Failpoint.afterAliasesRemoved)
        log.notice("aliases removed; waiting for AWS to delete the key", metadata: ["aliases": "\(deleted)"])
        return .advanced(record.state)
    }

    /// After the deletion date: has AWS deleted the key?
    private func confirmDeletion(
        _ transfer: TransferRecord, keyID: String, region: any CloudRegion, log: Logger
    ) async throws -> StepOutcome {
        let key: CloudKey
        do {
            key = try await region.describeKey(keyID)
        } catch let error as CloudError where error.kind == .notFound {
            return try settleGone(transfer, log: log)
        }
        if key.keyState == "PendingDeletion" || key.keyState == "PendingReplicaDeletion" {
            let recheck = max(key.deletionDate ?? clock(), clock()).addingTimeInterval(settings.confirmInterval)
            let record = try store.apply(
                .keyStillPending(recheckAt: recheck), to: transfer.importID, now: clock(), actor: actor,
                detail: ["key_state": .string(key.keyState)])
            return .advanced(record.state)
        }
        // Someone cancelled the deletion outside transferkeyd: record it and tell the operator.
        let record = try store.apply(
            .deletionCancelled, to: transfer.importID, now: clock(), actor: actor,
            detail: ["key_state": .string(key.keyState), "reason": "deletion cancelled outside transferkeyd"])
        log.warning(
            "the key is no longer pending deletion: someone cancelled it outside transferkeyd",
            metadata: ["key_state": "\(key.keyState)"])
        return .advanced(record.state)
    }

    // MARK: - Outcomes

    /// One audit event (`aws_call`) for one mutating AWS call, written right after AWS answered.
    private func recordCall(_ call: JSONValue, for transfer: TransferRecord) throws {
        guard case .object(let detail) = call else { return }
        try store.note(
            "aws_call", for: transfer.importID, detail: detail, postponeUntil: nil, now: clock(), actor: actor)
    }

    private func settleGone(_ transfer: TransferRecord, log: Logger) throws -> StepOutcome {
        let record = try store.apply(
            .keyGone, to: transfer.importID, now: clock(), actor: actor, detail: ["aws.code": "NotFoundException"])
        log.notice("key no longer exists in AWS; recorded as deleted")
        return .advanced(record.state)
    }

    private func refuse(_ transfer: TransferRecord, reason: String, log: Logger) throws -> StepOutcome {
        let record = try store.apply(.keyRefused(reason: reason), to: transfer.importID, now: clock(), actor: actor)
        log.warning("refused to delete the key: \(reason); left untouched, an operator must decide")
        return .advanced(record.state)
    }

    private func fail(_ transfer: TransferRecord, error: CloudError, log: Logger) -> StepOutcome {
        let attempt = transfer.attempts + 1
        let retryAt: Date? =
            error.isRetryable && attempt < settings.maxStepAttempts
            ? clock().addingTimeInterval(
                backoff.delay(afterAttempt: transfer.attempts, isThrottled: error.kind == .throttled, unit: jitter()))
            : nil
        var metadata: Logger.Metadata = [
            "aws.code": "\(error.code)", "attempt": "\(attempt)", "aws.operation": "\(error.operation ?? "-")",
        ]
        if let requestID = error.requestID { metadata["aws.request_id"] = "\(requestID)" }
        do {
            let record = try store.apply(
                .stepFailed(error: error.description, retryAt: retryAt), to: transfer.importID, now: clock(),
                actor: actor,
                detail: error.auditDetail)
            if let retryAt {
                metadata["retry_at"] = "\(Timestamp.string(retryAt))"
                log.warning("step failed; retrying later", metadata: metadata)
            } else {
                log.error(
                    "step failed for good; transfer is \(record.state.rawValue) until `transferkeyd retry \(transfer.importID)`",
                    metadata: metadata)
            }
            return .failed(error.description)
        } catch let storeError as StoreError {
            log.error(
                "the database refused the record of a failed step; it is tried again once it takes writes",
                metadata: ["error": "\(storeError)"])
            return .storeUnavailable(storeError.description)
        } catch {
            log.error("recording a failed step failed", metadata: ["error": "\(error)"])
            return .failed("\(error)")
        }
    }
}
