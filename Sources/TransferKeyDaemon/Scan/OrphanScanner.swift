import Foundation
import Logging
import TransferKeyCore
import TransferKeyStore

/// Finds prefixed aliases nobody recorded (an import that crashed before `track`, a platform that never
/// calls it) in every configured account × region and adopts their keys as `discovered` transfers.
///
/// Read-only on AWS (`ListAliases`; `DescribeKey` and `ListResourceTags` for each unknown key old enough to
/// judge). A prefixed alias is a claim, not proof: a key is adopted only with provenance (transferkeyd's import-id
/// tag, or made shortly before its first prefixed alias and young enough to be a transfer key); anything else is
/// recorded `refused` with the missing evidence named. Ages come from AWS's clock. The worker re-checks every
/// safety rule before it deletes anything.
public struct OrphanScanner: Sendable {
    let store: TransferStore
    let cloud: any Cloud
    let settings: ScanSettings
    let accounts: [(accountID: String, regions: [String])]
    let logger: Logger
    let clock: @Sendable () -> Date
    let actor: String
    let marks: OwnershipMarks?

    /// Creates a scanner over `accounts` (each with its regions); `clock` is injected so tests can fix time.
    public init(
        store: TransferStore, cloud: any Cloud, settings: ScanSettings,
        accounts: [(accountID: String, regions: [String])], logger: Logger,
        clock: @escaping @Sendable () -> Date = { Date() }, actor: String = "daemon", marks: OwnershipMarks? = nil
    ) {
        self.marks = marks
        self.store = store
        self.cloud = cloud
        self.settings = settings
        self.accounts = accounts
        self.logger = logger
        self.clock = clock
        self.actor = actor
    }

    /// A key behind unrecorded prefixed aliases, old enough to judge.
    struct Orphan: Sendable {
        var accountID: String
        var region: String
        var keyID: String
        var keyARN: String?
        /// Its prefixed aliases in this region, sorted.
        var aliasNames: [String]
        /// What AWS said about the key and its aliases, and what the rules made of it.
        var evidence: KeyEvidence
        var provenance: Provenance
        /// What the key's ownership mark proved.
        var mark: OwnershipMark
        /// AWS's clock when the key was judged.
        var awsNow: Date
        /// Why it may not be cleaned without an operator (`rule: why`), if it may not.
        var refusal: String?
        /// `PRIMARY`, `REPLICA` or nil.
        var multiRegionKeyType: String? { evidence.multiRegionKeyType }
    }

    /// What listing one account × region found, before anything is recorded.
    struct Survey: Sendable {
        var report: ScanReport.Region
        var startedAt: Date
        var orphans: [Orphan] = []
    }

    /// Account × regions listed at once (a quarter of the AWS client's 32 connections per endpoint).
    static let concurrentSurveys = 8

