/// The outcome of walking the audit chain.
public enum AuditVerification: Sendable, Equatable {
    /// Every link holds; `events` rows were checked.
    case intact(events: Int)
    /// The first problem found, at row `seq`, in words an operator can act on.
    case broken(seq: Int64, reason: String)
    /// The links hold, but part of the chain could not be checked: it carries MACs and no audit key was given.
    case unverified(events: Int, reason: String)
}
