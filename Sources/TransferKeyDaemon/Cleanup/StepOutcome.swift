import TransferKeyCore

/// What one step did to a transfer.
public enum StepOutcome: Sendable, Equatable {
    /// The transfer moved to this state.
    case advanced(TransferState)
    /// Nothing was changed now (budget spent, orphan cleanup paused, dry run, a rule that time settles); it is
    /// looked at again later.
    case deferred(String)
    /// The step failed and is retried later, or the transfer was parked.
    case failed(String)
    /// The database refused the step's record (disk full, locked beyond the busy timeout, …): nothing of
    /// the step was written, and it is re-checked from AWS once the database takes writes again.
    case storeUnavailable(String)
}