    /// Scans every configured account × region, raises the orphan alarm when one scan finds more
    /// new orphans than `orphan_alarm_threshold` (counted over the whole scan, and raised *before*
    /// anything is adopted so the work loop never sees the batch unpaused), adopts the orphans,
    /// and records each account × region's outcome in `scans`.
    ///
    /// `progress` is called as each account × region has been listed (for `reconcile` on a terminal).
    public func scan(progress: (@Sendable (ScanProgress) -> Void)? = nil) async -> ScanReport {
        let places = accounts.flatMap { account in account.regions.map { (account.accountID, $0) } }
        let surveys = await withTaskGroup(of: (Int, Survey).self) { tasks in
            // At most `concurrentSurveys` account × regions at once: accounts in one region share its endpoint and
            // the HTTP client's connections to it, and a scan stuck on a slow endpoint must leave most of them to the
            // cleanup.
            var waiting = places.enumerated().makeIterator()
            func startNext() {
                guard let (index, place) = waiting.next() else { return }
                tasks.addTask { (index, await survey(accountID: place.0, region: place.1)) }
            }
            for _ in 0..<Self.concurrentSurveys { startNext() }
            var surveys: [Int: Survey] = [:]
            for await (index, survey) in tasks {
                startNext()
                surveys[index] = survey
                progress?(
                    ScanProgress(
                        accountID: survey.report.accountID, region: survey.report.region,
                        aliasesSeen: survey.report.aliasesSeen, orphans: survey.orphans.count,
                        error: survey.report.error, done: surveys.count, total: places.count))
            }
            return places.indices.compactMap { surveys[$0] }
        }
        // Cancelled (the daemon's graceful shutdown, `reconcile`'s SIGINT): calls that failed because of it look like
        // missing evidence — tags unread, no CloudTrail record — and would record an orphan refused, or a region's
        // scan failed. A cut scan records nothing; the next one lists everything again.
        guard !Task.isCancelled else {
            logger.notice("orphan scan cut short by a stop; nothing of it recorded, the next scan lists again")
            return ScanReport()
        }

        var report = ScanReport()
        let orphans = Self.oneTransferPerKey(surveys.flatMap(\.orphans))
        report.newOrphans = orphans.count
        var adoptionBlocked: String?
        // Counted over a rolling window, not one scan: orphans that trickle in under the threshold scan by scan
        // still add up.
        let earlier =
            orphans.isEmpty
            ? 0 : ((try? store.orphansRecorded(since: clock().addingTimeInterval(-settings.orphanAlarmWindow))) ?? 0)
        if !orphans.isEmpty, earlier + orphans.count > settings.orphanAlarmThreshold {
            report.isAlarmTripped = true
            adoptionBlocked = raiseAlarm(
                count: orphans.count, earlier: earlier,
                places: Set(orphans.map { "\($0.accountID)/\($0.region)" }))
        }

        var adopted: [String: [String]] = [:]
        if adoptionBlocked == nil {
            for orphan in orphans {
                if let importID = adopt(orphan) {
                    adopted["\(orphan.accountID)/\(orphan.region)", default: []].append(importID)
                }
            }
        }

        for var survey in surveys {
            let place = "\(survey.report.accountID)/\(survey.report.region)"
            survey.report.adopted = adopted[place] ?? []
            if let adoptionBlocked, survey.report.error == nil, !survey.orphans.isEmpty {
                survey.report.error = adoptionBlocked
            }
            record(survey)
            report.regions.append(survey.report)
            logger.info(
                "orphan scan of one account × region done",
                metadata: [
                    "account": "\(survey.report.accountID)", "region": "\(survey.report.region)",
                    "aliases_seen": "\(survey.report.aliasesSeen)", "owned": "\(survey.report.ownedAliases)",
                    "young": "\(survey.report.youngKeys)", "adopted": "\(survey.report.adopted.count)",
                    "ok": "\(survey.report.error == nil)",
                ])
        }
        return report
    }

    // MARK: - Listing

