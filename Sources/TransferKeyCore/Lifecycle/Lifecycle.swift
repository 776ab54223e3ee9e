import Foundation

/// The life cycle of a transfer as a pure function — no I/O, no clock: the caller passes `now`.
///
/// ```
/// creating ─▶ active ─▶ cleanup_due ─▶ key_scheduled ─▶ cleaned ─▶ deleted
///                │            │               │
///                ▼            ▼               ▼
///             refused       stuck ◀───────────┘   (retry ─▶ cleanup_due)
///                          cancelled ◀── cleaned / key_scheduled (cancel-deletion); stuck / refused (close)
/// ```
/// `refused` is reached from `cleanup_due`, where the key is re-checked right before deletion, from `key_scheduled`
/// when the aliases read again after scheduling show a new user (the deletion is cancelled first), or is where a
/// discovered key without provenance is recorded.
public enum Lifecycle {
    /// The state and the follow-ups that come after `event` in `state` at `now`.
    public static func transition(
        from state: TransferState, on event: TransferEvent, now: Date
    ) throws(IllegalTransition) -> Transition {
        switch (state, event) {
        // A retry in place keeps the state; a failure with no retry left parks the transfer.
        case (.creating, .stepFailed(let error, let retryAt)),
            (.cleanupDue, .stepFailed(let error, let retryAt)),
            (.keyScheduled, .stepFailed(let error, let retryAt)),
            (.cleaned, .stepFailed(let error, let retryAt)):
            if let retryAt { return Transition(state, .retry(at: max(retryAt, now))) }
            return Transition(.stuck, .alertOperator(reason: error))

        case (.creating, .keyCreated):
            return Transition(.active, .awaitImport)

        case (.active, .importEnded):
            return Transition(.cleanupDue, .verifyAndScheduleDeletion)

        // Before deletion; or right after it, when the aliases read again showed a new user and the deletion
        // was cancelled at once.
        case (.cleanupDue, .keyRefused(let reason)), (.keyScheduled, .keyRefused(let reason)):
            return Transition(.refused, .alertOperator(reason: reason))

        // Not now, and no attempt is spent: a young alias, another import on the key, a clock to confirm.
        case (.active, .deferred(_, let retryAt)), (.cleanupDue, .deferred(_, let retryAt)):
            return Transition(state, .retry(at: max(retryAt, now)))

        // The operator's word waives only what a person can judge (provenance); every other rule is checked again.
        case (.refused, .provenanceAccepted):
            return Transition(.cleanupDue, .verifyAndScheduleDeletion)

        // Also settles a transfer whose key somebody else already scheduled: the aliases still go.
        case (.active, .keyScheduled), (.cleanupDue, .keyScheduled), (.keyScheduled, .keyScheduled):
            return Transition(.keyScheduled, .removeAliases)

        case (.keyScheduled, .aliasesRemoved):
            return Transition(.cleaned, .confirmDeletion(at: nil))

        case (.cleaned, .keyStillPending(let recheckAt)):
            return Transition(.cleaned, .confirmDeletion(at: max(recheckAt, now)))

        // The key vanished: whatever we were waiting for, nothing is left to do.
        case (.active, .keyGone), (.cleanupDue, .keyGone), (.keyScheduled, .keyGone), (.cleaned, .keyGone),
            (.stuck, .keyGone), (.refused, .keyGone):
            return Transition(.deleted, .none)

        // An operator's word; the key is re-checked against every safety rule before anything happens.
        case (.stuck, .retryRequested), (.refused, .retryRequested):
            return Transition(.cleanupDue, .verifyAndScheduleDeletion)

        case (.keyScheduled, .deletionCancelled), (.cleaned, .deletionCancelled), (.stuck, .deletionCancelled):
            return Transition(.cancelled, .none)

        // A record an operator found wrong: only one waiting for a person, and nothing in AWS changes.
        case (.stuck, .recordClosed), (.refused, .recordClosed):
            return Transition(.cancelled, .none)

        default:
            throw IllegalTransition(state: state, event: event.kind.rawValue)
        }
    }
}
