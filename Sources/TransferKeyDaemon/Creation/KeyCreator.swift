import Foundation
import Logging
import TransferKeyCore
import TransferKeyStore

/// Makes a transfer key for `transferkeyd create`, and finishes (or gives up on) a `create` that
/// died half-way. Every step is recorded before the next, so a crash at any instant leaves a
/// `creating` row that says how far it got:
///
/// 1. the intent row (`creating`, no key) — written by the caller, before any AWS call;
/// 2. `CreateKey` (tagged `transferkeyd:import-id = <id>` and, with `ownership_mark_key`, the intent mark) → the key
///    id on the row, then the mark bound to the key's ARN (`OwnershipMark`);
/// 3. `CreateAlias` → recorded;
/// 4. `key_created` → `active`.
///
/// Nothing here ever schedules a deletion. A key is this create's only by AWS's answer to its `CreateKey`, or — when
/// that answer was lost — by a mark only this daemon can make *and* a CreationDate after the intent row (by AWS's
/// clock); a tag is a claim anyone with `kms:TagResource` can make. A duplicate made by a lost answer, and the key of a
/// create whose alias name was taken, are recorded as transfers with no alias and retired by the cleanup loop through
/// the safety rules and the deletion budget, like every other key. A key nothing proves ours is left alone, named in
/// the audit trail, and the transfer parked for an operator.
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
    /// Makes and verifies ownership marks; nil when no `ownership_mark_key` is configured (a lost answer then
    /// leaves the transfer to an operator).
    let marks: OwnershipMarks?

    /// Creates the creator; `clock` is injected so tests can drive time.
    public init(
        store: TransferStore, cloud: any Cloud, settings: CleanupSettings, logger: Logger,
        grace: TimeInterval = 300, clock: @escaping @Sendable () -> Date = { Date() }, actor: String = "daemon",
        createAttempts: Int = 8, createRetryPause: TimeInterval = 0.2, marks: OwnershipMarks? = nil
    ) {
        self.marks = marks
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
    /// `granteeAccounts`, the ownership mark, `CreateAlias`, then `active`. While it runs the row's `updated_at` moves
    /// (a heartbeat), so the daemon never mistakes a slow `create` for a dead one.
    /// - Throws: `CloudError` from AWS (the row stays `creating` with what is known), `CreateConflict` when the alias
    ///   name was taken meanwhile (the key just made is handed to the cleanup loop) or when a lost `CreateKey` answer
    ///   left keys nothing proves ours (parked `stuck`), or a store error.
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
            var tags = [Self.importIDTag: transfer.importID]
            if let marks { tags[OwnershipMark.intentTag] = try await marks.intentMark(of: transfer) }
            var current = try noteAWSTime(transfer)
            let made = try await createKeyOnceOnly(current, policy: policy.text, tags: tags, in: region)
            current = try noteAWSTime(current)
            let key = made.key
            Failpoint.hit(Failpoint.afterCreateKey)
            var call = AWSCallRecord(
                operation: "CreateKey", region: transfer.region, requestID: nil,
                extra: [
                    "grantee_accounts": .array(Array(Set(granteeAccounts)).sorted().map { .string($0) }),
                    "tags": [Self.importIDTag: .string(transfer.importID)],
                    "intent_mark": .bool(tags[OwnershipMark.intentTag] != nil),
                ])
            if let proof = made.proof {
                call.outcome = .foundAfterAmbiguousFailure
                call.extra["proof"] = proof
            }
            if made.wasAmbiguous { call.extra["ambiguous_failures"] = .int(Int64(made.ambiguousFailures)) }
            try store.attachKey(
                importID: transfer.importID, keyID: key.keyID, keyARN: key.arn, recording: .created(call),
                now: clock(), actor: actor)
            if let named = key.arnAccountID, named != transfer.accountID {
                // The credentials belong to another account than --account: the key is not where the row says.
                let reason =
                    "\(SafetyRule.accountMismatch.rawValue): CreateKey made key \(key.keyID) in account \(named) by its "
                    + "ARN, not --account \(transfer.accountID) (the credentials belong to another account); no alias "
                    + "made, nothing else done: an operator must look"
                _ = try store.apply(
                    .stepFailed(error: reason, retryAt: nil), to: transfer.importID, now: clock(), actor: actor,
                    detail: ["key_account_id": .string(named), "recorded_account_id": .string(transfer.accountID)])
                logger.error("\(reason)", metadata: ["transfer": "\(transfer.importID)"])
                throw CreateConflict(description: reason)
            }
            try await markKey(key.keyID, arn: key.arn, transfer: current, in: region)
            // An attempt that timed out may have made a key too: each other key proven this create's becomes a
            // transfer of its own, retired by the cleanup loop.
            if made.wasAmbiguous { try await recordDuplicates(of: key.keyID, transfer: current, in: region) }
            do {
                try await ensureAlias(alias, keyID: key.keyID, transfer: transfer, region: region)
            } catch let error as CloudError where error.code == "AlreadyExistsException" {
                throw try await abandonAfterLostAlias(alias, keyID: key.keyID, transfer: current, region: region, error)
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

    /// `create` met an alias name somebody else holds, or keys it cannot prove its own.
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

    /// Writes AWS's time of the intent onto the row once AWS's clock is known (the row's `created_at` carried onto
    /// AWS's clock by the offset the latest answer showed). The row as it is when AWS has not answered yet.
    private func noteAWSTime(_ transfer: TransferRecord) throws -> TransferRecord {
        guard transfer.awsRecordedAt == nil, let awsNow = cloud.awsNow() else { return transfer }
        return try store.noteAWSRecordedAt(
            importID: transfer.importID, at: transfer.createdAt.addingTimeInterval(awsNow.timeIntervalSince(clock())))
    }

    private struct MadeKey {
        var key: CloudKey
        /// How a key found after an ambiguous failure was proven this create's; nil when `CreateKey` answered.
        var proof: JSONValue?
        var ambiguousFailures: Int
        var wasAmbiguous: Bool { ambiguousFailures > 0 }
    }

    /// `CreateKey`, one attempt at a time. A throttled attempt made nothing; a timeout, a reset or a 5xx
    /// may have made a key whose answer was lost, so before the next attempt the region is searched for
    /// a key this create provably made, and that key is used instead of making another. Keys that carry the import's
    /// tag but that nothing proves ours stop the create: parked `stuck` (`CreateConflict`), nothing made again.
    private func createKeyOnceOnly(
        _ transfer: TransferRecord, policy: String, tags: [String: String], in region: any CloudRegion
    ) async throws -> MadeKey {
        var ambiguous = 0
        var attempt = 0
        while true {
            attempt += 1
            if ambiguous > 0 {
                let found = try await search(for: transfer, in: region)
                if let ours = found.ours.first {
                    logger.notice(
                        "a CreateKey whose answer was lost did make a key; using it",
                        metadata: ["transfer": "\(transfer.importID)", "key": "\(ours.key.keyID)"])
                    return MadeKey(key: ours.key, proof: ours.proof, ambiguousFailures: ambiguous)
                }
                if !found.unproven.isEmpty {
                    throw try parkUnproven(transfer, found.unproven, during: "a CreateKey whose answer was lost")
                }
            }
            do {
                let key = try await region.createKeyOnce(
                    description: Self.description(importID: transfer.importID), policy: policy, tags: tags)
                return MadeKey(key: key, proof: nil, ambiguousFailures: ambiguous)
            } catch let error as CloudError where error.isRetryable && attempt < createAttempts {
                if error.kind == .transient { ambiguous += 1 }
                _ = try? store.note(
                    .stepRetried, for: transfer.importID,
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

    // MARK: - Which keys are this create's

    /// A key of the region judged against one `create`'s intent.
    enum Candidate {
        /// Made by this create: the proof, for the audit trail.
        case ours(CloudKey, proof: JSONValue)
        /// Carries the import's tag and was made after the intent, but nothing proves it ours: why not.
        case unproven(CloudKey, why: String)
    }

    /// What a search of the region found for one `create`.
    struct Found {
        /// Keys this create provably made, newest first.
        var ours: [(key: CloudKey, proof: JSONValue)] = []
        /// Keys with the import's tag, made after the intent, that nothing proves ours.
        var unproven: [(key: CloudKey, why: String)] = []
    }

    /// Judges `candidate` for `transfer`'s intent. Nil for a key without this import's tag, gone meanwhile, one whose
    /// policy keeps us out, one on its way out, or one AWS made before the intent row was written (by AWS's clock): a
    /// tag on an older key is a claim somebody copied, never this create's key.
    func judge(_ candidate: String, for transfer: TransferRecord, in region: any CloudRegion) async throws -> Candidate?
    {
        let tags: [String: String]
        do {
            tags = try await region.keyTags(candidate)
        } catch let error as CloudError where error.kind == .notFound || error.kind == .auth {
            return nil
        }
        guard tags[Self.importIDTag] == transfer.importID else { return nil }
        let key = try await region.describeKey(candidate)
        guard key.keyManager == KMSValue.customerManaged, key.keyState == .enabled else {
            return nil
        }
        let intent = transfer.awsRecordedAt
        if let intent, let made = key.creationDate, made < intent.addingTimeInterval(-SafetyRules.dateSlack) {
            logger.warning(
                "a key made before this create's intent carries its import-id tag; not this create's key",
                metadata: [
                    "transfer": "\(transfer.importID)", "key": "\(candidate)",
                    "creation_date": "\(Timestamp.string(made))", "intent_aws_time": "\(Timestamp.string(intent))",
                ])
            return nil
        }
        guard key.origin == KMSValue.originAWSKMS, key.customKeyStoreID?.isEmpty ?? true,
            key.multiRegionKeyType == nil, key.keySpec == KMSValue.symmetricDefault,
            key.keyUsage == KMSValue.encryptDecrypt
        else {
            return .unproven(key, why: "it is not a key create makes (origin, key store, spec or multi-Region)")
        }
        guard let intent, let made = key.creationDate else {
            return .unproven(key, why: "AWS's time of the intent, or the key's CreationDate, is not known")
        }
        guard let marks else {
            return .unproven(key, why: "no ownership_mark_key is configured, and a tag proves nothing")
        }
        var proof: [String: JSONValue] = [
            "creation_date": .string(Timestamp.string(made)), "intent_aws_time": .string(Timestamp.string(intent)),
        ]
        if try await marks.carriesIntentMark(tags, of: transfer) {
            proof["mark"] = "intent_mark"
            return .ours(key, proof: .object(proof))
        }
        let mark = await marks.check(tags: tags, keyARN: key.arn)
        if mark.proves(importID: transfer.importID) {
            proof["mark"] = "ownership_mark"
            return .ours(key, proof: .object(proof))
        }
        return .unproven(key, why: "no mark that verifies for this intent (\(mark.auditValue.text))")
    }

    /// The region's keys no other transfer recorded, judged against `transfer`'s intent.
    func search(for transfer: TransferRecord, in region: any CloudRegion) async throws -> Found {
        let all = try await region.listKeyIDs()
        let recorded = try store.recordedKeyIDs(all, accountID: transfer.accountID, region: transfer.region)
        var found = Found()
        for candidate in all where !recorded.contains(candidate) || candidate == transfer.keyID {
            switch try await judge(candidate, for: transfer, in: region) {
            case .ours(let key, let proof)?: found.ours.append((key, proof))
            case .unproven(let key, let why)?: found.unproven.append((key, why))
            case nil: break
            }
        }
        found.ours.sort { ($0.key.creationDate ?? .distantPast) > ($1.key.creationDate ?? .distantPast) }
        return found
    }

    /// Parks the transfer `stuck` because keys carry its tag that nothing proves ours: they are named in the audit
    /// trail and left alone; nothing is made again (that would only add a key).
    private func parkUnproven(
        _ transfer: TransferRecord, _ unproven: [(key: CloudKey, why: String)], during what: String
    ) throws -> CreateConflict {
        let names = unproven.map { "\($0.key.keyID) (\($0.why))" }.joined(separator: "; ")
        let reason =
            "\(what): keys carrying this import's tag were made since its intent, and none is proven this create's: "
            + "\(names); left alone, nothing made again: review them (transferkeyd show \(transfer.importID))"
        _ = try store.apply(
            .stepFailed(error: reason, retryAt: nil), to: transfer.importID, now: clock(), actor: actor,
            detail: [
                "unproven_keys": .array(
                    unproven.map {
                        ["key_id": .string($0.key.keyID), "key_arn": .string($0.key.arn), "why": .string($0.why)]
                    })
            ])
        logger.error("\(reason)", metadata: ["transfer": "\(transfer.importID)"])
        return CreateConflict(description: reason)
    }

    // MARK: - The mark, duplicates, a lost alias

    /// The ownership mark bound to the key's ARN (`GenerateMac` + `TagResource`), recorded. Nothing without a mark key
    /// or an ARN.
    private func markKey(_ keyID: String, arn: String?, transfer: TransferRecord, in region: any CloudRegion)
        async throws
    {
        guard let marks, let arn else { return }
        let mark = try await marks.mark(keyARN: arn, importID: transfer.importID)
        try await region.tagKey(keyID, tags: [OwnershipMark.tag: mark])
        try store.recordAWSCall(
            AWSCallRecord(
                operation: "TagResource", region: transfer.region, keyID: keyID, requestID: nil,
                extra: ["tags": .array([.string(OwnershipMark.tag)]), "mark_key": .string(marks.markKeyARN)]),
            for: transfer.importID, now: clock(), actor: actor)
    }

    /// The import id of the transfer that retires a duplicate `create` made: stable (a second search finds it
    /// recorded), in the `duplicate-` form no platform's import id may take.
    public static func duplicateImportID(accountID: String, region: String, keyID: String) -> String {
        "duplicate-\(accountID)-\(region)-\(keyID)"
    }

    /// Each other key this create provably made (a duplicate of an ambiguous `CreateKey`) and that carries no alias
    /// is recorded as a transfer of its own — origin `created`, no alias, its lease over at once — so the cleanup
    /// loop retires it through the safety rules and the deletion budget, and `status`, `show` and `cancel-deletion`
    /// see it. Keys that carry the tag but nothing proves ours are named on this transfer and left alone.
    private func recordDuplicates(of keyID: String, transfer: TransferRecord, in region: any CloudRegion)
        async throws
    {
        let found = try await search(for: transfer, in: region)
        for duplicate in found.ours where duplicate.key.keyID != keyID {
            guard try await region.listAliases(keyID: duplicate.key.keyID).isEmpty else {
                logger.warning(
                    "a second key made by this create has an alias; left alone",
                    metadata: ["transfer": "\(transfer.importID)", "key": "\(duplicate.key.keyID)"])
                continue
            }
            let id = Self.duplicateImportID(
                accountID: transfer.accountID, region: transfer.region, keyID: duplicate.key.keyID)
            let facts: [String: JSONValue] = [
                "made_for": .string(transfer.importID), "key_id": .string(duplicate.key.keyID),
                "key_arn": .string(duplicate.key.arn), "proof": duplicate.proof,
                "reason": "duplicate key made by a CreateKey whose answer was lost",
            ]
            do {
                try store.record(
                    NewTransfer(
                        importID: id, accountID: transfer.accountID, region: transfer.region,
                        keyID: duplicate.key.keyID, keyARN: duplicate.key.arn, aliasName: nil, origin: .created,
                        deadline: clock(), keySeenAt: clock(), awsRecordedAt: cloud.awsNow()),
                    now: clock(), actor: actor, notes: [(.duplicateRecorded, facts)])
            } catch let error as TransferStoreError
                where error.code == .duplicateImportID || error.code == .keyAlreadyTracked
            {
                continue
            }
            try store.note(
                .duplicateRecorded, for: transfer.importID, detail: facts.merging(["transfer": .string(id)]) { $1 },
                postponeUntil: nil, now: clock(), actor: actor)
            logger.warning(
                "a second key made by this create is recorded for retirement through the safety rules",
                metadata: ["transfer": "\(transfer.importID)", "key": "\(duplicate.key.keyID)", "duplicate": "\(id)"])
        }
        if !found.unproven.isEmpty {
            try store.note(
                .duplicateUnproven, for: transfer.importID,
                detail: [
                    "keys": .array(
                        found.unproven.map { ["key_id": .string($0.key.keyID), "why": .string($0.why)] }),
                    "reason":
                        "keys carry this import's tag, made since its intent, that nothing proves ours; left alone",
                ], postponeUntil: nil, now: clock(), actor: actor)
        }
    }

    /// `CreateAlias` answered AlreadyExists: the name was taken between the check and the call. The key made for this
    /// import can never get its alias: the transfer gives the alias up and its import ends, so the cleanup loop
    /// retires the key (no alias, nothing naming it) through the safety rules and the budget. A key that meanwhile
    /// carries other aliases is no longer only ours to judge: the transfer is parked instead.
    private func abandonAfterLostAlias(
        _ alias: String, keyID: String, transfer: TransferRecord, region: any CloudRegion, _ error: CloudError
    ) async throws -> CreateConflict {
        let aliases = (try? await region.listAliases(keyID: nil)) ?? []
        let holder = aliases.first { $0.aliasName == alias }?.targetKeyID ?? "unknown"
        let others = aliases.filter { $0.targetKeyID == keyID }.map(\.aliasName)
        let what =
            "CreateAlias: \(alias) already exists in \(transfer.accountID)/\(transfer.region) (targets key \(holder))"
        guard others.isEmpty else {
            let reason =
                "\(what), and key \(keyID) made for this import carries \(others.joined(separator: ", ")); left alone"
            _ = try store.apply(
                .stepFailed(error: reason, retryAt: nil), to: transfer.importID, now: clock(), actor: actor,
                detail: error.auditDetail)
            return CreateConflict(description: reason)
        }
        var detail = error.auditDetail
        detail["holder_key_id"] = .string(holder)
        let reason =
            "\(what); key \(keyID) made for this import has no alias and is retired by the daemon through the safety "
            + "rules (transfer \(transfer.importID) is cleanup_due)"
        try store.abandonAlias(importID: transfer.importID, reason: reason, detail: detail, now: clock(), actor: actor)
        logger.warning("\(reason)", metadata: ["transfer": "\(transfer.importID)", "key": "\(keyID)"])
        return CreateConflict(description: reason)
    }

    /// `CreateAlias` unless the key already carries the alias; recorded as an `aws_call`.
    private func ensureAlias(
        _ alias: String, keyID: String, transfer: TransferRecord, region: any CloudRegion
    ) async throws {
        if try await region.listAliases(keyID: keyID).contains(where: { $0.aliasName == alias }) { return }
        let receipt = try await region.createAlias(alias, targetKeyID: keyID)
        Failpoint.hit(Failpoint.afterCreateAlias)
        try store.recordAWSCall(
            AWSCallRecord(
                operation: "CreateAlias", region: transfer.region, keyID: keyID, aliasName: alias,
                requestID: receipt.requestID),
            for: transfer.importID, now: clock(), actor: actor)
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

    /// Finishes one `creating` row: a known key gets its mark and alias and becomes `active`; an unknown key is looked
    /// for by its alias, then among unrecorded keys, and is taken only when it is provably this create's (a mark only
    /// this daemon makes, and a CreationDate after the intent by AWS's clock); no key at all, or keys nothing proves
    /// ours → `stuck`, with them named. Nothing here schedules a deletion.
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
            var current = transfer
            if current.keyID == nil {
                switch try await findKey(for: current, alias: alias, in: region) {
                case .found(let key, let proof, let foundBy):
                    current = try store.attachKey(
                        importID: transfer.importID, keyID: key.keyID, keyARN: key.arn,
                        recording: .found(
                            detail: ["found_by": .string(foundBy), "alias_name": .string(alias), "proof": proof]),
                        now: clock(), actor: actor)
                    log.notice(
                        "found the key of an interrupted create", metadata: ["key": "\(key.keyID)", "by": "\(foundBy)"])
                case .notOurs(let target, let why):
                    return try park(
                        transfer,
                        "creation never completed: \(alias) targets key \(target), which is not proven made by this "
                            + "create (\(why)); left alone",
                        log: log)
                case .unproven(let unproven):
                    _ = try parkUnproven(transfer, unproven, during: "creation never completed")
                    return .advanced(.stuck)
                case .none:
                    return try park(transfer, "creation never completed: no key was made", log: log)
                }
            }
            guard let keyID = current.keyID else { return .failed("no key") }
            if settings.isDryRun,
                !(try await region.listAliases(keyID: keyID).contains { $0.aliasName == alias })
            {
                try store.note(
                    .wouldCreateAlias, for: transfer.importID,
                    detail: ["alias_name": .string(alias), "key_id": .string(keyID)],
                    postponeUntil: settings.dryRunRecheck(after: clock()), now: clock(), actor: actor)
                return .deferred("dry run")
            }
            if let marks, let arn = current.keyARN,
                !(await marks.check(tags: try await region.keyTags(keyID), keyARN: arn))
                    .proves(importID: transfer.importID)
            {
                try await markKey(keyID, arn: arn, transfer: current, in: region)
            }
            do {
                try await ensureAlias(alias, keyID: keyID, transfer: transfer, region: region)
            } catch let error as CloudError where error.code == "AlreadyExistsException" {
                // The name went to another key meanwhile: ours can never get it.
                let conflict = try await abandonAfterLostAlias(
                    alias, keyID: keyID, transfer: current, region: region, error)
                log.error("\(conflict)")
                return .advanced((try store.transfer(importID: transfer.importID))?.state ?? .stuck)
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
        case found(CloudKey, proof: JSONValue, by: String)
        case notOurs(keyID: String, why: String)
        case unproven([(key: CloudKey, why: String)])
        case none
    }

    /// The key of a `create` that died before recording it: first by its (deterministic) alias, else — the crash
    /// fell between `CreateKey` and recording it, so there is no alias yet — among the region's keys no transfer
    /// recorded. Either way the key must be proven this create's (`judge`).
    private func findKey(for transfer: TransferRecord, alias: String, in region: any CloudRegion) async throws
        -> Search
    {
        if let found = try await region.listAliases(keyID: nil).first(where: { $0.aliasName == alias }),
            let target = found.targetKeyID
        {
            switch try await judge(target, for: transfer, in: region) {
            case .ours(let key, let proof)?: return .found(key, proof: proof, by: "alias")
            case .unproven(_, let why)?: return .notOurs(keyID: target, why: why)
            case nil:
                return .notOurs(
                    keyID: target,
                    why:
                        "it lacks this import's \(Self.importIDTag) tag, is not Enabled, or AWS made it before the intent"
                )
            }
        }
        let found = try await search(for: transfer, in: region)
        if let ours = found.ours.first { return .found(ours.key, proof: ours.proof, by: "mark") }
        if !found.unproven.isEmpty { return .unproven(found.unproven) }
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
        let retryAt = StepFailure.retryAt(error, now: clock()) {
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