    /// Lists one account × region and keeps the keys behind unrecorded prefixed aliases that are old enough.
    func survey(accountID: String, region: String) async -> Survey {
        var log = logger
        log[metadataKey: "account"] = "\(accountID)"
        log[metadataKey: "region"] = "\(region)"
        var survey = Survey(report: ScanReport.Region(accountID: accountID, region: region), startedAt: clock())
        let client = cloud.region(accountID: accountID, region: region)

        let aliases: [CloudAlias]
        do {
            aliases = try await client.listAliases(keyID: nil)
        } catch {
            let error = Self.cloudError(error, operation: "ListAliases")
            survey.report.error = error.description
            log.warning(
                "orphan scan failed: \(error); this account × region is scanned again next scan",
                metadata: ["aws.code": "\(error.code)", "aws.operation": "ListAliases"])
            return survey
        }
        survey.report.aliasesSeen = aliases.count
        let owned = aliases.filter {
            $0.targetKeyID != nil && SafetyRules.isOwnedAlias($0.aliasName, prefix: settings.aliasPrefix)
        }
        survey.report.ownedAliases = owned.count
        let byKey = Dictionary(grouping: owned) { $0.targetKeyID! }

        let knownKeys: Set<String>
        let knownAliases: Set<String>
        do {
            knownKeys = try store.recordedKeyIDs(Array(byKey.keys), accountID: accountID, region: region)
            knownAliases = try store.unfinishedAliasNames(owned.map(\.aliasName), accountID: accountID, region: region)
        } catch {
            survey.report.error = "database: \(error)"
            log.error("orphan scan could not read the recorded transfers", metadata: ["error": "\(error)"])
            return survey
        }
        // Ages are AWS's: the listing's own answer dated it. A host clock hours off judges nothing.
        guard let awsNow = cloud.awsNow() else {
            survey.report.error = "AWS's clock is not known (no Date header in its answers); nothing judged"
            log.warning("orphan scan judged nothing: AWS's clock is not known")
            return survey
        }

        let policy = settings.safetyPolicy
        for (keyID, keyAliases) in byKey.sorted(by: { $0.key < $1.key }) {
            guard !knownKeys.contains(keyID), !keyAliases.contains(where: { knownAliases.contains($0.aliasName) })
            else { continue }
            // Grace counts from the latest change of any prefixed alias (a retargeted alias is as young as its move).
            let changes = keyAliases.map(\.evidence.lastChanged)
            if let newest = changes.compactMap({ $0 }).max(), awsNow.timeIntervalSince(newest) < settings.orphanGrace {
                // Maybe an import that has not called `track` yet: never race it.
                survey.report.youngKeys += 1
                log.debug(
                    "unrecorded prefixed alias younger than orphan_grace; left alone",
                    metadata: ["key": "\(keyID)", "changed": "\(Timestamp.string(newest))"])
                continue
            }
            let key: CloudKey
            do {
                key = try await client.describeKey(keyID)
            } catch let error as CloudError where error.kind == .notFound {
                log.info("aliased key vanished during the scan; skipped", metadata: ["key": "\(keyID)"])
                continue
            } catch {
                let error = Self.cloudError(error, operation: "DescribeKey")
                log.warning(
                    "DescribeKey failed while judging an orphan: \(error); judged again next scan",
                    metadata: ["key": "\(keyID)", "aws.code": "\(error.code)"])
                continue
            }
            // Unreadable tags are no evidence either way: the other provenance still counts. A tag is only a claim;
            // what proves the key ours is a mark that verifies for its ARN.
            let tags = try? await client.keyTags(keyID)
            let mark = await OwnershipMarks.check(marks, tags: tags, keyARN: key.arn)
            let evidence = key.evidence(region: region, aliases: keyAliases)
            let provenance = SafetyRules.provenance(of: evidence, mark: mark, at: awsNow, policy: policy)
            var refusal: String?
            if let named = key.arnAccountID, named != accountID {
                // Base credentials (or a role) that belong to another account than the one configured: the key is
                // not where the record would say it is.
                refusal =
                    "\(SafetyRule.accountMismatch.rawValue): key \(keyID) belongs to account \(named) by its ARN, not the configured account \(accountID)"
            } else if case .youngKey = provenance, let principals = settings.platformPrincipals[accountID],
                let made = await madeBy(
                    keyID: keyID, key: key, client: client, principals: principals, accountID: accountID, region: region
                )
            {
                // Only its age proves it a transfer key: who made it must be the platform, by CloudTrail's record.
                refusal = "\(made.rule.rawValue): \(made.reason)"
            } else if changes.contains(where: { $0 == nil }) {
                refusal = "\(SafetyRule.youngAlias.rawValue): AWS gave no date for an alias of key \(keyID)"
            } else if case .missing(let what) = provenance {
                refusal = "\(SafetyRule.noProvenance.rawValue): discovered key \(keyID): \(what)"
            } else if evidence.keyState == .disabled {
                refusal =
                    "\(SafetyRule.discoveredDisabled.rawValue): key \(keyID) is Disabled: somebody acted on this unrecorded key"
            }
            survey.orphans.append(
                Orphan(
                    accountID: accountID, region: region, keyID: keyID, keyARN: key.arn,
                    aliasNames: keyAliases.map(\.aliasName).sorted(), evidence: evidence, provenance: provenance,
                    mark: mark, awsNow: awsNow, refusal: refusal))
        }
        return survey
    }

