import Foundation
import Logging
import TransferKeyCore
import TransferKeyStore

/// Makes a transfer key for `transferkeyd create`, and finishes (or gives up on) a `create` that
/// died half-way. Every step is recorded before the next, so a crash at any instant leaves a
/// `creating` row that says how far it got:
///
/// 1. the intent row (`creating`, no key) — written by the caller, before any AWS call;
/// 2. `CreateKey` (tagged `transferkeyd:import-id = <id>`) → the key id on the row;
/// 3. `CreateAlias` → recorded;
/// 4. `key_created` → `active`.
///
/// Settling never deletes anything: a key the daemon cannot tie to the row is left for the
/// operator (and, once it carries a prefixed alias, for the orphan scanner).
public struct KeyCreator: Sendable {
    /// The tag every created key carries: how a key is tied back to its import after a crash.
    public static let importIDTag = IAMPolicy.importIDTag

    /// The `Description` of the key made for `importID`.
    public static func description(importID: String) -> String {
        "transferkeyd transfer key for import \(importID)"
    }

    let store: TransferStore
    let cloud: any Cloud
    let settings: CleanupSettings
    let logger: Logger
    let clock: @Sendable () -> Date
    let actor: String
    /// A `creating` row untouched for this long belongs to a `create` that died or gave up.
    let grace: TimeInterval
    /// Attempts of `CreateKey` (the config's `[aws] max_attempts`): `create` retries it itself, so an
    /// ambiguous failure is seen and the key looked for before another is made.
    let createAttempts: Int
    /// The first pause between two `CreateKey` attempts (doubled each time, at most 5 s).
    let createRetryPause: TimeInterval

    /// Creates the creator; `clock` is injected so tests can drive time.
    public init(
        store: TransferStore, cloud: any Cloud, settings: CleanupSettings, logger: Logger,
        grace: TimeInterval = 300, clock: @escaping @Sendable () -> Date = { Date() }, actor: String = "daemon",
        createAttempts: Int = 8, createRetryPause: TimeInterval = 0.2
    ) {
        self.store = store
        self.cloud = cloud
        self.settings = settings
        self.logger = logger
        self.grace = grace
        self.createAttempts = max(1, createAttempts)
        self.createRetryPause = max(0, createRetryPause)
        self.clock = clock
        self.actor = actor
    }

    // MARK: - create

    /// Steps 2–4 for an intent row just recorded: `CreateKey` with the least-privilege policy for
    /// `granteeAccounts`, `CreateAlias`, then `active`. While it runs the row's `updated_at` moves (a
    /// heartbeat), so the daemon never mistakes a slow `create` for a dead one.
    /// - Throws: `CloudError` from AWS (the row stays `creating` with what is known), `CreateConflict`
    ///   when the alias name was taken meanwhile (the key just made is scheduled for deletion), or a store error.
    public func create(_ transfer: TransferRecord, granteeAccounts: [String]) async throws -> TransferRecord {
        guard let alias = transfer.aliasName else {
            throw CloudError(kind: .permanent, code: "NoAlias", message: "the intent row has no alias name")
        }
        Failpoint.hit(Failpoint.afterIntent)
        let heartbeat = startHeartbeat(importID: transfer.importID)
        defer { heartbeat.cancel() }
        do {
            let region = cloud.region(accountID: transfer.accountID, region: transfer.region)
            let policy = TransferKeyPolicy.document(
                accountID: transfer.accountID, region: transfer.region, granteeAccounts: granteeAccounts)
            let made = try await createKeyOnceOnly(transfer, policy: policy.text, in: region)
            let key = made.key
            Failpoint.hit(Failpoint.afterCreateKey)
            var detail: [String: JSONValue] = [
                "operation": "CreateKey", "region": .string(transfer.region), "outcome": "ok",
                "grantee_accounts": .array(Array(Set(granteeAccounts)).sorted().map { .string($0) }),
                "tags": [Self.importIDTag: .string(transfer.importID)],
            ]
            if made.isFound { detail["outcome"] = "found_after_ambiguous_failure" }
            if made.wasAmbiguous { detail["ambiguous_failures"] = .int(Int64(made.ambiguousFailures)) }
            try store.attachKey(
                importID: transfer.importID, keyID: key.keyID, keyARN: key.arn, kind: "aws_call", detail: detail,
                now: clock(), actor: actor)
            // An attempt that timed out may have made a key too: each other key with this import's tag goes.
            if made.wasAmbiguous { try await retireDuplicates(of: key.keyID, transfer: transfer, in: region) }
            do {
                try await ensureAlias(alias, keyID: key.keyID, transfer: transfer, region: region)
            } catch let error as CloudError where error.code == "AlreadyExistsException" {
                throw try await retireAfterLostAlias(alias, keyID: key.keyID, transfer: transfer, region: region, error)
            }
            return try store.apply(
                .keyCreated, to: transfer.importID, now: clock(), actor: actor, detail: ["alias_name": .string(alias)])
        } catch let error as CloudError {
            // The row stays `creating` with what is known; the failure is in its last_error and audit trail.
            _ = try? store.apply(
                .stepFailed(error: error.description, retryAt: clock().addingTimeInterval(grace)),
                to: transfer.importID, now: clock(), actor: actor,
                detail: error.auditDetail)
            throw error
        }
    }

