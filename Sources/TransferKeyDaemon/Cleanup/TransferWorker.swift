import Foundation
import Logging
import TransferKeyCore
import TransferKeyStore

/// Performs the next step of one transfer against AWS and records the outcome: the only code that
/// makes mutating KMS calls, and only after `SafetyRules` approved the key on evidence read moments before.
///
/// The worker gathers evidence and acts; every decision is `SafetyRules`' and goes into the audit trail with the
/// evidence it rested on.
public struct TransferWorker: Sendable {
    let store: TransferStore
    let cloud: any Cloud
    let settings: CleanupSettings
    let logger: Logger
    let backoff: Backoff
    let clock: @Sendable () -> Date
    let jitter: @Sendable () -> Double
    let actor: String
    let wallClock: WallClockWatch?
    /// Verifies a discovered key's ownership mark; nil when no `ownership_mark_key` is configured.
    let marks: OwnershipMarks?

    /// Creates a worker; `clock` and `jitter` are injected so tests can drive time and randomness. `wallClock`
    /// tells whether the host's clock jumped since AWS last answered (leases then wait for AWS's clock).
    public init(
        store: TransferStore, cloud: any Cloud, settings: CleanupSettings, logger: Logger,
        backoff: Backoff = Backoff(), clock: @escaping @Sendable () -> Date = { Date() },
        jitter: @escaping @Sendable () -> Double = { Double.random(in: 0...1) }, actor: String = "daemon",
        wallClock: WallClockWatch? = nil, marks: OwnershipMarks? = nil
    ) {
        self.marks = marks
        self.store = store
        self.cloud = cloud
        self.settings = settings
        self.logger = logger
        self.backoff = backoff
        self.clock = clock
        self.jitter = jitter
        self.actor = actor
        self.wallClock = wallClock
    }

    /// Runs steps on `transfer` until it waits for something (AWS's deletion date, a retry time,
    /// the import) or an operator. A key whose import ended is scheduled and loses its alias in one go.
    @discardableResult
    public func work(on transfer: TransferRecord, budget: DeletionBudget) async -> [StepOutcome] {
        var outcomes: [StepOutcome] = []
        var current = transfer
        // What the scheduling step described, handed to the alias step: it then lists aliases again (the
        // re-check) without describing the key and its replicas a second time. Five KMS calls per key, not six.
        var carried: Survey?
        for _ in 0..<4 {
            let outcome = await step(current, budget: budget, carried: &carried)
            outcomes.append(outcome)
            guard case .advanced(let state) = outcome, [.cleanupDue, .keyScheduled].contains(state) else { break }
            do {
                guard let reloaded = try store.transfer(importID: current.importID) else { break }
                current = reloaded
            } catch {
                // The step is recorded; the next turn goes on from the ledger.
                logger.warning(
                    "could not read the transfer back to go on in this pass; the next turn does",
                    metadata: ["transfer": "\(current.importID)", "error": "\(error)"])
                break
            }
        }
        return outcomes
    }

    /// Performs exactly one step for the transfer's current state.
    public func step(_ transfer: TransferRecord, budget: DeletionBudget) async -> StepOutcome {
        var carried: Survey?
        return await step(transfer, budget: budget, carried: &carried)
    }

