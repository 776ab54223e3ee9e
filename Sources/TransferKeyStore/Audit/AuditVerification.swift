/// The outcome of walking the audit chain.
public enum AuditVerification: Sendable, Equatable {
    /// Every link holds; `events` rows were checked.
    case intact(events: Int)
    /// The first problem found, at row `seq`, in words an operator can act on.
    case broken(seq: Int64, reason: String)
}
