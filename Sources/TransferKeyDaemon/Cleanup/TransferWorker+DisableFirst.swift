import Foundation
import Logging
import TransferKeyCore
import TransferKeyStore

extension TransferWorker {
    /// `disable_first`, for a key every rule approved (`DisableFirst.next` decides): disable it in every region and
    /// watch; after the watch, look in CloudTrail (every region) for a call AWS refused because the key is disabled.
    /// A use, or the key enabled again by somebody, ends in `refused` (`in_use`) with the key enabled (it must keep
    /// working for whoever needs it). Nil when the watch found nothing: the caller schedules the deletion.
    func disableFirst(
        _ transfer: TransferRecord, keyID: String, survey: Survey, watch: TimeInterval, detail: [String: JSONValue],
        log: Logger
    ) async throws -> StepOutcome? {
        let enabled = survey.places.filter { $0.key.keyState == .enabled }
        let offset = cloud.awsNow().map { $0.timeIntervalSince(clock()) } ?? 0
        let step = DisableFirst.next(
            disabledAt: survey.claims.disabledByDaemonAt, enabledRegions: enabled.map(\.region), watch: watch,
            now: clock(), awsOffset: offset)
        switch step {
        case .disable(let until):
            return try await disable(transfer, keyID: keyID, places: enabled, until: until, detail: detail, log: log)
        case .watch(let until):
            return try postpone(
                transfer, rule: .disableFirst,
                reason: "disabled, watched for use until \(Timestamp.string(until))", retryAt: until, detail: detail,
                log: log)
        case .reEnabled(let region):
            // Somebody enabled the key again while it was watched: the watch is over (the next look starts afresh).
            try store.note(
                .keyEnabled, for: transfer.importID, detail: ["by": "somebody else", "region": .string(region)],
                postponeUntil: nil, now: clock(), actor: actor)
            return try refuse(
                transfer, rule: .inUse,
                reason: "key \(keyID) was enabled again in \(region) during the disable_first watch: somebody needs it",
                detail: detail, log: log)
        case .lookForUse(let since):
            var events: [KeyCallEvent] = []
            for place in survey.places {
                let arn =
                    place.key.arn
                    ?? KeyReference.arn(keyID: keyID, accountID: transfer.accountID, region: place.region)
                events += try await place.client.keyEvents(keyARN: arn, since: since)
            }
            guard let attempt = SafetyRules.attemptedUse(events, since: since) else { return nil }
            return try await enableAfterUse(
                transfer, keyID: keyID, survey: survey, attempt: attempt, detail: detail, log: log)
        }
    }

    /// `DisableKey` wherever the key is enabled, one `aws_call` event each, then `key_disabled` with the end of the
    /// watch (the transfer is looked at again then). A dry run notes what it would do.
    private func disable(
        _ transfer: TransferRecord, keyID: String, places: [Place], until: Date, detail: [String: JSONValue],
        log: Logger
    ) async throws -> StepOutcome {
        var facts = detail
        facts["watch_until"] = .string(Timestamp.string(until))
        facts["regions"] = .array(places.map { .string($0.region) })
        guard !settings.isDryRun else {
            try store.note(
                .wouldDisableKey, for: transfer.importID, detail: facts, postponeUntil: nil, now: clock(),
                actor: actor)
            return .deferred("dry run")
        }
        for place in places {
            let receipt = try await place.client.disableKey(keyID)
            try recordCall(
                AWSCallRecord(
                    operation: "DisableKey", region: place.region, keyID: keyID, requestID: receipt.requestID,
                    keyState: place.key.keyState), for: transfer)
        }
        try store.note(
            .keyDisabled, for: transfer.importID, detail: facts, postponeUntil: until, now: clock(), actor: actor)
        log.notice(
            "key disabled (disable_first); watching for use before scheduling its deletion",
            metadata: ["watch_until": "\(Timestamp.string(until))"])
        return .deferred("disable_first: disabled, watched until \(Timestamp.string(until))")
    }

    /// Something tried to use the disabled key: `EnableKey` wherever it is disabled (one `aws_call` event each), a
    /// `key_enabled` event with the CloudTrail event that triggered it, and `refused` (`in_use`) for an operator.
    private func enableAfterUse(
        _ transfer: TransferRecord, keyID: String, survey: Survey, attempt: KeyCallEvent,
        detail: [String: JSONValue], log: Logger
    ) async throws -> StepOutcome {
        let reason =
            "\(attempt.name) by \(attempt.principal ?? "an unknown principal") at "
            + "\(attempt.at.map(Timestamp.string) ?? "?") was refused while the key was disabled for the disable_first "
            + "watch (CloudTrail event \(attempt.eventID)): something still needs it; enabled again"
        var facts = detail
        facts["trigger"] = attempt.auditValue
        guard !settings.isDryRun else {
            try store.note(
                .wouldEnableKey, for: transfer.importID, detail: facts, postponeUntil: nil, now: clock(),
                actor: actor)
            return .deferred("dry run")
        }
        let disabled = survey.places.filter { $0.key.keyState == .disabled }
        for place in disabled {
            let receipt = try await place.client.enableKey(keyID)
            try recordCall(
                AWSCallRecord(
                    operation: "EnableKey", region: place.region, keyID: keyID, requestID: receipt.requestID,
                    keyState: place.key.keyState, extra: ["reason": .string(reason)]), for: transfer)
        }
        try store.note(
            .keyEnabled, for: transfer.importID,
            detail: [
                "by": "transferkeyd", "trigger": attempt.auditValue,
                "regions": .array(disabled.map { .string($0.region) }),
            ],
            postponeUntil: nil, now: clock(), actor: actor)
        log.critical(
            "a key disabled before its deletion was still in use: \(reason)",
            metadata: ["event_id": "\(attempt.eventID)", "principal": "\(attempt.principal ?? "-")"])
        return try refuse(transfer, rule: .inUse, reason: reason, detail: facts, log: log)
    }
}
