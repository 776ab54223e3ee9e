import Foundation
import Logging
import TransferKeyCore
import TransferKeyStore

/// A failed step, as the worker and the create settler both classify and record it: a retryable error (throttling,
/// 5xx, a reset, a timeout, an answer that cannot be decoded) is retried with capped backoff for as long as the
/// outage lasts — a transient failure never needs a person; any other (access denied, a bad request) parks the
/// transfer (`stuck`). A database that refuses the record is `storeUnavailable` (the step is re-checked once it
/// takes writes), never a failure of the step.
enum StepFailure {
    /// When to try again, or nil: park the transfer.
    static func retryAt(_ error: CloudError, now: Date, delay: () -> TimeInterval) -> Date? {
        error.isRetryable ? now.addingTimeInterval(delay()) : nil
    }

    /// Records the failure on `transfer` (`step_failed`, with the error's audit detail); `recorded` logs what it
    /// became.
    static func record(
        _ transfer: TransferRecord, error: CloudError, retryAt: Date?, store: TransferStore, now: Date,
        actor: String, log: Logger, recorded: (TransferRecord) -> Void
    ) -> StepOutcome {
        do {
            let record = try store.apply(
                .stepFailed(error: error.description, retryAt: retryAt), to: transfer.importID, now: now, actor: actor,
                detail: error.auditDetail)
            recorded(record)
            return .failed(error.description)
        } catch let storeError as StoreError {
            log.error(
                "the database refused the record of a failed step; it is tried again once it takes writes",
                metadata: ["error": "\(storeError)"])
            return .storeUnavailable(storeError.description)
        } catch {
            log.error("recording a failed step failed", metadata: ["error": "\(error)"])
            return .failed("\(error)")
        }
    }
}
