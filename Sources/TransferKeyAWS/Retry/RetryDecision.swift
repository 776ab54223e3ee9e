/// The retry policy's verdict on one failure.
public enum RetryDecision: Sendable, Equatable {
    /// Wait this long, then try again.
    case retry(wait: Duration)
    /// Give up and surface the error.
    case dontRetry
}
