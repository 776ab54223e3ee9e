import Foundation

/// AWS's recommended way to retire a key (`disable_first`): disable it, watch for anything that tries to use it,
/// and schedule the deletion only when nothing did. What comes next for a key every rule approved.
public enum DisableFirst: Sendable, Equatable {
    /// Not disabled by this daemon yet: `DisableKey` in every region it is `Enabled`, then watch until `until`.
    case disable(until: Date)
    /// Disabled by this daemon, the watch not over: look again at `until`.
    case watch(until: Date)
    /// The watch is over: look in CloudTrail for a refused use since `since` (AWS's clock), then schedule if none.
    case lookForUse(since: Date)
    /// Disabled by this daemon and `Enabled` again in `region`: somebody needs the key. Refused (`in_use`).
    case reEnabled(region: String)

    /// The step for a key approved for deletion: `disabledAt` is when this daemon disabled it (its `key_disabled`
    /// event, host clock), `enabledRegions` where AWS says it is `Enabled` now, `watch` the `disable_first` span,
    /// `now` the host's clock and `awsOffset` how far AWS's clock is ahead of it (CloudTrail dates are AWS's).
    public static func next(
        disabledAt: Date?, enabledRegions: [String], watch: TimeInterval, now: Date, awsOffset: TimeInterval = 0
    ) -> DisableFirst {
        guard let disabledAt else { return .disable(until: now.addingTimeInterval(watch)) }
        if let region = enabledRegions.first { return .reEnabled(region: region) }
        let until = disabledAt.addingTimeInterval(watch)
        guard now >= until else { return .watch(until: until) }
        // A margin for CloudTrail's own clock and delivery: a refusal just before the recorded disable still counts.
        return .lookForUse(since: disabledAt.addingTimeInterval(awsOffset - 300))
    }
}