    /// Who made the key, by CloudTrail's `CreateKey` record (one paced `LookupEvents` since its creation), judged
    /// against `principals`; nil when one of them made it.
    private func madeBy(
        keyID: String, key: CloudKey, client: any CloudRegion, principals: [String], accountID: String, region: String
    ) async -> (rule: SafetyRule, reason: String)? {
        let arn = key.arn ?? KeyReference.arn(keyID: keyID, accountID: accountID, region: region)
        let since = (key.creationDate ?? .distantPast).addingTimeInterval(-300)
        do {
            let events = try await client.keyEvents(keyARN: arn, since: since)
            return SafetyRules.creator(of: keyID, events: events, platformPrincipals: principals)
        } catch {
            return SafetyRules.creator(
                of: keyID, events: [], lookupFailure: "\(error)", platformPrincipals: principals)
        }
    }

    /// A multi-Region key shows its id in every region it lives in: one transfer, in the primary's region
    /// when that was scanned (its cleanup schedules the replicas too).
    static func oneTransferPerKey(_ orphans: [Orphan]) -> [Orphan] {
        var chosen: [String: Orphan] = [:]
        var order: [String] = []
        for orphan in orphans {
            let key = "\(orphan.accountID)/\(orphan.keyID)"
            guard let current = chosen[key] else {
                chosen[key] = orphan
                order.append(key)
                continue
            }
            if current.multiRegionKeyType != KMSValue.primary, orphan.multiRegionKeyType == KMSValue.primary {
                chosen[key] = orphan
            }
        }
        return order.compactMap { chosen[$0] }
    }

    // MARK: - Recording

    /// Pauses orphan cleanup; returns why nothing may be adopted when even that failed.
    private func raiseAlarm(count: Int, earlier: Int, places: Set<String>) -> String? {
        let window = SafetyRules.span(settings.orphanAlarmWindow)
        let reason =
            "orphan alarm: \(count + earlier) unrecorded keys within \(window) (\(count) in this scan; threshold"
            + " \(settings.orphanAlarmThreshold)) in \(places.sorted().joined(separator: ", ")); review"
            + " `transferkeyd list --state active` and `transferkeyd list --state cleanup_due` (origin `discovered`),"
            + " then run `transferkeyd approve-orphans`"
        do {
            try store.pauseOrphanCleanup(reason: reason, now: clock(), actor: actor)
            logger.critical(
                "\(reason); orphans are recorded but not cleaned up until approved",
                metadata: [
                    "orphans": "\(count)", "orphans_in_window": "\(count + earlier)",
                    "threshold": "\(settings.orphanAlarmThreshold)",
                ])
            return nil
        } catch {
            logger.critical(
                "orphan alarm could not be recorded; adopting nothing this scan", metadata: ["error": "\(error)"])
            return "orphan alarm (\(count) orphans) could not be recorded: \(error); nothing adopted"
        }
    }