    func step(_ transfer: TransferRecord, budget: DeletionBudget, carried: inout Survey?) async -> StepOutcome {
        var log = logger
        log[metadataKey: "transfer"] = "\(transfer.importID)"
        log[metadataKey: "account"] = "\(transfer.accountID)"
        log[metadataKey: "region"] = "\(transfer.region)"
        guard let keyID = transfer.keyID else { return .deferred("no key recorded yet") }
        do {
            let work = Lifecycle.work(for: transfer.state)
            if work == .verifyAndSchedule || work == .verifyAndRemoveAliases,
                let disagreement = try store.rowDisagreement(transfer)
            {
                // Decisions read verified rows only: an edited row or a forged event is refused, nothing touched.
                log.critical(
                    "the transfer's row disagrees with its audit trail: \(disagreement); nothing is touched, an operator must restore the ledger"
                )
                return try refuse(
                    transfer, rule: .ledgerMismatch, reason: "the row disagrees with its audit trail: \(disagreement)",
                    detail: [:], log: log)
            }
            switch work {
            case .expireLease:
                // The work loop only hands over an active transfer once its lease ran out by the host's clock.
                return try expireLease(transfer, log: log)
            case .verifyAndSchedule:
                return try await verifyAndSchedule(
                    transfer, keyID: keyID, budget: budget, carried: &carried, log: log)
            case .verifyAndRemoveAliases:
                return try await verifyAndRemoveAliases(transfer, keyID: keyID, carried: carried, log: log)
            case .confirmDeletion:
                return try await confirmDeletion(transfer, keyID: keyID, log: log)
            case .settleCreation, .none:
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

    // MARK: - The lease

    /// How far the host's clock may run ahead of AWS's before a lease waits for AWS's.
    static let clockTolerance: TimeInterval = 60

    /// Ends the import at its lease, by AWS's clock: a host clock that runs ahead (or jumped) expires nothing early.
    private func expireLease(_ transfer: TransferRecord, log: Logger) throws -> StepOutcome {
        let now = clock()
        let deadline = transfer.deadlineAt
        var detail: [String: JSONValue] = ["host_time": .string(Timestamp.string(now))]
        if let awsNow = cloud.awsNow() {
            detail["aws_time"] = .string(Timestamp.string(awsNow))
            // Clocks a minute apart are normal (and the Date header has whole seconds); hours apart are not.
            if awsNow.addingTimeInterval(Self.clockTolerance) < deadline {
                let ahead = Int(deadline.timeIntervalSince(awsNow))
                log.warning(
                    "the host's clock is ahead of AWS's: the lease has \(ahead)s left by AWS's clock; not expired",
                    metadata: ["deadline": "\(Timestamp.string(deadline))", "aws_time": "\(Timestamp.string(awsNow))"])
                return try postpone(
                    transfer, rule: .clockUnconfirmed,
                    reason:
                        "lease ends \(Timestamp.string(deadline)) by AWS's clock, \(ahead)s from now; the host's clock is ahead",
                    retryAt: now.addingTimeInterval(deadline.timeIntervalSince(awsNow)), detail: detail, log: log)
            }
        } else if let jump = wallClock?.unconfirmedJump {
            log.warning(
                "the wall clock jumped; no lease expires on it alone until AWS's clock confirms the time",
                metadata: ["jump_seconds": "\(Int(jump))"])
            return try postpone(
                transfer, rule: .clockUnconfirmed,
                reason: "the host's clock jumped \(Int(jump))s; waiting for AWS's clock before ending the lease",
                retryAt: now.addingTimeInterval(60), detail: detail, log: log)
        }
        let record = try store.apply(
            .importEnded(.expired), to: transfer.importID, now: now, actor: actor, detail: detail)
        // An adopted orphan has no import to wait for: its "lease" is only the grace it was given.
        log.notice(
            transfer.origin == .discovered
                ? "orphan's grace over; cleanup is due" : "import's lease expired (max_transfer_age); cleanup is due",
            metadata: ["deadline": "\(Timestamp.string(transfer.deadlineAt))"])
        return .advanced(record.state)
    }

    // MARK: - Evidence

    /// The key in one region: its description, its aliases there, and the client for that region.
    struct Place: Sendable {
        var region: String
        var client: any CloudRegion
        var key: CloudKey
        var aliases: [CloudAlias]

        var evidence: KeyEvidence { key.evidence(region: region, aliases: aliases) }
    }

    /// Everything read about a transfer's key before a decision.
    struct Survey: Sendable {
        /// Where the key's primary lives (the transfer's region, unless the recorded key is a replica).
        var lead: Place
        var replicas: [Place]
        var evidence: DeletionEvidence
        var claims: TransferClaims

        /// Records the state AWS answered with for the key in `region` (after `ScheduleKeyDeletion`).
        mutating func setKeyState(_ state: KMSKeyState, in region: String) {
            if lead.region == region { lead.key.keyState = state }
            for index in replicas.indices where replicas[index].region == region {
                replicas[index].key.keyState = state
            }
        }

        /// The lead, then the replicas: every region the key lives in.
        var places: [Place] { [lead] + replicas }

        /// The regions where the key is pending deletion.
        var pendingDeletion: [Place] { places.filter(\.key.isPendingDeletion) }
        /// The key's state in `region`, if the survey has it.
        func state(in region: String) -> KMSKeyState? { places.first { $0.region == region }?.key.keyState }
    }

    /// Describes the key and lists its aliases in its region and in every replica's (a recorded replica leads to
    /// its primary, whose cleanup schedules every replica), reads tags for a discovered key, and collects the
    /// claims of the transfer's record. Nil when the key does not exist where it was recorded.
    private func survey(_ transfer: TransferRecord, keyID: String) async throws -> Survey? {
        guard let lead = try await describeLead(transfer, keyID: keyID) else { return nil }
        let replicas = try await describeReplicas(of: lead, transfer: transfer, keyID: keyID)
        let acceptedBy = try store.provenanceAcceptedBy(importID: transfer.importID)
        // Tags and the mark only matter for a discovered key whose provenance no operator accepted: for a tracked or
        // created one the ledger is the evidence, and the hot path spends no call on it.
        var tags: [String: String]?
        var mark: OwnershipMark?
        if transfer.origin == .discovered, acceptedBy == nil {
            tags = try await lead.client.keyTags(keyID)
            mark = await OwnershipMarks.check(marks, tags: tags, keyARN: lead.key.arn)
        }
        var claims = TransferClaims(
            origin: transfer.origin, recordedKeyID: keyID, recordedAlias: transfer.aliasName,
            recordedAt: transfer.awsRecordedAt,
            aliasesOfOtherLiveTransfers: try aliasesOfOtherLiveTransfers(on: [lead] + replicas, of: transfer),
            provenanceAcceptedBy: acceptedBy, recordedAccountID: transfer.accountID,
            expectsNoAlias: transfer.origin == .created && transfer.aliasName == nil,
            importEndedAt: importEnded(transfer))
        // Only in disable_first mode is a Disabled key possibly this daemon's doing: one query, only then.
        if settings.disableFirst != nil {
            claims.disabledByDaemonAt = try store.disabledByDaemonAt(importID: transfer.importID)
        }
        let evidence = DeletionEvidence(
            key: lead.evidence, replicas: replicas.map(\.evidence), tags: tags, mark: mark, awsNow: cloud.awsNow())
        return Survey(lead: lead, replicas: replicas, evidence: evidence, claims: claims)
    }

    /// When the import ended by AWS's clock: the row's `completed_at` carried onto AWS's clock by the offset AWS's
    /// latest answer showed (the host's clock may be hours off); for a discovered key, AWS's time of its adoption.
    private func importEnded(_ transfer: TransferRecord) -> Date? {
        if let completed = transfer.completedAt {
            guard let awsNow = cloud.awsNow() else { return completed }
            return completed.addingTimeInterval(awsNow.timeIntervalSince(clock()))
        }
        return transfer.origin == .discovered ? transfer.awsRecordedAt : nil
    }

    /// The key where its primary lives, with its aliases there: described in the transfer's region (which marks it
    /// seen), then in its primary's region if the recorded key is a replica. Nil when the key does not exist where
    /// it was recorded.
    func describeLead(_ transfer: TransferRecord, keyID: String) async throws -> Place? {
        let home = cloud.region(accountID: transfer.accountID, region: transfer.region)
        var region = transfer.region
        var client = home
        var key: CloudKey
        do {
            key = try await home.describeKey(keyID)
        } catch let error as CloudError where error.kind == .notFound {
            return nil
        }
        // Best effort: a mark that could not be written only makes a later NotFound park the transfer `stuck`
        // instead of recording it `deleted` — the safe direction — and the step's own records say the rest.
        do {
            try store.markKeySeen(importID: transfer.importID, keyARN: key.arn, now: clock())
        } catch {
            logger.warning(
                "could not record that AWS described the key; the step goes on",
                metadata: ["transfer": "\(transfer.importID)", "error": "\(error)"])
        }
        if let primary = key.primaryRegion, primary != transfer.region {
            // A replica's own deletion would leave the primary, and its alias, alive for ever.
            region = primary
            client = cloud.region(accountID: transfer.accountID, region: primary)
            key = try await client.describeKey(keyID)
        }
        let aliases = try await client.listAliases(keyID: keyID)
        return Place(region: region, client: client, key: key, aliases: aliases)
    }

    /// The lead's replicas, each described and with its aliases listed in its own region; a replica AWS does not
    /// know (any more) is left out.
    func describeReplicas(of lead: Place, transfer: TransferRecord, keyID: String) async throws -> [Place] {
        var replicas: [Place] = []
        for replicaRegion in lead.key.replicaRegions where replicaRegion != lead.region {
            let client = cloud.region(accountID: transfer.accountID, region: replicaRegion)
            let replica: CloudKey
            do {
                replica = try await client.describeKey(keyID)
            } catch let error as CloudError where error.kind == .notFound {
                continue
            }
            let aliases = try await client.listAliases(keyID: keyID)
            replicas.append(Place(region: replicaRegion, client: client, key: replica, aliases: aliases))
        }
        return replicas
    }

    /// Which of the aliases on `places` another live transfer of the account recorded.
    private func aliasesOfOtherLiveTransfers(on places: [Place], of transfer: TransferRecord) throws -> Set<String> {
        try store.aliasNamesOfOtherLiveTransfers(
            places.flatMap(\.aliases).map(\.aliasName), accountID: transfer.accountID, excluding: transfer.importID)
    }

    /// The survey of the scheduling step with every region's aliases listed anew (and the claims that depend on
    /// them): the re-check after `ScheduleKeyDeletion`, without describing the key again.
    private func relisted(_ carried: Survey, transfer: TransferRecord, keyID: String) async throws -> Survey {
        var survey = carried
        survey.lead.aliases = try await survey.lead.client.listAliases(keyID: keyID)
        for index in survey.replicas.indices {
            survey.replicas[index].aliases = try await survey.replicas[index].client.listAliases(keyID: keyID)
        }
        survey.claims.aliasesOfOtherLiveTransfers = try aliasesOfOtherLiveTransfers(on: survey.places, of: transfer)
        let usage = carried.evidence.usage
        survey.evidence = DeletionEvidence(
            key: survey.lead.evidence, replicas: survey.replicas.map(\.evidence), tags: nil, awsNow: cloud.awsNow())
        // The grants read before scheduling are the ones the grant step retires: no second ListGrants.
        survey.evidence.usage = usage
        return survey
    }

    // MARK: - Scheduling: gather the evidence, decide, act on the verdict

    /// Gathers the evidence (``survey(_:keyID:)``), asks `SafetyRules` for a verdict, and acts on it: refuse, defer,
    /// or `ScheduleKeyDeletion` for the key and every replica.
    private func verifyAndSchedule(
        _ transfer: TransferRecord, keyID: String, budget: DeletionBudget, carried: inout Survey?, log: Logger
    ) async throws -> StepOutcome {
        // Reads for a key that cannot be scheduled now are wasted: the budget is looked at first.
        guard settings.isDryRun || budget.allowsMoreWork else {
            return .deferred("deletion budget spent")
        }
        guard var survey = try await survey(transfer, keyID: keyID) else {
            return try await settleNotFound(transfer, keyID: keyID, log: log)
        }
        var verdict = SafetyRules.verdict(
            claims: survey.claims, evidence: survey.evidence, policy: settings.safetyPolicy)
        if case .approved = verdict {
            // What AWS records about the key's use, read only for a key every other rule approves: GetKeyLastUsage
            // has a quota of 5 per second, spent where it decides something.
            survey.evidence.usage = try await survey.lead.client.keyUsage(keyID)
            // Only this pass reads how often the key was already found in use: no query on every step.
            survey.claims.inUseDeferrals = try store.deferrals(
                importID: transfer.importID, rule: SafetyRule.inUse.rawValue)
            verdict = SafetyRules.verdict(
                claims: survey.claims, evidence: survey.evidence, policy: settings.safetyPolicy)
        }
        let detail = decisionDetail(survey, transfer: transfer)
        var action = plan(verdict, survey: survey, watchSettled: false)
        if action == .disableFirst, let watch = settings.disableFirst {
            if let outcome = try await disableFirst(
                transfer, keyID: keyID, survey: survey, watch: watch, detail: detail, log: log)
            {
                return outcome
            }
            action = plan(verdict, survey: survey, watchSettled: true)
        }
        return try await perform(
            action, transfer: transfer, keyID: keyID, survey: survey, detail: detail, budget: budget,
            carried: &carried, log: log)
    }

    /// `CleanupPlan.next` for this survey: where the key lives and where it is pending deletion already.
    private func plan(_ verdict: SafetyVerdict, survey: Survey, watchSettled: Bool) -> CleanupAction {
        CleanupPlan.next(
            verdict: verdict, regions: survey.places.map(\.region),
            pendingRegions: survey.pendingDeletion.map(\.region), dryRun: settings.isDryRun,
            disableFirst: settings.disableFirst != nil, watchSettled: watchSettled,
            recheckInterval: settings.recheckInterval)
    }

    /// What the decision rested on, for the audit event: the evidence and, for a discovered key, its provenance.
    private func decisionDetail(_ survey: Survey, transfer: TransferRecord) -> [String: JSONValue] {
        var detail: [String: JSONValue] = ["evidence": survey.evidence.auditValue]
        if transfer.origin == .discovered {
            detail["provenance"] =
                survey.claims.provenanceAcceptedBy.map { ["kind": "accepted", "accepted_by": .string($0)] }
                ?? SafetyRules.provenance(
                    of: survey.evidence.key, mark: survey.evidence.mark,
                    at: [survey.claims.recordedAt, survey.evidence.awsNow].compactMap { $0 }.min(),
                    policy: settings.safetyPolicy
                ).auditValue
        }
        return detail
    }

    /// Performs what the plan chose. The deletion budget is taken here, just before the calls it pays for: lanes
    /// share it, so the plan cannot hold it.
    private func perform(
        _ action: CleanupAction, transfer: TransferRecord, keyID: String, survey: Survey,
        detail: [String: JSONValue], budget: DeletionBudget, carried: inout Survey?, log: Logger
    ) async throws -> StepOutcome {
        switch action {
        case .refuse(let rule, let reason):
            return try refuse(transfer, rule: rule, reason: reason, detail: detail, log: log)
        case .cancelDeletionAndRefuse(let rule, let reason, let regions):
            return try await cancelAndRefuse(
                transfer, places: survey.places.filter { regions.contains($0.region) }, rule: rule, reason: reason,
                detail: detail, log: log)
        case .postpone(let rule, let reason, let after):
            return try postpone(
                transfer, rule: rule, reason: reason, retryAt: clock().addingTimeInterval(after), detail: detail,
                log: log)
        case .recordAlreadyPending:
            return try recordAlreadyPending(transfer, survey: survey, detail: detail, log: log)
        case .disableFirst:
            // Planned only with disable_first configured; its watch is settled before scheduling is planned.
            return .deferred("disable_first has not settled the watch")
        case .noteWouldSchedule:
            return try noteWouldSchedule(
                transfer, keyID: keyID, survey: survey, detail: disabledSince(detail, survey), log: log)
        case .schedule(let regions):
            guard budget.take(regions.count) else {
                log.info(
                    "deletion budget spent; the key waits for a later cycle", metadata: ["calls": "\(regions.count)"])
                return .deferred("deletion budget spent")
            }
            let places = survey.places.filter { regions.contains($0.region) }
            let scheduled = try await scheduleEverywhere(places, keyID: keyID, survey: survey, transfer: transfer)
            let outcome = try recordScheduled(
                transfer, survey: survey, scheduled: scheduled, detail: disabledSince(detail, survey), log: log)
            // Handed to the alias step of this pass: it lists the aliases again without describing the key again.
            carried = scheduled.surveyAfter
            return outcome
        }
    }

    /// With `disable_first`, the decision records since when this daemon had the key disabled.
    private func disabledSince(_ detail: [String: JSONValue], _ survey: Survey) -> [String: JSONValue] {
        guard settings.disableFirst != nil else { return detail }
        var detail = detail
        detail["disabled_since"] = .string(survey.claims.disabledByDaemonAt.map(Timestamp.string))
        return detail
    }

    /// Scheduled by an earlier run that died before recording it, or by someone else: recorded, and only the
    /// aliases go.
    private func recordAlreadyPending(
        _ transfer: TransferRecord, survey: Survey, detail: [String: JSONValue], log: Logger
    ) throws -> StepOutcome {
        var settled = detail
        settled["settled"] = true
        settled["key_state"] = .string(survey.lead.key.keyState.awsName)
        // Ours or somebody else's? An intent to schedule without the answer recorded is ours: a call performed
        // whose answer was lost or unusable, recorded now as our call — not settled like a stranger's.
        let lost = try store.unansweredIntents(importID: transfer.importID, operation: "ScheduleKeyDeletion")
        try settleOpenIntents(
            "ScheduleKeyDeletion", keyID: survey.lead.key.keyID, keyState: { region in survey.state(in: region) },
            for: transfer
        ) { _ in false }
        settled["scheduled_by"] = .string(lost.isEmpty ? "not recorded by transferkeyd" : "transferkeyd (answer lost)")
        let record = try store.apply(
            .keyScheduled(deletionDate: survey.lead.key.deletionDate), to: transfer.importID, now: clock(),
            actor: actor, detail: settled)
        log.notice(
            "key already pending deletion; recorded",
            metadata: ["deletion_date": "\(survey.lead.key.deletionDate.map(Timestamp.string) ?? "-")"])
        return .advanced(record.state)
    }

    /// A dry run: notes what would be scheduled, and looks again after the recheck interval.
    private func noteWouldSchedule(
        _ transfer: TransferRecord, keyID: String, survey: Survey, detail: [String: JSONValue], log: Logger
    ) throws -> StepOutcome {
        var would = detail
        would["key_id"] = .string(keyID)
        would["pending_window_days"] = .int(Int64(settings.pendingWindowDays))
        would["replica_regions"] = .array(survey.replicas.map { .string($0.region) })
        would["aliases"] = .array(survey.places.flatMap(\.aliases).map { .string($0.aliasName) })
        try store.note(
            .wouldScheduleKeyDeletion, for: transfer.importID, detail: would,
            postponeUntil: settings.dryRunRecheck(after: clock()), now: clock(), actor: actor)
        log.notice("dry run: would schedule the key for deletion")
        return .deferred("dry run")
    }

    /// What `ScheduleKeyDeletion` in every region left behind.
    struct ScheduledDeletion: Sendable {
        /// The deletion date of the key in its lead region (AWS's answer, or the date it already had).
        var leadDeletionDate: Date?
        /// The request id of the lead region's call, if it was made.
        var leadRequestID: String?
        /// The survey with the key states AWS answered, handed to the alias step.
        var surveyAfter: Survey
        /// Each call's `aws_call` record, written with the state change (one commit; the intents are durable).
        var records: [AWSCallRecord] = []
    }

    /// `ScheduleKeyDeletion` in each of `places`, lead first. Each call is recorded as soon as AWS answered, so a
    /// failure later in the step loses no record.
    private func scheduleEverywhere(
        _ places: [Place], keyID: String, survey: Survey, transfer: TransferRecord
    ) async throws -> ScheduledDeletion {
        // An earlier call without an answer, where AWS shows the key not pending: recorded before calling again.
        try settleOpenIntents(
            "ScheduleKeyDeletion", keyID: keyID, keyState: { region in survey.state(in: region) }, for: transfer
        ) { intent in places.contains { $0.region == intent.region } }
        // The primary goes first: a replica alone would leave the primary's alias behind if the step stopped midway.
        var scheduled = ScheduledDeletion(
            leadDeletionDate: survey.lead.key.deletionDate, leadRequestID: nil, surveyAfter: survey)
        for (index, place) in places.enumerated() {
            if index > 0 || place.region != survey.lead.region { Failpoint.hit(Failpoint.midReplica) }
            // The outbox: the intent is recorded before the call, so a call whose answer (or record) is lost is
            // still known as ours (`recordAlreadyPending`).
            try announceCall("ScheduleKeyDeletion", region: place.region, keyID: keyID, for: transfer)
            let answer: ScheduleAnswer
            do {
                answer = try await schedule(keyID, at: place)
            } catch {
                // The regions already answered keep their records; this one's intent stays open.
                for record in scheduled.records { try recordCall(record, for: transfer) }
                throw error
            }
            scheduled.surveyAfter.setKeyState(answer.keyState, in: place.region)
            if place.region == survey.lead.region {
                Failpoint.hit(Failpoint.afterScheduleKeyDeletion)
                scheduled.leadDeletionDate = answer.deletionDate
                scheduled.leadRequestID = answer.record.requestID
            }
            scheduled.records.append(answer.record)
        }
        return scheduled
    }

    /// Records the transfer `key_scheduled` (with the evidence of `survey`, read before scheduling).
    private func recordScheduled(
        _ transfer: TransferRecord, survey: Survey, scheduled: ScheduledDeletion, detail: [String: JSONValue],
        log: Logger
    ) throws -> StepOutcome {
        var facts = detail
        facts["replica_regions"] = .array(survey.replicas.map { .string($0.region) })
        facts["settled"] = .bool(survey.lead.key.isPendingDeletion)
        let record = try store.apply(
            .keyScheduled(deletionDate: scheduled.leadDeletionDate), to: transfer.importID, now: clock(), actor: actor,
            detail: facts, calls: scheduled.records)
        Failpoint.hit(Failpoint.afterKeyScheduled)
        log.notice(
            "key scheduled for deletion",
            metadata: [
                "deletion_date": "\(record.keyDeletionDate.map(Timestamp.string) ?? "-")",
                "replicas": "\(survey.replicas.count)",
                "aws.request_id": "\(scheduled.leadRequestID ?? "-")",
            ])
        return .advanced(record.state)
    }

    /// AWS's answer to `ScheduleKeyDeletion` in one region, and the audit record of the call.
    struct ScheduleAnswer: Sendable {
        var deletionDate: Date?
        var keyState: KMSKeyState
        var record: AWSCallRecord
    }

    /// `ScheduleKeyDeletion` in one region; "already pending" counts as done.
    private func schedule(_ keyID: String, at place: Place) async throws -> ScheduleAnswer {
        do {
            let receipt = try await place.client.scheduleKeyDeletion(
                keyID, pendingWindowDays: settings.pendingWindowDays)
            return ScheduleAnswer(
                deletionDate: receipt.deletionDate,
                keyState: receipt.keyState ?? .pendingDeletion,
                record: AWSCallRecord(
                    operation: "ScheduleKeyDeletion", region: place.region, keyID: keyID, requestID: receipt.requestID,
                    keyState: place.key.keyState,
                    extra: [
                        "pending_window_days": .int(Int64(settings.pendingWindowDays)),
                        "deletion_date": .string(receipt.deletionDate.map(Timestamp.string)),
                    ]))
        } catch let error as CloudError where error.kind == .invalidState {
            // KMSInvalidStateException is "already done" only if the key really is pending deletion.
            let key = try await place.client.describeKey(keyID)
            guard key.isPendingDeletion else { throw error }
            return ScheduleAnswer(
                deletionDate: key.deletionDate, keyState: key.keyState,
                record: AWSCallRecord(
                    operation: "ScheduleKeyDeletion", region: place.region, keyID: keyID, requestID: error.requestID,
                    outcome: .alreadyPending, keyState: key.keyState))
        }
    }

    /// After scheduling: read the aliases again in every region (the re-check is also the list of aliases to
    /// delete). A new alias outside the prefix, or another live import's, cancels the deletion at once; otherwise
    /// `DeleteAlias` for every prefixed alias, here and in replica regions.
    private func verifyAndRemoveAliases(
        _ transfer: TransferRecord, keyID: String, carried: Survey?, log: Logger
    ) async throws -> StepOutcome {
        guard let survey = try await surveyAfterScheduling(transfer, keyID: keyID, carried: carried) else {
            // The key is already gone (it was scheduled, so it was seen): its aliases went with it.
            return try settleGone(transfer, log: log)
        }
        if let reason = changeDuringDeletion(survey) {
            return try await cancelAndRefuse(
                transfer, places: survey.pendingDeletion, rule: .changedDuringDeletion, reason: reason,
                detail: ["evidence": survey.evidence.auditValue], log: log)
        }
        if let outcome = try await cancelOnNewReplicas(survey, transfer: transfer, keyID: keyID, log: log) {
            return outcome
        }
        let owned = survey.places.flatMap { place in
            place.aliases.map(\.aliasName).filter { SafetyRules.isOwnedAlias($0, prefix: settings.aliasPrefix) }
                .sorted().map { (place: place, alias: $0) }
        }
        if settings.isDryRun {
            try store.note(
                .wouldDeleteAlias, for: transfer.importID,
                detail: ["aliases": .array(owned.map { .string($0.alias) })],
                postponeUntil: settings.dryRunRecheck(after: clock()), now: clock(), actor: actor)
            return .deferred("dry run")
        }
        // Grants first: while the key still carries its prefixed alias, the policy's alias condition covers the call.
        let retired = try await retireImportGrants(transfer, keyID: keyID, survey: survey, log: log)
        // A DeleteAlias announced earlier without its answer: done if AWS no longer lists the alias.
        try settleOpenIntents(
            "DeleteAlias", keyID: keyID, subjectName: "alias_name", keyState: { region in survey.state(in: region) },
            for: transfer
        ) { intent in owned.contains { $0.place.region == intent.region && $0.alias == intent.subject } }
        // Each call's record is written with the state change (one commit; the intents are durable), or before the
        // step gives up.
        var calls: [AWSCallRecord] = []
        do {
            for (place, alias) in owned {
                try announceCall(
                    "DeleteAlias", region: place.region, keyID: keyID, subject: ("alias_name", alias), for: transfer)
                calls.append(try await deleteAlias(alias, at: place))
            }
            try await confirmAliasesGone(survey: survey, keyID: keyID)
        } catch {
            for call in calls { try recordCall(call, for: transfer) }
            throw error
        }
        let record = try store.apply(
            .aliasesRemoved, to: transfer.importID, now: clock(), actor: actor,
            detail: [
                "aliases_deleted": .int(Int64(owned.count)), "grants_retired": .int(Int64(retired)),
                "evidence": survey.evidence.auditValue,
            ], calls: calls)
        Failpoint.hit(Failpoint.afterAliasesRemoved)
        log.notice("aliases removed; waiting for AWS to delete the key", metadata: ["aliases": "\(owned.count)"])
        return .advanced(record.state)
    }

    /// Every region, every time: a multi-Region key's replica set is read again after scheduling. A replica made
    /// while `ScheduleKeyDeletion` was in flight means somebody is spreading the key, not retiring it: the deletion
    /// is cancelled everywhere and the transfer refused (`changed_during_deletion`) for an operator — the safe
    /// direction, and no `ScheduleKeyDeletion` outside the one gate. Nil when the step goes on.
    private func cancelOnNewReplicas(
        _ survey: Survey, transfer: TransferRecord, keyID: String, log: Logger
    ) async throws -> StepOutcome? {
        guard survey.lead.key.multiRegionKeyType != nil else { return nil }
        let lead = try await survey.lead.client.describeKey(keyID)
        let known = Set(survey.places.map(\.region))
        let added = lead.replicaRegions.filter { !known.contains($0) }.sorted()
        guard !added.isEmpty else { return nil }
        var fresh = survey.lead
        fresh.key = lead
        let newPlaces = try await describeReplicas(of: fresh, transfer: transfer, keyID: keyID)
            .filter { added.contains($0.region) }
        return try await cancelAndRefuse(
            transfer, places: survey.pendingDeletion + newPlaces.filter(\.key.isPendingDeletion),
            rule: .changedDuringDeletion,
            reason: "key \(keyID) was replicated to \(added.joined(separator: ", ")) while its deletion was scheduled",
            detail: [
                "evidence": survey.evidence.auditValue, "new_replica_regions": .array(added.map { .string($0) }),
            ], log: log)
    }

    /// The aliases and key states now: the survey handed over by the scheduling step in this pass with its aliases
    /// listed again, or a fresh one; nil when the key is gone.
    private func surveyAfterScheduling(
        _ transfer: TransferRecord, keyID: String, carried: Survey?
    ) async throws -> Survey? {
        if let carried, carried.claims.recordedKeyID == keyID {
            return try await relisted(carried, transfer: transfer, keyID: keyID)
        }
        return try await survey(transfer, keyID: keyID)
    }

    /// Why the deletion must be cancelled — a region's key now carries a foreign alias or another live transfer's
    /// (`SafetyRules.recheckAfterScheduling`) — or nil when nothing changed.
    private func changeDuringDeletion(_ survey: Survey) -> String? {
        survey.places.lazy.compactMap {
            SafetyRules.recheckAfterScheduling($0.evidence, claims: survey.claims, prefix: self.settings.aliasPrefix)
        }.first
    }

    /// A 200 to `DeleteAlias` is not believed without looking: the key's aliases are listed again in every region,
    /// and while AWS still shows a prefixed one the step fails transiently (a garbled 200 for a call not performed,
    /// or AWS's eventual consistency) and is tried again — deleting again, or finding it gone — before the row may
    /// say `cleaned`.
    private func confirmAliasesGone(survey: Survey, keyID: String) async throws {
        for place in survey.places {
            let left = try await place.client.listAliases(keyID: keyID).map(\.aliasName)
                .filter { SafetyRules.isOwnedAlias($0, prefix: settings.aliasPrefix) }
            guard left.isEmpty else {
                throw CloudError(
                    kind: .transient, code: "AliasStillListed",
                    message: "after DeleteAlias, \(place.region) still lists \(left.sorted().joined(separator: ", "))",
                    operation: "ListAliases")
            }
        }
    }

    /// Deletes one of our aliases in its region; returns the call's record (an alias already gone counts as deleted).
    private func deleteAlias(_ alias: String, at place: Place) async throws -> AWSCallRecord {
        let call: AWSCallRecord
        do {
            let receipt = try await place.client.deleteAlias(alias)
            Failpoint.hit(Failpoint.afterDeleteAlias)
            call = AWSCallRecord(
                operation: "DeleteAlias", region: place.region, aliasName: alias, requestID: receipt.requestID,
                keyState: place.key.keyState)
        } catch let error as CloudError where error.kind == .notFound {
            call = AWSCallRecord(
                operation: "DeleteAlias", region: place.region, aliasName: alias, requestID: error.requestID,
                outcome: .alreadyGone, keyState: place.key.keyState)
        }
        return call
    }

    /// After the deletion date: has AWS deleted the key?
    private func confirmDeletion(
        _ transfer: TransferRecord, keyID: String, log: Logger
    ) async throws -> StepOutcome {
        let region = cloud.region(accountID: transfer.accountID, region: transfer.region)
        let key: CloudKey
        do {
            key = try await region.describeKey(keyID)
        } catch let error as CloudError where error.kind == .notFound {
            return try settleGone(transfer, log: log)
        }
        if key.isPendingDeletion, let alive = try await replicaNotPending(transfer, keyID: keyID, key: key) {
            // A replica's deletion was cancelled outside transferkeyd: the primary waits in PendingReplicaDeletion
            // for ever, so the row must not wait with it.
            let record = try store.apply(
                .deletionCancelled, to: transfer.importID, now: clock(), actor: actor,
                detail: [
                    "key_state": .string(alive.key.keyState.awsName), "region": .string(alive.region),
                    "reason": .string("deletion cancelled outside transferkeyd in \(alive.region)"),
                ])
            log.warning(
                "a replica is no longer pending deletion: someone cancelled it outside transferkeyd",
                metadata: ["region": "\(alive.region)", "key_state": "\(alive.key.keyState)"])
            return .advanced(record.state)
        }
        if key.isPendingDeletion {
            let recheck = max(key.deletionDate ?? clock(), clock()).addingTimeInterval(settings.confirmInterval)
            let record = try store.apply(
                .keyStillPending(recheckAt: recheck), to: transfer.importID, now: clock(), actor: actor,
                detail: ["key_state": .string(key.keyState.awsName)])
            return .advanced(record.state)
        }
        // Someone cancelled the deletion outside transferkeyd: record it and tell the operator.
        let record = try store.apply(
            .deletionCancelled, to: transfer.importID, now: clock(), actor: actor,
            detail: ["key_state": .string(key.keyState.awsName), "reason": "deletion cancelled outside transferkeyd"])
        log.warning(
            "the key is no longer pending deletion: someone cancelled it outside transferkeyd",
            metadata: ["key_state": "\(key.keyState)"])
        return .advanced(record.state)
    }

    /// For a multi-Region key: the first region (primary or replica) where it is no longer pending deletion, or nil.
    private func replicaNotPending(_ transfer: TransferRecord, keyID: String, key: CloudKey) async throws -> Place? {
        guard key.multiRegionKeyType != nil, let lead = try await describeLead(transfer, keyID: keyID) else {
            return nil
        }
        let places = [lead] + (try await describeReplicas(of: lead, transfer: transfer, keyID: keyID))
        return places.first { !$0.key.isPendingDeletion }
    }

    // MARK: - Outcomes

    /// One audit event (`aws_call`) for one mutating AWS call, written right after AWS answered.
    /// The outbox: an `aws_call_intent` event written before a mutating call, so a call whose answer (or whose
    /// record) is lost is still known as ours. `subject` is the alias (`alias_name`) or grant (`grant_id`) it acts on.
    func announceCall(
        _ operation: String, region: String, keyID: String, subject: (name: String, value: String)? = nil,
        for transfer: TransferRecord
    ) throws {
        var detail: [String: JSONValue] = [
            "operation": .string(operation), "region": .string(region), "key_id": .string(keyID),
        ]
        if let subject { detail[subject.name] = .string(subject.value) }
        try store.note(
            .awsCallIntent, for: transfer.importID, detail: detail, postponeUntil: nil, now: clock(), actor: actor)
    }

    /// Answers every open intent of `operation` from what AWS shows now, so each announced call has its `aws_call`
    /// event: done (`stillToDo` false) is our call with its answer lost (`answer_lost`); not done is `unconfirmed`
    /// (not performed, or not visible yet) and the step calls again, announcing anew.
    func settleOpenIntents(
        _ operation: String, keyID: String, subjectName: String? = nil, keyState: (String) -> KMSKeyState?,
        for transfer: TransferRecord, stillToDo: (TransferStore.OpenIntent) -> Bool
    ) throws {
        let open = try store.openIntents(importID: transfer.importID, operation: operation)
        guard !open.isEmpty else { return }
        // A call AWS answered with an error failed its step: that answer (request id, code) is the call's.
        let failure = try store.latestFailure(importID: transfer.importID, operation: operation)
        for intent in open {
            let done = !stillToDo(intent)
            var extra: [String: JSONValue] = [:]
            if done {
                extra["note"] = "performed by transferkeyd; its answer was lost or unusable, AWS shows it done"
            } else if let failure {
                extra["note"] = .string("AWS answered \(failure.code ?? "an error"): not performed; called again")
                extra["aws_code"] = .string(failure.code)
            } else {
                extra["note"] =
                    "no answer recorded and AWS does not show it done (not performed, or not visible yet); called again"
            }
            if let subjectName, subjectName != "alias_name", let subject = intent.subject {
                extra[subjectName] = .string(subject)
            }
            try recordCall(
                AWSCallRecord(
                    operation: operation, region: intent.region, keyID: keyID,
                    aliasName: subjectName == "alias_name" ? intent.subject : nil,
                    requestID: done ? nil : failure?.requestID, outcome: done ? .answerLost : .unconfirmed,
                    keyState: keyState(intent.region), extra: extra),
                for: transfer)
        }
    }

    func recordCall(_ call: AWSCallRecord, for transfer: TransferRecord) throws {
        try store.recordAWSCall(call, for: transfer.importID, now: clock(), actor: actor)
    }

    /// `NotFoundException` before scheduling. A key AWS described before is gone: recorded `deleted`. A key it never
    /// described was recorded wrongly (a wrong `--region`, a typo): `stuck`, with where its alias is, if anywhere.
    private func settleNotFound(_ transfer: TransferRecord, keyID: String, log: Logger) async throws -> StepOutcome {
        if transfer.keySeenAt != nil { return try settleGone(transfer, log: log) }
        var reason =
            "key \(keyID) was never found in \(transfer.accountID)/\(transfer.region) (NotFoundException): "
            + "a wrong --region or key id?"
        if let alias = transfer.aliasName {
            let others = (settings.regionsByAccount[transfer.accountID] ?? []).filter { $0 != transfer.region }
            for other in others {
                let aliases = try await cloud.region(accountID: transfer.accountID, region: other).listAliases(
                    keyID: nil)
                if let found = aliases.first(where: { $0.aliasName == alias }) {
                    reason +=
                        " Its alias \(alias) exists in \(other) (key \(found.targetKeyID ?? "-")): track it there;"
                        + " this record is left for an operator"
                    break
                }
            }
        }
        let record = try store.apply(
            .stepFailed(error: reason, retryAt: nil), to: transfer.importID, now: clock(), actor: actor,
            detail: ["aws_code": "NotFoundException", "operation": "DescribeKey", "kind": "never_seen"])
        log.error("\(reason); parked stuck, not recorded as deleted")
        return .advanced(record.state)
    }

    private func settleGone(_ transfer: TransferRecord, log: Logger) throws -> StepOutcome {
        let record = try store.apply(
            .keyGone, to: transfer.importID, now: clock(), actor: actor, detail: ["aws_code": "NotFoundException"])
        log.notice("key no longer exists in AWS; recorded as deleted")
        return .advanced(record.state)
    }

    func refuse(
        _ transfer: TransferRecord, rule: SafetyRule, reason: String, detail: [String: JSONValue], log: Logger
    ) throws -> StepOutcome {
        var facts = detail
        facts["rule"] = .string(rule.rawValue)
        let record = try store.apply(
            .keyRefused(reason: "\(rule.rawValue): \(reason)"), to: transfer.importID, now: clock(), actor: actor,
            detail: facts)
        log.warning(
            "refused to delete the key: \(reason); left untouched, an operator must decide",
            metadata: ["rule": "\(rule.rawValue)"])
        return .advanced(record.state)
    }

    /// The key is pending deletion while something else uses it: `CancelKeyDeletion` in every region where it is
    /// pending (the prefixed alias is still there, so the vendor's policy allows it), then `refused`, loudly.
    private func cancelAndRefuse(
        _ transfer: TransferRecord, places: [Place], rule: SafetyRule, reason: String, detail: [String: JSONValue],
        log: Logger
    ) async throws -> StepOutcome {
        guard let keyID = transfer.keyID else { return .deferred("no key recorded yet") }
        var facts = detail
        facts["rule"] = .string(rule.rawValue)
        facts["reason"] = .string(reason)
        guard !settings.isDryRun else {
            try store.note(
                .wouldCancelKeyDeletion, for: transfer.importID, detail: facts,
                postponeUntil: settings.dryRunRecheck(after: clock()), now: clock(), actor: actor)
            return .deferred("dry run")
        }
        for place in places {
            let call: AWSCallRecord
            do {
                let receipt = try await place.client.cancelKeyDeletion(keyID)
                call = AWSCallRecord(
                    operation: "CancelKeyDeletion", region: place.region, keyID: keyID, requestID: receipt.requestID,
                    keyState: place.key.keyState, extra: ["reason": .string(reason)])
            } catch let error as CloudError where error.kind == .invalidState {
                // Already not pending (cancelled by someone, or the call's answer was lost): nothing to undo.
                let key = try await place.client.describeKey(keyID)
                guard !key.isPendingDeletion else { throw error }
                call = AWSCallRecord(
                    operation: "CancelKeyDeletion", region: place.region, keyID: keyID, requestID: error.requestID,
                    outcome: .notPending, keyState: key.keyState, extra: ["reason": .string(reason)])
            }
            try recordCall(call, for: transfer)
        }
        facts["cancelled_regions"] = .array(places.map { .string($0.region) })
        let record = try store.apply(
            .keyRefused(reason: "\(rule.rawValue): \(reason)"), to: transfer.importID, now: clock(), actor: actor,
            detail: facts)
        log.critical(
            """
            deletion cancelled at once and the transfer refused: \(reason). The key is left Disabled by AWS; an \
            operator must decide (`transferkeyd show \(transfer.importID)`)
            """,
            metadata: ["rule": "\(rule.rawValue)", "regions": "\(places.map(\.region).joined(separator: ","))"])
        return .advanced(record.state)
    }

    func postpone(
        _ transfer: TransferRecord, rule: SafetyRule, reason: String, retryAt: Date, detail: [String: JSONValue],
        log: Logger
    ) throws -> StepOutcome {
        var facts = detail
        facts["rule"] = .string(rule.rawValue)
        let record = try store.apply(
            .deferred(reason: "\(rule.rawValue): \(reason)", retryAt: retryAt), to: transfer.importID, now: clock(),
            actor: actor, detail: facts)
        log.info(
            "cleanup deferred: \(reason)",
            metadata: ["rule": "\(rule.rawValue)", "retry_at": "\(record.nextAttemptAt.map(Timestamp.string) ?? "-")"])
        return .deferred("\(rule.rawValue): \(reason)")
    }

    private func fail(_ transfer: TransferRecord, error: CloudError, log: Logger) -> StepOutcome {
        let attempt = transfer.attempts + 1
        let retryAt = StepFailure.retryAt(error, now: clock()) {
            backoff.delay(afterAttempt: transfer.attempts, isThrottled: error.kind == .throttled, unit: jitter())
        }
        var metadata: Logger.Metadata = [
            "aws.code": "\(error.code)", "attempt": "\(attempt)", "aws.operation": "\(error.operation ?? "-")",
        ]
        if let requestID = error.requestID { metadata["aws.request_id"] = "\(requestID)" }
        return StepFailure.record(
            transfer, error: error, retryAt: retryAt, store: store, now: clock(), actor: actor, log: log
        ) { record in
            if let retryAt {
                metadata["retry_at"] = "\(Timestamp.string(retryAt))"
                log.warning("step failed; retrying later", metadata: metadata)
            } else {
                log.error(
                    "step failed for good; transfer is \(record.state.rawValue) until `transferkeyd retry \(transfer.importID)`",
                    metadata: metadata)
            }
        }
    }
}
