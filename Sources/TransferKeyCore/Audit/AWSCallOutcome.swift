/// What became of one mutating AWS call: the `outcome` of its `aws_call` event.
public enum AWSCallOutcome: String, Sendable, Hashable, CaseIterable {
    /// AWS performed it.
    case ok
    /// `ScheduleKeyDeletion` on a key already pending deletion.
    case alreadyPending = "already_pending"
    /// The alias or grant was already gone.
    case alreadyGone = "already_gone"
    /// `CancelKeyDeletion` on a key no longer pending deletion (an earlier cancel went through unrecorded).
    case alreadyCancelled = "already_cancelled"
    /// The daemon's own `CancelKeyDeletion` (a rescue) on a key that is no longer pending deletion: nothing to undo.
    case notPending = "not_pending"
    /// AWS refused it (access denied); left, and said why.
    case refused
    /// A `CreateKey` whose answer was lost, found afterwards by its intent mark.
    case foundAfterAmbiguousFailure = "found_after_ambiguous_failure"
    /// An announced call (`aws_call_intent`) whose answer was lost or unusable, which AWS shows done.
    case answerLost = "answer_lost"
    /// An announced call AWS does not show done (not performed, or not visible yet): made again.
    case unconfirmed
}
