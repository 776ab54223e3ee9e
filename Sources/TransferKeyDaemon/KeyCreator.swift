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
    public static let importIDTag = "transferkeyd:import-id"

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

    /// Creates the creator; `clock` is injected so tests can drive time.
    public init(
        store: TransferStore, cloud: any Cloud, settings: CleanupSettings, logger: Logger,
        grace: TimeInterval = 300, clock: @escaping @Sendable () -> Date = { Date() }, actor: String = "daemon"
    ) {
        self.store = store
        self.cloud = cloud
        self.settings = settings
        self.logger = logger
        self.grace = grace
        self.clock = clock
        self.actor = actor
    }

    // MARK: - create

    /// Steps 2–4 for an intent row just recorded: `CreateKey` with the least-privilege policy for
    /// `granteeAccounts`, `CreateAlias`, then `active`.
    /// - Throws: `CloudError` from AWS (the row stays `creating` with what is known), or a store error.
    public func create(_ transfer: TransferRecord, granteeAccounts: [String]) async throws -> TransferRecord {
        guard let alias = transfer.aliasName else {
            throw CloudError(kind: .permanent, code: "NoAlias", message: "the intent row has no alias name")
        }
        Failpoint.hit(Failpoint.afterIntent)
        do {
            let region = cloud.region(accountID: transfer.accountID, region: transfer.region)
            let policy = TransferKeyPolicy.document(
                accountID: transfer.accountID, region: transfer.region, granteeAccounts: granteeAccounts)
            let key = try await region.createKey(
                description: Self.description(importID: transfer.importID), policy: policy.text,
                tags: [Self.importIDTag: transfer.importID])
            Failpoint.hit(Failpoint.afterCreateKey)
            try store.attachKey(
                importID: transfer.importID, keyID: key.keyID, keyARN: key.arn, kind: "aws_call",
                detail: [
                    "operation": "CreateKey", "region": .string(transfer.region), "outcome": "ok",
                    "grantee_accounts": .array(Array(Set(granteeAccounts)).sorted().map { .string($0) }),
                    "tags": [Self.importIDTag: .string(transfer.importID)],
                ], now: clock(), actor: actor)
            try await ensureAlias(alias, keyID: key.keyID, transfer: transfer, region: region)
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
            try await ensureAlias(alias, keyID: keyID, transfer: transfer, region: region)
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
            let tags: [String: String]
            do {
                tags = try await region.keyTags(candidate)
            } catch let error as CloudError where error.kind == .notFound || error.kind == .auth {
                continue  // gone meanwhile, or a key whose policy keeps us out: not one we made
            }
            guard tags[Self.importIDTag] == transfer.importID else { continue }
            let key = try await region.describeKey(candidate)
            // A key already on its way out is not worth an alias.
            guard key.keyManager == "CUSTOMER", key.keyState == "Enabled" else { continue }
            return .found(keyID: candidate, arn: key.arn, by: "tag")
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
        let retryAt: Date? =
            error.isRetryable && attempt < settings.maxStepAttempts ? clock().addingTimeInterval(grace) : nil
        do {
            let record = try store.apply(
                .stepFailed(error: error.description, retryAt: retryAt), to: transfer.importID, now: clock(),
                actor: actor,
                detail: error.auditDetail)
            log.warning(
                "settling an interrupted create failed; transfer is \(record.state.rawValue)",
                metadata: ["aws.code": "\(error.code)", "attempt": "\(attempt)"])
            return .failed(error.description)
        } catch {
            log.error("recording a failed creation step failed", metadata: ["error": "\(error)"])
            return .failed("\(error)")
        }
    }
}