    /// `create` met an alias name somebody else holds.
    public struct CreateConflict: Error, CustomStringConvertible {
        public var description: String
    }

    /// Moves the `creating` row's `updated_at` every so often until cancelled.
    private func startHeartbeat(importID: String) -> Task<Void, Never> {
        let interval = min(max(grace / 4, 0.25), 30)
        let store = store
        let clock = clock
        return Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(interval))
                if Task.isCancelled { return }
                _ = try? store.touchCreation(importID: importID, now: clock())
            }
        }
    }

    private struct MadeKey {
        var key: CloudKey
        /// Found by its tag after an ambiguous failure rather than answered by `CreateKey`.
        var isFound: Bool
        var ambiguousFailures: Int
        var wasAmbiguous: Bool { ambiguousFailures > 0 }
    }

    /// `CreateKey`, one attempt at a time. A throttled attempt made nothing; a timeout, a reset or a 5xx
    /// may have made a key whose answer was lost, so before the next attempt the region is searched for
    /// a key carrying this import's tag, and that key is used instead of making another.
    private func createKeyOnceOnly(
        _ transfer: TransferRecord, policy: String, in region: any CloudRegion
    ) async throws -> MadeKey {
        var ambiguous = 0
        var attempt = 0
        while true {
            attempt += 1
            if ambiguous > 0, let found = try await taggedKeys(of: transfer, in: region).first {
                logger.notice(
                    "a CreateKey whose answer was lost did make a key; using it",
                    metadata: ["transfer": "\(transfer.importID)", "key": "\(found.keyID)"])
                return MadeKey(key: found, isFound: true, ambiguousFailures: ambiguous)
            }
            do {
                let key = try await region.createKeyOnce(
                    description: Self.description(importID: transfer.importID), policy: policy,
                    tags: [Self.importIDTag: transfer.importID])
                return MadeKey(key: key, isFound: false, ambiguousFailures: ambiguous)
            } catch let error as CloudError where error.isRetryable && attempt < createAttempts {
                if error.kind == .transient { ambiguous += 1 }
                _ = try? store.note(
                    "step_retried", for: transfer.importID,
                    detail: error.auditDetail.merging(
                        ["attempt": .int(Int64(attempt)), "ambiguous": .bool(error.kind == .transient)],
                        uniquingKeysWith: { $1 }),
                    postponeUntil: nil, now: clock(), actor: actor)
                _ = try? store.touchCreation(importID: transfer.importID, now: clock())
                let pause = min(createRetryPause * pow(2, Double(attempt - 1)), 5)
                try? await Task.sleep(for: .seconds(pause))
            }
        }
    }

    /// `candidate`'s metadata when it carries this import's tag and is a customer-managed, Enabled key: one `create`
    /// made for this import and not on its way out (a key already pending deletion is not worth an alias). Nil for
    /// any other key, one gone meanwhile, or one whose policy keeps us out (not one we made).
    private func keyMade(
        for transfer: TransferRecord, _ candidate: String, in region: any CloudRegion
    ) async throws -> CloudKey? {
        let tags: [String: String]
        do {
            tags = try await region.keyTags(candidate)
        } catch let error as CloudError where error.kind == .notFound || error.kind == .auth {
            return nil
        }
        guard tags[Self.importIDTag] == transfer.importID else { return nil }
        let key = try await region.describeKey(candidate)
        guard key.keyManager == KMSValue.customerManaged, KMSKeyState(aws: key.keyState) == .enabled else {
            return nil
        }
        return key
    }

    /// The region's keys that carry this import's tag and are not on their way out, newest first.
    private func taggedKeys(of transfer: TransferRecord, in region: any CloudRegion) async throws -> [CloudKey] {
        var found: [CloudKey] = []
        for candidate in try await region.listKeyIDs() {
            if let key = try await keyMade(for: transfer, candidate, in: region) { found.append(key) }
        }
        return found.sorted { ($0.creationDate ?? .distantPast) > ($1.creationDate ?? .distantPast) }
    }

    /// Schedules every other key with this import's tag and no alias: duplicates of an ambiguous `CreateKey`.
    private func retireDuplicates(of keyID: String, transfer: TransferRecord, in region: any CloudRegion) async throws {
        for duplicate in try await taggedKeys(of: transfer, in: region) where duplicate.keyID != keyID {
            guard try await region.listAliases(keyID: duplicate.keyID).isEmpty else {
                logger.warning(
                    "a second key carries this import's tag but has an alias; left alone",
                    metadata: ["transfer": "\(transfer.importID)", "key": "\(duplicate.keyID)"])
                continue
            }
            try await retire(
                duplicate.keyID, transfer: transfer, in: region,
                reason: "duplicate key made by a CreateKey whose answer was lost")
        }
    }

    /// `CreateAlias` answered AlreadyExists: the name was taken between the check and the call. The key
    /// just made (no alias, this import's tag) is scheduled for deletion and the transfer parked `stuck`.
    private func retireAfterLostAlias(
        _ alias: String, keyID: String, transfer: TransferRecord, region: any CloudRegion, _ error: CloudError
    ) async throws -> CreateConflict {
        let aliases = (try? await region.listAliases(keyID: nil)) ?? []
        let holder = aliases.first { $0.aliasName == alias }?.targetKeyID ?? "unknown"
        let deletion = try await retire(
            keyID, transfer: transfer, in: region,
            reason:
                "\(alias) already exists (targets key \(holder)); the key made for this import can never get its alias")
        let reason =
            "CreateAlias: \(alias) already exists in \(transfer.accountID)/\(transfer.region) (targets key "
            + "\(holder)); key \(keyID) made for this import was scheduled for deletion"
            + (deletion.map { " (deletion date \(Timestamp.string($0)))" } ?? "")
        _ = try store.apply(
            .stepFailed(error: reason, retryAt: nil), to: transfer.importID, now: clock(), actor: actor,
            detail: error.auditDetail)
        return CreateConflict(description: reason)
    }

    /// `ScheduleKeyDeletion` of a key this import made that has no alias, recorded with why.
    @discardableResult
    private func retire(_ keyID: String, transfer: TransferRecord, in region: any CloudRegion, reason: String)
        async throws -> Date?
    {
        let receipt = try await region.scheduleKeyDeletion(keyID, pendingWindowDays: settings.pendingWindowDays)
        try store.note(
            "aws_call", for: transfer.importID,
            detail: [
                "operation": "ScheduleKeyDeletion", "key_id": .string(keyID), "region": .string(transfer.region),
                "request_id": .string(receipt.requestID), "outcome": "ok",
                "deletion_date": .string(receipt.deletionDate.map(Timestamp.string)),
                "pending_window_days": .int(Int64(settings.pendingWindowDays)), "reason": .string(reason),
            ], postponeUntil: nil, now: clock(), actor: actor)
        logger.warning(
            "scheduled a key this import made that has no alias",
            metadata: ["transfer": "\(transfer.importID)", "key": "\(keyID)", "reason": "\(reason)"])
        return receipt.deletionDate
    }

    /// `CreateAlias` unless the key already carries the alias; recorded as an `aws_call`.
    private func ensureAlias(
        _ alias: String, keyID: String, transfer: TransferRecord, region: any CloudRegion
    ) async throws {
        if try await region.listAliases(keyID: keyID).contains(where: { $0.aliasName == alias }) { return }
        let receipt = try await region.createAlias(alias, targetKeyID: keyID)
        Failpoint.hit(Failpoint.afterCreateAlias)
        try store.note(
            "aws_call", for: transfer.importID,
            detail: [
                "operation": "CreateAlias", "alias_name": .string(alias), "key_id": .string(keyID),
                "region": .string(transfer.region), "request_id": .string(receipt.requestID), "outcome": "ok",
            ], postponeUntil: nil, now: clock(), actor: actor)
    }

    // MARK: - Settling a create that died

    /// Settles every `creating` row untouched for longer than the grace.
    @discardableResult
    public func settleStalled() async -> [StepOutcome] {
        let stalled: [TransferRecord]
        do {
            stalled = try store.stalledCreations(updatedBefore: clock().addingTimeInterval(-grace), limit: 100)
        } catch {
            logger.error("cannot read stalled creations", metadata: ["error": "\(error)"])
            return []
        }
        var outcomes: [StepOutcome] = []
        for transfer in stalled {
            if Task.isCancelled { break }
            outcomes.append(await settle(transfer))
        }
        return outcomes
    }

    /// Finishes one `creating` row: a known key gets its alias and becomes `active`; an unknown
    /// key is looked for by its alias (and must carry this import's tag); no key at all → `stuck`.
    public func settle(_ transfer: TransferRecord) async -> StepOutcome {
        var log = logger
        log[metadataKey: "transfer"] = "\(transfer.importID)"
        log[metadataKey: "account"] = "\(transfer.accountID)"
        log[metadataKey: "region"] = "\(transfer.region)"
        let region = cloud.region(accountID: transfer.accountID, region: transfer.region)
        do {
            guard let alias = transfer.aliasName else {
                return try park(transfer, "creation never completed: the intent has no alias name", log: log)
            }
            var keyID = transfer.keyID
            if keyID == nil {
                switch try await findKey(for: transfer, alias: alias, in: region) {
                case .found(let target, let arn, let foundBy):
                    try store.attachKey(
                        importID: transfer.importID, keyID: target, keyARN: arn, kind: "key_found",
                        detail: ["found_by": .string(foundBy), "alias_name": .string(alias)], now: clock(),
                        actor: actor)
                    log.notice(
                        "found the key of an interrupted create", metadata: ["key": "\(target)", "by": "\(foundBy)"])
                    keyID = target
                case .notOurs(let target):
                    return try park(
                        transfer,
                        "creation never completed: \(alias) targets key \(target), which is not tagged "
                            + "\(Self.importIDTag)=\(transfer.importID); left alone",
                        log: log)
                case .none:
                    return try park(transfer, "creation never completed: no key was made", log: log)
                }
            }
            guard let keyID else { return .failed("no key") }
            if settings.isDryRun,
                !(try await region.listAliases(keyID: keyID).contains { $0.aliasName == alias })
            {
                try store.note(
                    "would_create_alias", for: transfer.importID,
                    detail: ["alias_name": .string(alias), "key_id": .string(keyID)],
                    postponeUntil: clock().addingTimeInterval(settings.recheckInterval), now: clock(), actor: actor)
                return .deferred("dry run")
            }
            do {
                try await ensureAlias(alias, keyID: keyID, transfer: transfer, region: region)
            } catch let error as CloudError where error.code == "AlreadyExistsException" {
                // The name went to another key meanwhile: ours can never get it. Retire it while it has no
                // alias at all (else it is no longer only ours to judge), and park the transfer with why.
                guard try await region.listAliases(keyID: keyID).isEmpty else {
                    return try park(
                        transfer,
                        "creation never completed: \(alias) targets another key, and key \(keyID) carries other "
                            + "aliases; left alone",
                        log: log)
                }
                let conflict = try await retireAfterLostAlias(
                    alias, keyID: keyID, transfer: transfer, region: region, error)
                log.error("\(conflict); an operator must look")
                return .advanced(.stuck)
            }
            let record = try store.apply(
                .keyCreated, to: transfer.importID, now: clock(), actor: actor,
                detail: ["alias_name": .string(alias), "settled": true])
            log.notice("finished an interrupted create", metadata: ["key": "\(keyID)"])
            return .advanced(record.state)
        } catch let error as CloudError {
            return fail(transfer, error: error, log: log)
        } catch {
            log.error("recording the creation step failed", metadata: ["error": "\(error)"])
            return .failed("\(error)")
        }
    }

    private enum Search {
        case found(keyID: String, arn: String?, by: String)
        case notOurs(keyID: String)
        case none
    }

    /// The key of a `create` that died before recording it: first by its (deterministic) alias,
    /// else — the crash fell between `CreateKey` and recording it, so there is no alias yet — by
    /// the import-id tag among the region's keys that no transfer recorded.
    private func findKey(for transfer: TransferRecord, alias: String, in region: any CloudRegion) async throws
        -> Search
    {
        if let found = try await region.listAliases(keyID: nil).first(where: { $0.aliasName == alias }),
            let target = found.targetKeyID
        {
            guard try await region.keyTags(target)[Self.importIDTag] == transfer.importID else {
                return .notOurs(keyID: target)
            }
            return .found(keyID: target, arn: try await region.describeKey(target).arn, by: "alias")
        }
        let all = try await region.listKeyIDs()
        let recorded = try store.recordedKeyIDs(all, accountID: transfer.accountID, region: transfer.region)
        for candidate in all where !recorded.contains(candidate) {
            if let key = try await keyMade(for: transfer, candidate, in: region) {
                return .found(keyID: candidate, arn: key.arn, by: "tag")
            }
        }
        return .none
    }

    private func park(_ transfer: TransferRecord, _ reason: String, log: Logger) throws -> StepOutcome {
        let record = try store.apply(
            .stepFailed(error: reason, retryAt: nil), to: transfer.importID, now: clock(), actor: actor)
        log.error("\(reason); transfer is \(record.state.rawValue), an operator must look")
        return .advanced(record.state)
    }

    private func fail(_ transfer: TransferRecord, error: CloudError, log: Logger) -> StepOutcome {
        // A retryable error leaves the row `creating` (its updated_at moves): the next grace tries again.
        let attempt = transfer.attempts + 1
        let retryAt = StepFailure.retryAt(error, attempts: attempt, maxAttempts: settings.maxStepAttempts, now: clock())
        {
            grace
        }
        return StepFailure.record(
            transfer, error: error, retryAt: retryAt, store: store, now: clock(), actor: actor, log: log
        ) { record in
            log.warning(
                "settling an interrupted create failed; transfer is \(record.state.rawValue)",
                metadata: ["aws.code": "\(error.code)", "attempt": "\(attempt)"])
        }
    }
}
