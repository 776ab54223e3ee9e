/// Why an import counts as over, as stored in `transfers.completion`.
public enum Completion: String, CaseIterable, Codable, Sendable {
    /// The platform said so, or every destination snapshot reached `completed`.
    case succeeded
    /// The platform said it failed, or a snapshot reached `error`: clean up anyway.
    case failed
    /// The lease (`max_transfer_age`, or the orphan grace) ran out first.
    case expired
    /// EC2 no longer knows the snapshots: nothing can still need the key.
    case snapshotsGone = "snapshots_gone"
}