    /// Records one orphan as a `discovered` transfer with the evidence; returns its import id, or nil
    /// when it was already recorded (a concurrent `track` or scan) or recording failed.
    private func adopt(_ orphan: Orphan) -> String? {
        var log = logger
        log[metadataKey: "account"] = "\(orphan.accountID)"
        log[metadataKey: "region"] = "\(orphan.region)"
        log[metadataKey: "key"] = "\(orphan.keyID)"
        var importID = Self.importID(accountID: orphan.accountID, region: orphan.region, keyID: orphan.keyID)
        // A `deleted` row never hides a key AWS still lists: that record was wrong, and the key gets a new one.
        if let earlier = try? store.transfer(importID: importID), earlier.importID == importID,
            earlier.state == .deleted
        {
            importID = Self.importID(
                accountID: orphan.accountID, region: orphan.region,
                keyID: orphan.keyID + "-again-" + String(Int(clock().timeIntervalSince1970)))
            log.warning(
                "a key recorded deleted is still listed with a prefixed alias; recorded again",
                metadata: ["earlier": "\(earlier.importID)"])
        }
        log[metadataKey: "transfer"] = "\(importID)"
        let now = clock()
        // Its grace has passed by AWS's clock: the cleanup is due now (a refused one waits for an operator).
        let deadline = now
        // Why it was adopted (or refused) goes into the audit trail in the same transaction as the row
        // (`record` also writes the transfer's own `recorded` event): a kill in between cannot
        // leave a discovered transfer without its evidence.
        let evidence: [String: JSONValue] = [
            "alias_names": .array(orphan.aliasNames.map { .string($0) }),
            "key": orphan.evidence.auditValue, "provenance": orphan.provenance.auditValue,
            "ownership_mark": orphan.mark.auditValue,
            "aws_time": .string(Timestamp.string(orphan.awsNow)),
            "orphan_grace_seconds": .int(Int64(settings.orphanGrace)),
            "orphan_max_key_lead_seconds": .int(Int64(settings.orphanMaxKeyLead)),
            "reason": .string(orphan.refusal ?? "prefixed alias with no recorded transfer, and provenance"),
            "adopted": .bool(orphan.refusal == nil),
        ]
        Failpoint.hit(Failpoint.afterOrphanFound)
        do {
            try store.record(
                NewTransfer(
                    importID: importID, accountID: orphan.accountID, region: orphan.region, keyID: orphan.keyID,
                    keyARN: orphan.keyARN, aliasName: orphan.aliasNames.first, origin: .discovered,
                    deadline: deadline, keySeenAt: now, awsRecordedAt: orphan.awsNow,
                    refusal: orphan.refusal.map {
                        (
                            reason: $0,
                            detail: ["rule": .string(String($0.prefix { $0 != ":" })), "evidence": evidence["key"]!]
                        )
                    }),
                now: now, actor: actor, notes: [(.orphanAdopted, evidence)])
        } catch let error as TransferStoreError
            where error.code == .duplicateImportID || error.code == .keyAlreadyTracked
        {
            log.debug("orphan already recorded", metadata: ["reason": "\(error)"])
            return nil
        } catch {
            log.error("recording an orphan failed; tried again next scan", metadata: ["error": "\(error)"])
            return nil
        }
        Failpoint.hit(Failpoint.afterOrphanAdopted)
        if let refusal = orphan.refusal {
            log.warning(
                """
                an unrecorded prefixed key was recorded refused: \(refusal); an operator must review it \
                (`transferkeyd show \(importID)`, then `transferkeyd accept \(importID)` or fix it in AWS)
                """,
                metadata: ["aliases": "\(orphan.aliasNames.joined(separator: ","))"])
        } else {
            log.notice(
                "adopted an unrecorded prefixed key with provenance as an orphan; cleanup is due",
                metadata: [
                    "aliases": "\(orphan.aliasNames.joined(separator: ","))",
                    "provenance": "\(orphan.provenance.logText)",
                ])
        }
        return importID
    }

    /// Writes the `scans` row of one account × region.
    private func record(_ survey: Survey) {
        let report = survey.report
        do {
            try store.recordScan(
                accountID: report.accountID, region: report.region, startedAt: survey.startedAt,
                finishedAt: clock(), isOK: report.error == nil, aliasesSeen: report.aliasesSeen,
                orphansFound: report.adopted.count, error: report.error)
        } catch {
            logger.error(
                "recording the scan failed",
                metadata: ["account": "\(report.accountID)", "region": "\(report.region)", "error": "\(error)"])
        }
    }

    // MARK: - Helpers

    /// The import id of an adopted orphan: stable, so a re-scan finds it instead of recording it twice;
    /// at most 128 characters (a key id too long for that is replaced by its hash).
    public static func importID(accountID: String, region: String, keyID: String) -> String {
        let id = "orphan-\(accountID)-\(region)-\(keyID)"
        guard id.utf8.count > 128 else { return id }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a: stable across runs, unlike `Hasher`.
        for byte in keyID.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return String("orphan-\(accountID)-\(region)".prefix(100)) + "-h" + String(hash, radix: 16)
    }

    /// Any error of a `CloudRegion` call as a `CloudError` (the protocol promises one; anything else is a bug).
    private static func cloudError(_ error: any Error, operation: String) -> CloudError {
        if var error = error as? CloudError {
            error.operation = error.operation ?? operation
            return error
        }
        return CloudError(kind: .transient, code: "\(type(of: error))", message: "\(error)", operation: operation)
    }
}
