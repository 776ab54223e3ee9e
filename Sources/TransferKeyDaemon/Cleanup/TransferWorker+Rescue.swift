import Foundation
import Logging
import TransferKeyCore
import TransferKeyStore

extension TransferWorker {
    /// While a key the daemon scheduled is pending deletion, looks in CloudTrail for an attempt to use it (a
    /// cryptographic call AWS refused because the key is pending deletion, `SafetyRules.attemptedUse`): something still
    /// needs the key, so the deletion is cancelled at once in every region where it is pending, and the transfer is
    /// recorded `cancelled` with the event that triggered it. AWS leaves a cancelled key `Disabled`; an operator
    /// decides what comes next. Nil when nothing tried to use it (or the transfer holds no key pending deletion).
    public func rescueIfUsed(_ transfer: TransferRecord) async -> StepOutcome? {
        guard TransferState.keyPendingDeletion.contains(transfer.state), let keyID = transfer.keyID else { return nil }
        var log = logger
        log[metadataKey: "transfer"] = "\(transfer.importID)"
        log[metadataKey: "key"] = "\(keyID)"
        // Since it was scheduled: its deletion date less the window (and a margin for clocks); at most 90 days back,
        // as far as CloudTrail's event history reaches.
        let deletion = transfer.keyDeletionDate ?? clock()
        let since = max(
            deletion.addingTimeInterval(-Double(settings.pendingWindowDays) * 86_400 - 300),
            clock().addingTimeInterval(-90 * 86_400))
        let arn =
            transfer.keyARN ?? KeyReference.arn(keyID: keyID, accountID: transfer.accountID, region: transfer.region)
        do {
            let home = cloud.region(accountID: transfer.accountID, region: transfer.region)
            let events = try await home.keyEvents(keyARN: arn, since: since)
            guard let attempt = SafetyRules.attemptedUse(events, since: since) else { return nil }
            return try await cancelOnUse(transfer, keyID: keyID, attempt: attempt, log: log)
        } catch let error as CloudError {
            // Looked at again next time; the window is days long.
            log.warning(
                "looking for use of a key pending deletion failed: \(error); looked at again next time",
                metadata: ["aws.code": "\(error.code)"])
            return .failed(error.description)
        } catch {
            log.error("recording the rescue failed", metadata: ["error": "\(error)"])
            return .failed("\(error)")
        }
    }

    private func cancelOnUse(_ transfer: TransferRecord, keyID: String, attempt: KeyCallEvent, log: Logger)
        async throws -> StepOutcome
    {
        let reason =
            "\(attempt.name) by \(attempt.principal ?? "an unknown principal") at "
            + "\(attempt.at.map(Timestamp.string) ?? "?") was refused because the key is pending deletion (CloudTrail "
            + "event \(attempt.eventID)): something still needs it"
        var facts: [String: JSONValue] = ["reason": "in_use_during_window", "trigger": attempt.auditValue]
        guard !settings.isDryRun else {
            try store.note(
                .wouldCancelKeyDeletion, for: transfer.importID, detail: facts, postponeUntil: nil, now: clock(),
                actor: actor)
            return .deferred("dry run")
        }
        // Every region the key lives in: the lead (its primary) and each replica, wherever it is still pending.
        guard let lead = try await describeLead(transfer, keyID: keyID) else { return .deferred("key gone") }
        let places = [lead] + (try await describeReplicas(of: lead, transfer: transfer, keyID: keyID))
        var cancelled: [String] = []
        for place in places where place.key.isPendingDeletion {
            let receipt = try await place.client.cancelKeyDeletion(keyID)
            try recordCall(
                AWSCallRecord(
                    operation: "CancelKeyDeletion", region: place.region, keyID: keyID, requestID: receipt.requestID,
                    keyState: place.key.keyState, extra: ["reason": .string(reason)]), for: transfer)
            cancelled.append(place.region)
        }
        facts["cancelled_regions"] = .array(cancelled.map { .string($0) })
        let record = try store.apply(
            .deletionCancelled, to: transfer.importID, now: clock(), actor: actor, detail: facts)
        log.critical(
            """
            a key pending deletion was still in use: \(reason). Its deletion is cancelled in \
            \(cancelled.joined(separator: ", ")); AWS leaves it Disabled: an operator must decide \
            (`transferkeyd show \(transfer.importID)`)
            """,
            metadata: ["event_id": "\(attempt.eventID)", "principal": "\(attempt.principal ?? "-")"])
        return .advanced(record.state)
    }
}
