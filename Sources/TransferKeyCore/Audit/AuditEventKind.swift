/// The name of an audit event (`events.kind`): every kind this daemon writes, and the only place each is spelt.
///
/// The raw values are the contract auditors query with SQL; a new kind is a new case here (and a line in the
/// README's list), never a string at the call site.
public enum AuditEventKind: String, Sendable, Hashable, CaseIterable {
    // The lifecycle (`TransferEvent.kind`).
    /// A transfer was recorded (`track`, `create`, an adopted orphan).
    case recorded
    /// `create` made the key and its alias.
    case keyCreated = "key_created"
    /// The import is over.
    case importEnded = "import_ended"
    /// A safety rule refused the key.
    case keyRefused = "key_refused"
    /// A rule that time settles held the cleanup back.
    case deferred
    /// An operator accepted what the rules could not prove.
    case provenanceAccepted = "provenance_accepted"
    /// `ScheduleKeyDeletion` succeeded (or the key was already pending).
    case keyScheduled = "key_scheduled"
    /// Every prefixed alias of the key is gone.
    case aliasesRemoved = "aliases_removed"
    /// The key no longer exists.
    case keyDeleted = "key_deleted"
    /// After its deletion date the key still exists pending deletion.
    case keyStillPending = "key_still_pending"
    /// A step failed.
    case stepFailed = "step_failed"
    /// An operator ran `retry`.
    case retryRequested = "retry_requested"
    /// An operator ran `cancel-deletion` and AWS accepted it.
    case deletionCancelled = "deletion_cancelled"
    /// An operator closed a wrong record.
    case recordClosed = "record_closed"

    // AWS calls.
    /// One mutating AWS call and what became of it (`AWSCallOutcome`).
    case awsCall = "aws_call"
    /// A mutating call announced before it is made (the outbox): its `aws_call` follows.
    case awsCallIntent = "aws_call_intent"

    // Facts that change no state.
    /// `track` named a key another transfer already holds.
    case trackRefused = "track_refused"
    /// `create` tried a failed AWS step again.
    case stepRetried = "step_retried"
    /// A duplicate key a lost `CreateKey` answer made was recorded for cleanup.
    case duplicateRecorded = "duplicate_recorded"
    /// A key that might be such a duplicate could not be proven ours: left alone.
    case duplicateUnproven = "duplicate_unproven"
    /// A create that died was settled with the key it had made.
    case keyFound = "key_found"
    /// `disable_first` disabled the key.
    case keyDisabled = "key_disabled"
    /// The key was enabled again (by this daemon, or by somebody else).
    case keyEnabled = "key_enabled"
    /// A create that died before its alias gave the alias up.
    case aliasAbandoned = "alias_abandoned"
    /// The scanner adopted an unrecorded prefixed alias.
    case orphanAdopted = "orphan_adopted"
    /// More orphans than `orphan_alarm_threshold` within the window: orphan cleanup paused.
    case orphanAlarm = "orphan_alarm"
    /// An operator let the paused orphans be cleaned.
    case orphansApproved = "orphans_approved"
    /// `migrate --reinitialise` moved a damaged ledger aside and started this chain.
    case ledgerReinitialised = "ledger_reinitialised"
    /// The daemon started.
    case daemonStarted = "daemon_started"
    /// The daemon stopped.
    case daemonStopped = "daemon_stopped"

    // What a dry run would have done.
    case wouldCreateAlias = "would_create_alias"
    case wouldScheduleKeyDeletion = "would_schedule_key_deletion"
    case wouldDeleteAlias = "would_delete_alias"
    case wouldCancelKeyDeletion = "would_cancel_key_deletion"
    case wouldDisableKey = "would_disable_key"
    case wouldEnableKey = "would_enable_key"
}
